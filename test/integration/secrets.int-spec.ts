/**
 * Secret sweep: after real traffic on the sandbox Asterisk, no configured secret (SIP passwords, AMI and
 * ARI secrets) and no API token appears in anything a client can read (every documented GET route,
 * /metrics, the /ws stream, error bodies) nor in the daemon's log output at any level.
 *
 * The sandbox is shared: the traffic is one 401 loop, one 404, one REGISTER of 2002 (unregistered at the
 * end) with one Echo call, and one `Reload res_pjsip.so` with the configuration unchanged.
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConsoleLogger, Logger } from '@nestjs/common';
import { WebSocket } from 'ws';
import { sandboxNodeYaml, startDaemon, type TestDaemon } from '../support/daemon';
import { expectEventually } from '../support/expect-eventually';
import { SANDBOX } from '../support/sandbox';
import { SipUdpClient } from '../support/sip/sip-udp-client';
import { CapturingLogger } from '../support/capturing-logger';

jest.setTimeout(60_000);

const ADMIN = 'secrets-admin-token-7c41e9b2';
const VIEWER = 'secrets-viewer-token-0d93fa65';
const DESK = SANDBOX.endpoints.deskPhone; // 2001
const AOR_MISMATCH = SANDBOX.endpoints.aorMismatch; // 1002
const PLAIN = SANDBOX.endpoints.plainPhone; // 2002

/** Values of every `password=`, `secret=` and `md5_cred=` line (commented out or not) of the sandbox configs. */
function configSecrets(): string[] {
  const root = resolve(__dirname, '..', '..', 'sandbox');
  const values: string[] = [];
  for (const dir of ['asterisk', 'lab'].map((d) => join(root, d)).filter((d) => existsSync(d))) {
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.conf'))) {
      for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
        const m = /^\s*;?\s*(?:password|secret|md5_cred)\s*=\s*(.*)$/.exec(line);
        // A trailing `; comment` is not part of the value.
        const value = m?.[1].replace(/\s+;.*$/, '').trim();
        if (value) values.push(value);
      }
    }
  }
  return values;
}

/**
 * `/api/v1/nodes/{node}/endpoints/{name}` → one concrete path per sandbox endpoint (2001 and 1002 have
 * detections, 2002 a contact and a call); a path without parameters stays as it is.
 */
function concrete(path: string): string[] {
  const names = Object.values(SANDBOX.endpoints).map((e) => e.name);
  const withNode = path.replace(/\{node\}/g, 'pbx1');
  if (!/\{\w+\}/.test(withNode)) return [withNode];
  return names.map((endpoint) =>
    withNode.replace(/\{(\w+)\}/g, (_, param: string) => {
      if (/^(name|endpoint|aor|id)$/.test(param)) return endpoint;
      throw new Error(`no value for path parameter {${param}} of ${path}`);
    }),
  );
}

