import {
  BadRequestException,
  Controller,
  Get,
  type INestApplication,
  Logger,
  Param,
  ServiceUnavailableException,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { AmiActionTimeoutError } from '../ami/ami.errors';
import { BadRequestError, NodeNotFoundError, PbxpulseError } from '../common/errors';
import { RateLimitedError } from '../control/control.errors';
import { fetchAnswer } from '../../test/support/http';
import { ApiErrorsModule } from './api.module';
import { HTTP_STATUS_BY_CODE } from './error.filter';

const THROWN: Record<string, () => PbxpulseError> = {
  node: () => new NodeNotFoundError('pbx9'),
  bad: () => new BadRequestError('no'),
  timeout: () => new AmiActionTimeoutError('PJSIPShowContacts', 2000),
  limited: () => new RateLimitedError('pbx1', 4200),
};

@Controller('throw')
class ThrowingController {
  @Get('boom')
  boom(): never {
    throw new Error('secret internals');
  }

  @Get('nest-400')
  nest400(): never {
    throw new BadRequestException('Validation failed');
  }

  @Get('health-503')
  health503(): never {
    throw new ServiceUnavailableException({ status: 'error', info: {}, error: { ami: {} }, details: {} });
  }

  @Get('client-413')
  client413(): never {
    // What Express's body parser raises (http-errors): `expose` marks a message meant for the caller.
    throw Object.assign(new Error('request entity too large'), { status: 413, expose: true });
  }

  @Get('server-400')
  server400(): never {
    // A status without `expose`: not a message for the caller.
    throw Object.assign(new Error('/srv/views/x.ejs:3 secret path'), { status: 400 });
  }

  @Get(':what')
  typed(@Param('what') what: string): never {
    throw THROWN[what]();
  }
}

/** An app built from modules only: no `useGlobalFilters` anywhere, the filter comes from `APP_FILTER`. */
describe('ApiErrorsModule', () => {
  let app: INestApplication;
  let url: string;
  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [ApiErrorsModule],
      controllers: [ThrowingController],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(app.getHttpServer() as { address(): { port: number } }).address().port}`;
  });
  afterAll(() => app.close());

  it('maps typed errors to their HTTP status and the {statusCode, code, message} body', async () => {
    expect(await fetchAnswer(`${url}/throw/node`)).toMatchObject({
      status: 404,
      body: { statusCode: 404, code: 'NODE_NOT_FOUND', message: "unknown node 'pbx9'" },
    });
    expect(await fetchAnswer(`${url}/throw/bad`)).toMatchObject({
      status: 400,
      body: { statusCode: 400, code: 'BAD_REQUEST', message: 'no' },
    });
    expect(await fetchAnswer(`${url}/throw/timeout`)).toMatchObject({
      status: 504,
      body: { statusCode: 504, code: 'AMI_TIMEOUT' },
    });
    const limited = await fetchAnswer(`${url}/throw/limited`);
    expect(limited).toMatchObject({ status: 429, body: { code: 'RATE_LIMITED' } });
    expect(limited.headers.get('retry-after')).toBe('5');
  });

  it("gives Nest's exceptions and the body parser's client errors the same body, with a code", async () => {
    expect(await fetchAnswer(`${url}/throw/nest-400`)).toMatchObject({
      status: 400,
      body: { statusCode: 400, code: 'BAD_REQUEST', message: 'Validation failed' },
    });
    expect((await fetchAnswer(`${url}/throw/nest-400`)).body).not.toHaveProperty('error');
    expect(await fetchAnswer(`${url}/throw/client-413`)).toMatchObject({
      status: 413,
      body: { statusCode: 413, code: 'PAYLOAD_TOO_LARGE', message: 'request entity too large' },
    });
    expect(await fetchAnswer(`${url}/no-such-route`)).toMatchObject({
      status: 404,
      body: { statusCode: 404, code: 'ROUTE_NOT_FOUND', message: 'Cannot GET /no-such-route' },
    });
  });

  it("passes terminus's health report through as the 503 body", async () => {
    expect(await fetchAnswer(`${url}/throw/health-503`)).toMatchObject({
      status: 503,
      body: { status: 'error', info: {}, error: { ami: {} }, details: {} },
    });
  });

  it('answers a 4xx-status error not marked for the caller as a generic 500', async () => {
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    try {
      const res = await fetchAnswer(`${url}/throw/server-400`);
      expect(res.body).toEqual({ statusCode: 500, code: 'INTERNAL', message: 'internal error' });
      expect(res.text).not.toContain('secret path');
    } finally {
      logged.mockRestore();
    }
  });

  it('answers an unknown error with a generic 500 and logs it', async () => {
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    try {
      const res = await fetchAnswer(`${url}/throw/boom`);
      expect(res).toEqual(
        expect.objectContaining({
          status: 500,
          body: { statusCode: 500, code: 'INTERNAL', message: 'internal error' },
        }),
      );
      expect(res.text).not.toContain('secret internals');
      expect(logged).toHaveBeenCalledWith(expect.stringContaining('secret internals'), expect.any(String));
    } finally {
      logged.mockRestore();
    }
  });
});

describe('HTTP_STATUS_BY_CODE', () => {
  it('gives every code a status (a missing one is a compile error, see below)', () => {
    for (const [code, status] of Object.entries(HTTP_STATUS_BY_CODE)) {
      expect({ code, ok: Number.isInteger(status) && status >= 400 && status < 600 }).toEqual({
        code,
        ok: true,
      });
    }
  });

  it('is exhaustive over ErrorCode at compile time (checked by tsc, not by jest)', () => {
    const { NODE_NOT_FOUND, ...rest } = HTTP_STATUS_BY_CODE;
    // @ts-expect-error a mapping that leaves out a code does not compile
    const missing: typeof HTTP_STATUS_BY_CODE = rest;
    // @ts-expect-error nor does one for a code outside the union
    const extra: typeof HTTP_STATUS_BY_CODE = { ...HTTP_STATUS_BY_CODE, NOT_A_CODE: 418 };
    expect([NODE_NOT_FOUND, missing, extra]).toHaveLength(3);
  });

  it('lets an error class carry only a code of the union (checked by tsc)', () => {
    class Unlisted extends PbxpulseError {
      // @ts-expect-error 'NOT_A_CODE' is not an ErrorCode
      readonly code = 'NOT_A_CODE';
    }
    expect(new Unlisted('x').code).toBe('NOT_A_CODE');
  });
});
