import { type INestApplication, RequestMethod } from '@nestjs/common';
import { INTERCEPTORS_METADATA, METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { NestFactory } from '@nestjs/core';
import { WsAdapter } from '@nestjs/platform-ws';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { AppModule } from '../app.module';
import { AlertsController } from './alerts.controller';
import { CallsController } from './calls.controller';
import { declaredQueryParams, KnownQueryInterceptor, unknownQueryError } from './known-query.interceptor';
import { NodesController } from './nodes.controller';
import { RegistrationsController } from './registrations.controller';
import { SecurityEventsController } from './security-events.controller';
import { offlineConfig } from '../../test/support/daemon';

const VIEWER = 'query-viewer-token-0123456789';

describe('unknownQueryError', () => {
  it('accepts the declared parameters and token, in any combination', () => {
    expect(unknownQueryError({}, [])).toBeUndefined();
    expect(unknownQueryError({ token: 'x' }, [])).toBeUndefined();
    expect(unknownQueryError({ registered: 'true', token: 'x' }, ['registered'])).toBeUndefined();
  });

  it('names the unknown parameter and lists the accepted ones, token last', () => {
    expect(unknownQueryError({ registred: 'true' }, ['registered'])).toMatchObject({
      code: 'BAD_REQUEST',
      message: "unknown query parameter 'registred'; accepted: registered, token",
    });
    expect(unknownQueryError({ verbose: '1' }, [])?.message).toBe(
      "unknown query parameter 'verbose'; accepted: token",
    );
  });

  it('names several unknown parameters, at most five and each cut to 40 characters', () => {
    expect(unknownQueryError({ a: '', limit: '1', b: '' }, ['limit'])?.message).toBe(
      "unknown query parameters 'a', 'b'; accepted: limit, token",
    );
    const many = Object.fromEntries(['p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7'].map((k) => [k, '']));
    expect(unknownQueryError(many, [])?.message).toBe(
      "unknown query parameters 'p1', 'p2', 'p3', 'p4', 'p5' (and 2 more); accepted: token",
    );
    expect(unknownQueryError({ ['x'.repeat(100)]: '' }, [])?.message).toBe(
      `unknown query parameter '${'x'.repeat(40)}'; accepted: token`,
    );
  });
});

describe('declaredQueryParams', () => {
  it("reads each handler's @Query('name') parameters in declaration order", () => {
    expect(declaredQueryParams(RegistrationsController, 'endpoints')).toEqual(['registered']);
    expect(declaredQueryParams(RegistrationsController, 'contacts')).toEqual([]);
    expect(declaredQueryParams(SecurityEventsController, 'list')).toEqual(['since', 'type', 'limit']);
    expect(declaredQueryParams(AlertsController, 'list')).toEqual(['node', 'type']);
    expect(declaredQueryParams(CallsController, 'recent')).toEqual(['limit']);
    expect(declaredQueryParams(CallsController, 'active')).toEqual([]);
    expect(declaredQueryParams(NodesController, 'list')).toEqual([]);
  });
});

describe('KnownQueryInterceptor coverage', () => {
  it('is applied to every controller under src/api that has a GET route', async () => {
    const files = readdirSync(__dirname).filter((f) => /\.controller\.ts$/.test(f));
    const withGets: string[] = [];
    for (const file of files) {
      const exported = (await import(join(__dirname, file))) as Record<string, unknown>;
      for (const value of Object.values(exported)) {
        if (typeof value !== 'function' || Reflect.getMetadata(PATH_METADATA, value) === undefined) continue;
        const proto = value.prototype as Record<string, unknown>;
        const gets = Object.getOwnPropertyNames(proto).filter(
          (m) =>
            m !== 'constructor' &&
            Reflect.getMetadata(METHOD_METADATA, proto[m] as object) === RequestMethod.GET,
        );
        if (gets.length === 0) continue;
        withGets.push(value.name);
        const interceptors = (Reflect.getMetadata(INTERCEPTORS_METADATA, value) ?? []) as unknown[];
        expect({ controller: value.name, applied: interceptors.includes(KnownQueryInterceptor) }).toEqual({
          controller: value.name,
          applied: true,
        });
      }
    }
    // The scan found the read controllers at all (a rename would otherwise make this test vacuous).
    expect(withGets).toEqual(expect.arrayContaining(['NodesController', 'RegistrationsController']));
    expect(withGets.length).toBeGreaterThanOrEqual(7);
  });
});

describe('KnownQueryInterceptor (whole app over HTTP, viewer token configured)', () => {
  let app: INestApplication;
  let url: string;
  const auth = { authorization: `Bearer ${VIEWER}` };
  const get = async (
    path: string,
    headers: Record<string, string> = auth,
  ): Promise<{ status: number; body: unknown }> => {
    const res = await fetch(url + path, { headers });
    return { status: res.status, body: await res.json().catch(() => undefined) };
  };

  beforeAll(async () => {
    // Nothing listens on port 1: both links stay down, which state reads do not mind.
    const config = offlineConfig({ extraYaml: `auth: { viewerToken: "${VIEWER}" }` });
    app = await NestFactory.create(AppModule.forRoot(config), { logger: false });
    app.useWebSocketAdapter(new WsAdapter(app));
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(app.getHttpServer() as { address(): { port: number } }).address().port}`;
  });

  afterAll(() => app.close());

  it('a misspelt filter is a 400 in the error shape, naming it and the accepted parameters', async () => {
    expect(await get('/api/v1/nodes/a/endpoints?registred=true')).toEqual({
      status: 400,
      body: {
        statusCode: 400,
        code: 'BAD_REQUEST',
        message: "unknown query parameter 'registred'; accepted: registered, token",
      },
    });
    expect(await get('/api/v1/nodes/a/security-events?limit=5&sinse=2026-01-01')).toMatchObject({
      status: 400,
      body: { message: "unknown query parameter 'sinse'; accepted: since, type, limit, token" },
    });
    expect(await get('/api/v1/nodes?verbose')).toMatchObject({
      status: 400,
      body: { message: "unknown query parameter 'verbose'; accepted: token" },
    });
  });

  it('refuses unknown parameters on every read route, also those that take none', async () => {
    for (const path of [
      '/api/v1/nodes',
      '/api/v1/alerts',
      '/api/v1/nodes/a/endpoints',
      '/api/v1/nodes/a/endpoints/1001',
      '/api/v1/nodes/a/contacts',
      '/api/v1/nodes/a/aors',
      '/api/v1/nodes/a/calls',
      '/api/v1/nodes/a/calls/recent',
      '/api/v1/nodes/a/security-events',
      '/api/v1/nodes/a/unknown-accounts',
      '/api/v1/nodes/a/diagnostics',
      '/api/v1/nodes/a/pjsip/endpoints',
      '/api/v1/nodes/a/modules',
      '/api/v1/nodes/a/http',
    ]) {
      expect({ path, ...(await get(`${path}?nope=1`)) }).toMatchObject({
        path,
        status: 400,
        body: {
          code: 'BAD_REQUEST',
          message: expect.stringMatching(/^unknown query parameter 'nope'; accepted: /),
        },
      });
    }
  });

  it('known parameters still work, and their own validation still answers', async () => {
    expect(await get('/api/v1/nodes/a/endpoints?registered=true')).toEqual({
      status: 200,
      body: { endpoints: [] },
    });
    expect((await get('/api/v1/alerts?node=a&type=auth_loop')).status).toBe(200);
    expect((await get('/api/v1/nodes/a/calls/recent?limit=5')).status).toBe(200);
    expect(
      (await get('/api/v1/nodes/a/security-events?since=2026-01-01&type=challenge_failed&limit=10')).status,
    ).toBe(200);
    expect(await get('/api/v1/nodes/a/endpoints?registered=maybe')).toMatchObject({
      status: 400,
      body: { message: "query parameter 'registered' must be 'true' or 'false', got 'maybe'" },
    });
  });

  it('?token= is always accepted: as the credential, or next to a bearer header', async () => {
    expect((await get(`/api/v1/nodes?token=${VIEWER}`, {})).status).toBe(200);
    expect((await get(`/api/v1/nodes/a/endpoints?token=${VIEWER}&registered=false`, {})).status).toBe(200);
    expect((await get(`/api/v1/nodes/a/contacts?token=${VIEWER}`)).status).toBe(200);
  });

  it('without a valid token the answer is 401, whatever the parameters', async () => {
    expect((await get('/api/v1/nodes?nope=1', {})).status).toBe(401);
    expect((await get('/api/v1/nodes?token=wrong&nope=1', {})).status).toBe(401);
  });

  it('/metrics and /health/* stay lenient (scrapers and probes add their own parameters)', async () => {
    const metrics = await fetch(`${url}/metrics?name[]=pbxpulse_up&format=prometheus`);
    expect(metrics.status).toBe(200);
    await metrics.text();
    expect((await get('/health/live?probe=kubelet')).status).toBe(200);
  });
});