describe('no secret reaches a client or the log', () => {
  const secrets = [
    ...new Set([
      ...configSecrets(),
      SANDBOX.amiSecret,
      SANDBOX.ariPassword,
      SANDBOX.amiReadonlySecret,
      ...Object.values(SANDBOX.endpoints).map((e) => e.password),
    ]),
  ];
  const tokens = [ADMIN, VIEWER];
  const logger = new CapturingLogger();
  /** Every response body, /ws message and /metrics scrape, labelled by where it came from. */
  const seen: Array<{ where: string; text: string }> = [];
  const wsMessages: string[] = [];
  const phones: SipUdpClient[] = [];
  let daemon: TestDaemon;
  let viewer: WebSocket;

  const request = async (
    method: 'GET' | 'POST',
    path: string,
    token?: string,
    body?: unknown,
  ): Promise<{ status: number; text: string }> => {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(daemon.url + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    // Headers are readable too (a Location or WWW-Authenticate could echo a token).
    const text = `${[...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}\n\n${await res.text()}`;
    seen.push({ where: `${method} ${path} (${res.status})`, text });
    return { status: res.status, text };
  };

  /** Every GET route of the OpenAPI document, with its path parameters filled in. */
  const documentedGets = async (): Promise<string[]> => {
    const doc = await request('GET', '/docs-json', VIEWER);
    const paths = (
      JSON.parse(doc.text.slice(doc.text.indexOf('\n\n') + 2)) as {
        paths: Record<string, Record<string, unknown>>;
      }
    ).paths;
    return Object.entries(paths)
      .filter(([, ops]) => 'get' in ops)
      .flatMap(([path]) => concrete(path));
  };

  /** GET every documented route as the viewer, and the two query-heavy ones with their limits raised. */
  const sweep = async (label: string): Promise<void> => {
    const routes = await documentedGets();
    expect(routes).toEqual(expect.arrayContaining(['/metrics', '/health/ready', '/api/v1/nodes']));
    const extra = [
      '/api/v1/nodes/pbx1/security-events?limit=1000',
      '/api/v1/alerts?node=pbx1',
      '/docs',
      '/docs-json',
    ];
    for (const path of [...routes, ...extra]) {
      const { status } = await request('GET', path, VIEWER);
      // A route that answers 500 would hide what it leaks; 404/503 are fine (e.g. an unknown endpoint).
      expect({ label, path, status }).toEqual({ label, path, status: expect.any(Number) });
      expect(status).toBeLessThan(500);
    }
  };

  beforeAll(async () => {
    Logger.overrideLogger(logger);
    daemon = await startDaemon(
      sandboxNodeYaml('pbx1'),
      `auth: { adminToken: "${ADMIN}", viewerToken: "${VIEWER}" }`,
    );
    await expectEventually(
      () =>
        expect(
          daemon.events.some((e) => e.type === 'state.resynced' && e.link === 'ami' && e.node === 'pbx1'),
        ).toBe(true),
      20_000,
    );
    viewer = new WebSocket(`${daemon.url.replace('http:', 'ws:')}/ws?token=${VIEWER}`);
    viewer.on('message', (raw: Buffer) => wsMessages.push(raw.toString()));
    viewer.on('error', () => undefined);
    await expectEventually(() => expect(wsMessages.length).toBeGreaterThanOrEqual(2));
  });

  afterAll(async () => {
    viewer?.terminate();
    // Graceful: hangs up and unREGISTERs, so no contact of ours is left for the next test file.
    for (const p of phones.splice(0)) await p.close();
    await daemon?.close();
    Logger.overrideLogger(new ConsoleLogger());
    Logger.overrideLogger(['error']);
  });

  it('knows what to look for', () => {
    // The four SIP passwords, AMI (two users) and ARI, for the sandbox and the lab configs.
    expect(secrets).toEqual(
      expect.arrayContaining([SANDBOX.amiSecret, SANDBOX.ariPassword, DESK.password, PLAIN.password]),
    );
    expect(secrets.length).toBeGreaterThanOrEqual(7);
    // Short values would match by accident and prove nothing.
    for (const s of [...secrets, ...tokens]) expect(s.length).toBeGreaterThanOrEqual(8);
  });

  it('after a 401 loop, a 404, a REGISTER, an Echo call and a reload, nothing readable holds a secret', async () => {
    const open = async (): Promise<SipUdpClient> => {
      const phone = await SipUdpClient.open();
      phones.push(phone);
      return phone;
    };

    // 401 loop on 2001: wrong password, retried.
    const wrong = await open();
    for (let i = 0; i < 4; i++) {
      expect((await wrong.register({ user: DESK.name, password: 'not-the-password' })).status).toBe(401);
    }
    // 404 on 1002: right password, aors=1002-aor.
    const mismatch = await open();
    expect(
      (await mismatch.register({ user: AOR_MISMATCH.name, password: AOR_MISMATCH.password })).status,
    ).toBe(404);
    // 2002 registers and calls the Echo extension with RTP.
    const phone = await open();
    expect((await phone.register({ user: PLAIN.name, password: PLAIN.password })).status).toBe(200);
    const call = await phone.call(SANDBOX.extensions.echo, { sendRtp: true });
    expect(call.state).toBe('answered');

    // Control: one reload with the admin token; refusals for the viewer and for no token.
    const reload = await request('POST', '/api/v1/nodes/pbx1/reload', ADMIN, { module: 'res_pjsip.so' });
    expect(reload.status).toBe(200);
    expect((await request('POST', '/api/v1/nodes/pbx1/reload', VIEWER, {})).status).toBe(403);
    expect((await request('POST', '/api/v1/nodes/pbx1/reload', undefined, {})).status).toBe(401);
    expect((await request('POST', '/api/v1/nodes/pbx1/reload', ADMIN, { module: 'manager' })).status).toBe(
      400,
    );

    await expectEventually(async () => {
      const { text } = await request('GET', '/api/v1/nodes/pbx1/calls', VIEWER);
      expect(text).toContain(`PJSIP/${PLAIN.name}-`);
    }, 5000);
    await expectEventually(async () => {
      const { text } = await request('GET', '/api/v1/alerts', VIEWER);
      expect(text).toContain(`auth_loop:pbx1:${DESK.name}`);
    }, 5000);
    await sweep('call up');

    await call.hangup();
    await expectEventually(async () => {
      const { text } = await request('GET', '/api/v1/nodes/pbx1/calls/recent', VIEWER);
      expect(text).toContain(`PJSIP/${PLAIN.name}-`);
    }, 5000);
    await sweep('call ended');

    // Refusals and errors are readable too: a wrong token, an unknown node and route, a token in the URL.
    await request('GET', '/api/v1/nodes', 'wrong-token-value');
    await request('GET', '/api/v1/nodes/nope/endpoints', VIEWER);
    await request('GET', `/api/v1/nodes/pbx1/endpoints/${encodeURIComponent('<script>')}`, VIEWER);
    await request('GET', `/api/v1/nodes?token=${VIEWER}`);
    await request('GET', '/metrics', VIEWER);

    // Everything the viewer saw on /ws: snapshots, call, registration, alert and control deltas.
    expect(wsMessages.some((m) => m.includes('"control.action"'))).toBe(true);
    for (const [i, text] of wsMessages.entries()) seen.push({ where: `/ws message ${i}`, text });
    for (const [i, text] of logger.lines.entries()) seen.push({ where: `log line ${i}`, text });
    expect(logger.lines.some((l) => /control: admin reload res_pjsip\.so on pbx1/.test(l))).toBe(true);

    const leaks = seen.flatMap(({ where, text }) =>
      [...secrets, ...tokens]
        .filter((s) => text.includes(s))
        .map(
          (s) =>
            `${where} contains ${s}: …${text.slice(Math.max(0, text.indexOf(s) - 80), text.indexOf(s) + s.length + 20)}…`,
        ),
    );
    expect(leaks).toEqual([]);
    // The sweep did cover real content, not only refusals.
    expect(
      seen.filter((s) => s.where.startsWith('GET ') && / \(200\)$/.test(s.where)).length,
    ).toBeGreaterThan(20);
  });
});
