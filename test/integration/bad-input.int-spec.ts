import { Logger } from '@nestjs/common';
import type { PbxEvent } from '../../src/events/pbx-events';
import { startDaemon, type TestDaemon } from '../support/daemon';
import { expectEventually } from '../support/expect-eventually';
import { type HttpAnswer, fetchAnswer } from '../support/http';
import { LAB, labCli, labNodeYaml, labStart, labStop } from '../support/lab-asterisk';

const ADMIN = 'bad-input-int-admin-6c0e';

/**
 * The reproduction on a real Asterisk (the lab): `POST /reload` with the admin token,
 * `Content-Type: text/plain` and `hello` answered 200 and reloaded res_pjsip.so. Now it and every other
 * body that is not JSON of the route's shape is refused, and Asterisk's own last-reload time and its
 * `Reload` events show that nothing was reloaded; a valid reload right after shows both do move.
 */
describe('bad input on the real lab Asterisk', () => {
  let daemon: TestDaemon;
  let warnings: jest.SpyInstance;

  /** Asterisk's last reload time, from ARI `/asterisk/info` directly (not through the daemon). */
  const lastReload = async (): Promise<string> => {
    const auth = Buffer.from(`${LAB.ariUser}:${LAB.ariPassword}`).toString('base64');
    const res = await fetch(`${LAB.ariUrl}/ari/asterisk/info?only=status`, {
      headers: { authorization: `Basic ${auth}` },
    });
    const body = (await res.json()) as { status: { last_reload_time: string } };
    return body.status.last_reload_time;
  };
  const reloadEvents = (): PbxEvent[] => daemon.events.filter((e) => e.type === 'module.reloaded');
  const post = (
    path: string,
    contentType: string | undefined,
    body: string | undefined,
  ): Promise<HttpAnswer> =>
    fetchAnswer(daemon.url + path, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${ADMIN}`,
        ...(contentType ? { 'content-type': contentType } : {}),
      },
      body,
    });

  beforeAll(async () => {
    await labStart();
    daemon = await startDaemon(
      labNodeYaml('lab'),
      [
        'connections: { reconnectInitialDelayMs: 100, reconnectMaxDelayMs: 300 }',
        `auth: { adminToken: ${ADMIN} }`,
      ].join('\n'),
    );
    await expectEventually(async () => expect((await daemon.get('/health/ready')).status).toBe(200), 20_000);
  });
  afterAll(async () => {
    await daemon?.close();
    await labStop();
  });
  beforeEach(() => {
    warnings = jest.spyOn(Logger.prototype, 'warn');
  });
  afterEach(() => warnings.mockRestore());

  it('text/plain "hello" and other bodies that are not JSON of the shape: refused, audited, nothing reloaded', async () => {
    const before = await lastReload();
    const cases: Array<[string, string | undefined, string | undefined, number, string]> = [
      ['/api/v1/nodes/lab/reload', 'text/plain', 'hello', 400, 'BAD_REQUEST'],
      ['/api/v1/nodes/lab/reload', 'text/plain', '{"module":"res_pjsip.so"}', 400, 'BAD_REQUEST'],
      [
        '/api/v1/nodes/lab/reload',
        'application/x-www-form-urlencoded',
        'module=res_pjsip.so',
        400,
        'BAD_REQUEST',
      ],
      ['/api/v1/nodes/lab/reload', 'application/json', '{"module":', 400, 'BAD_REQUEST'],
      ['/api/v1/nodes/lab/reload', 'application/json', '["res_pjsip.so"]', 400, 'BAD_REQUEST'],
      ['/api/v1/nodes/lab/reload', 'application/json', '{"module":"manager"}', 400, 'BAD_REQUEST'],
      ['/api/v1/nodes/lab/reload', 'application/json; charset=latin1', '{}', 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['/api/v1/nodes/%FF/reload', 'application/json', '{}', 400, 'BAD_REQUEST'],
      [
        `/api/v1/nodes/lab/endpoints/${LAB.endpoints.udp.name}/qualify`,
        'text/plain',
        'hello',
        400,
        'BAD_REQUEST',
      ],
    ];
    for (const [path, contentType, body, status, code] of cases) {
      const res = await post(path, contentType, body);
      expect({ path, contentType, body, status: res.status, answer: res.body }).toEqual({
        path,
        contentType,
        body,
        status,
        answer: { statusCode: status, code, message: expect.any(String) },
      });
    }
    const audit = warnings.mock.calls.map((c) => String(c[0])).filter((l) => l.startsWith('control: '));
    expect(audit).toHaveLength(cases.length);
    expect(audit.every((l) => / bad_request/.test(l))).toBe(true);

    // The valid reload that follows reads Asterisk's last reload time first: still the one from before
    // the bad calls. And the Reload event it waits for is the first one this daemon saw.
    expect(reloadEvents()).toEqual([]);
    const ok = await post('/api/v1/nodes/lab/reload', 'application/json', '{"module":"res_pjsip.so"}');
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ result: 'ok', confirmed: true, lastReloadBefore: before });
    expect(ok.body.lastReloadAfter > before).toBe(true);
    expect(await lastReload()).toBe(ok.body.lastReloadAfter);
    expect(reloadEvents()).toHaveLength(1);
    expect(await labCli('core show uptime')).toMatch(/Last reload:/);
  });
});
