import { Logger } from '@nestjs/common';
import * as net from 'node:net';
import { FakeAmiServer } from '../support/fake-ami-server';
import { expectEventually } from '../support/expect-eventually';
import { startDaemon, type TestDaemon } from '../support/daemon';
import { type HttpAnswer, bearer, fetchAnswer } from '../support/http';

const ADMIN = 'bad-input-admin-token-3d91';
const VIEWER = 'bad-input-viewer-token-77c2';
const RELOAD = '/api/v1/nodes/pbx1/reload';
const QUALIFY = '/api/v1/nodes/pbx1/endpoints/2001/qualify';

/**
 * Bad input as a new user sends it, through the daemon's real HTTP stack (`startDaemon`: the app as
 * `main.ts` creates it, Express's body parsers, the guards, the error filter) over real HTTP. The
 * node's AMI is a fake AMI server the daemon logs in to, so a control call that got through would
 * put a `Reload` / `PJSIPQualify` action on the wire: every refusal is checked against that.
 */
describe('bad input over HTTP', () => {
  let ami: FakeAmiServer;
  let daemon: TestDaemon;
  let warnings: jest.SpyInstance;

  beforeAll(async () => {
    ami = new FakeAmiServer();
    ami.handlers.set('Reload', ({ fields }) => `Response: Success\r\nActionID: ${fields.ActionID}\r\n\r\n`);
    ami.handlers.set(
      'PJSIPQualify',
      ({ fields }) => `Response: Success\r\nActionID: ${fields.ActionID}\r\n\r\n`,
    );
    const amiPort = await ami.listen();
    daemon = await startDaemon(
      [
        '  - name: pbx1',
        `    ami: { host: 127.0.0.1, port: ${amiPort}, username: u, secret: "${ami.secret}" }`,
        '    ari: { url: "http://127.0.0.1:1", username: u, password: p }',
      ].join('\n'),
      [
        `auth: { adminToken: "${ADMIN}", viewerToken: "${VIEWER}" }`,
        'connections: { actionTimeoutMs: 300 }',
      ].join('\n'),
    );
    await expectEventually(async () => {
      const nodes = await daemon.get('/api/v1/nodes', ADMIN);
      expect(nodes.body.nodes[0].ami.status).toBe('up');
    }, 10_000);
  });
  afterAll(async () => {
    await daemon?.close();
    await ami?.close();
  });
  beforeEach(() => {
    warnings = jest.spyOn(Logger.prototype, 'warn');
  });
  afterEach(() => warnings.mockRestore());

  /** The audit lines (`control: …`) logged since the test began. */
  const auditLines = (): string[] =>
    warnings.mock.calls.map((c) => String(c[0])).filter((l) => l.startsWith('control: '));

  const post = (
    path: string,
    opts: { token?: string; contentType?: string; body?: string | Uint8Array } = {},
  ): Promise<HttpAnswer> => {
    const headers: Record<string, string> = {};
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.contentType) headers['content-type'] = opts.contentType;
    return fetchAnswer(daemon.url + path, { method: 'POST', headers, body: opts.body });
  };

  /** The documented error body, and nothing else in it. */
  const expectErrorBody = (res: HttpAnswer, status: number, code: string): void => {
    expect({ status: res.status, type: res.headers.get('content-type') }).toEqual({
      status,
      type: expect.stringMatching(/^application\/json/),
    });
    expect(res.body).toEqual({ statusCode: status, code, message: expect.any(String) });
    expect(res.body.message.length).toBeGreaterThan(0);
  };

  const counter = async (series: string): Promise<number> => {
    const line = (await daemon.get('/metrics')).text.split('\n').find((l) => l.startsWith(`${series} `));
    return line ? Number(line.slice(series.length + 1)) : 0;
  };
  const reloadsBadRequest = 'pbxpulse_reloads_total{node="pbx1",module="<invalid>",result="bad_request"}';
  const qualifiesBadRequest = 'pbxpulse_qualifies_total{node="pbx1",result="bad_request"}';

  const NOT_JSON: Array<[string, string | undefined, string | Uint8Array]> = [
    ['text/plain "hello"', 'text/plain', 'hello'],
    ['a JSON text sent as text/plain', 'text/plain', '{"module":"res_pjsip.so"}'],
    ['a form (curl -d without -H)', 'application/x-www-form-urlencoded', 'module=res_pjsip.so'],
    ['bytes without a Content-Type', undefined, new TextEncoder().encode('{"module":"res_pjsip.so"}')],
    ['application/xml', 'application/xml', '<module>res_pjsip.so</module>'],
  ];

  describe.each([
    ['reload', RELOAD, 'Reload'],
    ['qualify', QUALIFY, 'PJSIPQualify'],
  ])('%s', (action, path, amiAction) => {
    it.each(NOT_JSON)(
      '%s: 400 BAD_REQUEST, audited, nothing sent to Asterisk',
      async (_what, contentType, body) => {
        const before = await counter(action === 'reload' ? reloadsBadRequest : qualifiesBadRequest);
        const res = await post(path, { token: ADMIN, contentType, body });
        expectErrorBody(res, 400, 'BAD_REQUEST');
        expect(res.body.message).toContain('Content-Type: application/json');
        expect(ami.actions(amiAction)).toEqual([]);
        expect(auditLines()).toEqual([
          expect.stringMatching(
            new RegExp(`^control: admin ${action} .*: bad_request \\(body is not application/json\\)$`),
          ),
        ]);
        expect(await counter(action === 'reload' ? reloadsBadRequest : qualifiesBadRequest)).toBe(before + 1);
      },
    );

    it.each([
      ['truncated JSON', 400, 'BAD_REQUEST', '{"module":'],
      ['a JSON string (not an object)', 400, 'BAD_REQUEST', '"res_pjsip.so"'],
      ['JSON null', 400, 'BAD_REQUEST', 'null'],
      ['an array', 400, 'BAD_REQUEST', '[1]'],
      ['an unknown key', 400, 'BAD_REQUEST', '{"modul":"res_pjsip.so"}'],
      ['a number as module', 400, 'BAD_REQUEST', '{"module":5}'],
      ['a body over the 100 kB limit', 413, 'PAYLOAD_TOO_LARGE', `{"module":"${'x'.repeat(200_000)}"}`],
    ])('%s: %i %s, audited, nothing sent to Asterisk', async (_what, status, code, body) => {
      const res = await post(path, { token: ADMIN, contentType: 'application/json', body });
      expectErrorBody(res, status, code);
      expect(ami.actions(amiAction)).toEqual([]);
      expect(auditLines()).toEqual([
        expect.stringMatching(new RegExp(`^control: admin ${action} .*: bad_request`)),
      ]);
    });

    it('a charset the JSON parser does not read: 415 UNSUPPORTED_MEDIA_TYPE, audited', async () => {
      const res = await post(path, {
        token: ADMIN,
        contentType: 'application/json; charset=latin1',
        body: '{}',
      });
      expectErrorBody(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
      expect(ami.actions(amiAction)).toEqual([]);
      expect(auditLines()).toEqual([
        expect.stringMatching(
          new RegExp(
            `^control: admin ${action} .*: bad_request \\(unreadable body: charset\\.unsupported\\)`,
          ),
        ),
      ]);
    });

    it.each([
      ['no token', undefined, 401, 'UNAUTHORIZED'],
      ['a wrong token', 'not-a-token', 401, 'UNAUTHORIZED'],
      ['the viewer token', VIEWER, 403, 'FORBIDDEN'],
    ])('%s, with a body that is not JSON: %i %s (the token first), audited', async (...args) => {
      const [, token, status, code] = args;
      const res = await post(path, { token, contentType: 'text/plain', body: 'hello' });
      expectErrorBody(res, status, code);
      expect(auditLines()).toEqual([
        expect.stringMatching(
          new RegExp(`^control: \\w+ ${action} .*: ${status === 403 ? 'forbidden' : 'unauthorized'}`),
        ),
      ]);
      const truncated = await post(path, { token, contentType: 'application/json', body: '{"mod' });
      expectErrorBody(truncated, status, code);
      expect(ami.actions(amiAction)).toEqual([]);
    });

    it('an undecodable path (%FF): 400 BAD_REQUEST, audited, nothing sent', async () => {
      const bad =
        action === 'reload' ? '/api/v1/nodes/%FF/reload' : '/api/v1/nodes/pbx1/endpoints/%FF/qualify';
      const res = await post(bad, { token: ADMIN, contentType: 'application/json', body: '{}' });
      expectErrorBody(res, 400, 'BAD_REQUEST');
      expect(auditLines()).toEqual([
        expect.stringMatching(new RegExp(`^control: admin ${action} .*: bad_request \\(undecodable path\\)`)),
      ]);
      const anonymous = await post(bad, {});
      expectErrorBody(anonymous, 401, 'UNAUTHORIZED');
      expect(auditLines()[1]).toMatch(new RegExp(`^control: anonymous ${action} .*: unauthorized`));
      expect(ami.actions(amiAction)).toEqual([]);
    });
  });

  it('qualify refuses a body with parameters (it takes none, or {})', async () => {
    const res = await post(QUALIFY, { token: ADMIN, contentType: 'application/json', body: '{"now":true}' });
    expectErrorBody(res, 400, 'BAD_REQUEST');
    expect(res.body.message).toMatch(/takes no parameters/);
    expect(ami.actions('PJSIPQualify')).toEqual([]);
  });

  it('errors outside the control routes have the same body: 401, 404, %FF, malformed HTTP', async () => {
    const get = (path: string, token?: string) => fetchAnswer(daemon.url + path, { headers: bearer(token) });
    expectErrorBody(await get('/api/v1/nodes'), 401, 'UNAUTHORIZED');
    expectErrorBody(await get('/api/v1/nodes', 'not-a-token'), 401, 'UNAUTHORIZED');
    expectErrorBody(await get('/no/such/route'), 404, 'ROUTE_NOT_FOUND');
    expectErrorBody(await post('/api/v1/nodes/pbx1/reboot', { token: ADMIN }), 404, 'ROUTE_NOT_FOUND');
    expectErrorBody(await get('/api/v1/nodes/%FF/endpoints', ADMIN), 400, 'BAD_REQUEST');
    expectErrorBody(await get('/api/v1/nodes/nope/endpoints', ADMIN), 404, 'NODE_NOT_FOUND');
    expectErrorBody(await get('/api/v1/nodes/pbx1/endpoints?registred=true', ADMIN), 400, 'BAD_REQUEST');
    expect(auditLines()).toEqual([]);

    const raw = await rawRequest(
      new URL(daemon.url).port,
      'GET /metrics HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n',
    );
    expect(raw.head).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(raw.head).toMatch(/content-type: application\/json/i);
    expect(JSON.parse(raw.body)).toEqual({
      statusCode: 400,
      code: 'BAD_REQUEST',
      message: 'malformed HTTP request',
    });
  });

  it('the valid calls still go through (the same stack sends Reload and PJSIPQualify)', async () => {
    const reload = await post(RELOAD, {
      token: ADMIN,
      contentType: 'application/json',
      body: '{"module":"pbx_config.so"}',
    });
    expect(reload.status).toBe(200);
    expect(ami.actions('Reload').map((a) => a.fields.Module)).toEqual(['pbx_config.so']);
    const qualify = await post(QUALIFY, {
      token: ADMIN,
      contentType: 'application/json; charset=utf-8',
      body: '{}',
    });
    expect(qualify.status).toBe(200);
    const bare = await post(QUALIFY, { token: ADMIN });
    expect(bare.status).toBe(200);
    expect(ami.actions('PJSIPQualify')).toHaveLength(2);
    expect(auditLines()).toEqual([]);
  });
});

/** One raw HTTP exchange: what Node's parser refuses never reaches `fetch`'s own validation. */
function rawRequest(port: string, text: string): Promise<{ head: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1', () => socket.write(text));
    let data = '';
    socket.on('data', (chunk: Buffer) => (data += chunk.toString('utf8')));
    socket.on('error', reject);
    socket.on('close', () => {
      const end = data.indexOf('\r\n\r\n');
      resolve({ head: data.slice(0, end + 2), body: data.slice(end + 4) });
    });
  });
}
