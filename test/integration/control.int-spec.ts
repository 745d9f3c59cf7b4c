import { type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { WsAdapter } from '@nestjs/platform-ws';
import { createServer } from 'node:net';
import { WebSocket } from 'ws';
import { AppModule } from '../../src/app.module';
import { setupOpenApi } from '../../src/api/openapi';
import { parseConfig } from '../../src/config/config.loader';
import { EventBus } from '../../src/events/event-bus';
import type { PbxEvent } from '../../src/events/pbx-events';
import { expectEventually } from '../support/expect-eventually';
import { sandboxNodeYaml, startDaemon, type TestDaemon } from '../support/daemon';
import { SANDBOX, waitFullyBooted } from '../support/sandbox';
import { CapturingLogger } from '../support/capturing-logger';
import { type HttpAnswer, bearer, fetchAnswer } from '../support/http';

const ADMIN = 'int-admin-token-5f2c9a';
const VIEWER = 'int-viewer-token-81d0e7';

/**
 * Control routes against the sandbox Asterisk. The only changes: one `Reload res_pjsip.so` with the
 * configuration unchanged and a qualify (the sandbox is shared with other suites).
 */
describe('control against the sandbox Asterisk', () => {
  let app: INestApplication;
  let url: string;
  const logger = new CapturingLogger();
  const events: PbxEvent[] = [];
  const bodies: string[] = [];

  const call = async (
    method: 'GET' | 'POST',
    path: string,
    token?: string,
    body?: unknown,
  ): Promise<HttpAnswer> => {
    const headers = bearer(token);
    if (body !== undefined) headers['content-type'] = 'application/json';
    const answer = await fetchAnswer(url + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    bodies.push(answer.text);
    return answer;
  };

  beforeAll(async () => {
    await waitFullyBooted(30_000);
    const text = [
      'http: { host: 127.0.0.1, port: 9630 }',
      `auth: { adminToken: "${ADMIN}", viewerToken: "${VIEWER}" }`,
      'connections: { reconnectInitialDelayMs: 100, reconnectMaxDelayMs: 500 }',
      'nodes:',
      sandboxNodeYaml('pbx1'),
    ].join('\n');
    const config = parseConfig(text, { source: '<test>', env: {} });
    app = await NestFactory.create(AppModule.forRoot(config), { logger });
    app.useWebSocketAdapter(new WsAdapter(app));
    setupOpenApi(app);
    app.get(EventBus).subscribe((e) => events.push(e));
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(app.getHttpServer() as { address(): { port: number } }).address().port}`;
    await expectEventually(
      () =>
        expect(events.some((e) => e.type === 'state.resynced' && e.link === 'ami' && e.node === 'pbx1')).toBe(
          true,
        ),
      20_000,
    );
  });

  afterAll(async () => {
    await app?.close();
  });

  it('refuses without a token (401) and with the viewer token (403)', async () => {
    expect((await call('POST', '/api/v1/nodes/pbx1/reload', undefined, {})).status).toBe(401);
    expect((await call('POST', '/api/v1/nodes/pbx1/reload', VIEWER, {})).status).toBe(403);
    expect((await call('POST', '/api/v1/nodes/pbx1/endpoints/2001/qualify', VIEWER)).status).toBe(403);
  });

  it('reloads res_pjsip.so with the admin token, then refuses a second reload within 10 s (429)', async () => {
    const res = await call('POST', '/api/v1/nodes/pbx1/reload', ADMIN, { module: 'res_pjsip.so' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ node: 'pbx1', module: 'res_pjsip.so', result: 'ok', confirmed: true });
    expect(typeof res.body.durationMs).toBe('number');
    expect(typeof res.body.lastReloadBefore).toBe('string');
    expect(typeof res.body.lastReloadAfter).toBe('string');
    // Same ISO format and zone from ARI: string order is time order.
    expect(res.body.lastReloadAfter > res.body.lastReloadBefore).toBe(true);
    expect(res.body.diagnosesChanged).toEqual({ added: expect.any(Array), removed: expect.any(Array) });
    expect(res.body.restartRequired).toBe(false);

    const metrics = await call('GET', '/metrics');
    expect(metrics.text).toContain('pbxpulse_reloads_total{node="pbx1",module="res_pjsip.so",result="ok"} 1');

    const again = await call('POST', '/api/v1/nodes/pbx1/reload', ADMIN, { module: 'res_pjsip.so' });
    expect(again.status).toBe(429);
    expect(Number(again.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(
      logger.lines.some((l) => /control: admin reload res_pjsip\.so on pbx1: ok in \d+ ms/.test(l)),
    ).toBe(true);
  });

  it('qualifies 2001 (queued) and answers 404 for an unknown endpoint', async () => {
    const res = await call('POST', '/api/v1/nodes/pbx1/endpoints/2001/qualify', ADMIN);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ result: 'queued' });
    const ghost = await call('POST', '/api/v1/nodes/pbx1/endpoints/no-such-endpoint/qualify', ADMIN);
    expect(ghost.status).toBe(404);
  });

  it('400 for a module outside the allowlist, 404 for an unknown node', async () => {
    const bad = await call('POST', '/api/v1/nodes/pbx1/reload', ADMIN, { module: 'manager' });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('res_pjsip.so');
    expect((await call('POST', '/api/v1/nodes/nope/reload', ADMIN, {})).status).toBe(404);
  });

  it('audits every refusal: a control.action delta on /ws, a log line and a counter increment', async () => {
    const messages: Array<{ type: string; node?: string; data?: Record<string, unknown> }> = [];
    const ws = new WebSocket(`${url.replace('http:', 'ws:')}/ws?token=${VIEWER}`);
    ws.on('message', (raw: Buffer) => messages.push(JSON.parse(raw.toString())));
    ws.on('error', () => undefined);
    const counter = async (series: string): Promise<number> => {
      const line = (await call('GET', '/metrics')).text.split('\n').find((l) => l.startsWith(`${series} `));
      return line ? Number(line.slice(series.length + 1)) : 0;
    };
    const reloads = (node: string, module: string, result: string) =>
      `pbxpulse_reloads_total{node="${node}",module="${module}",result="${result}"}`;
    const cases: Array<{
      what: string;
      send: () => Promise<{ status: number }>;
      status: number;
      node: string;
      data: Record<string, unknown>;
      series: string;
      log: string;
    }> = [
      {
        what: 'reload without a token',
        send: () => call('POST', '/api/v1/nodes/pbx1/reload', undefined, {}),
        status: 401,
        node: 'pbx1',
        data: { action: 'reload', module: 'res_pjsip.so', result: 'unauthorized', by: 'anonymous' },
        series: reloads('pbx1', 'res_pjsip.so', 'unauthorized'),
        log: 'control: anonymous reload res_pjsip.so on pbx1: unauthorized (no token)',
      },
      {
        what: 'reload with the viewer token',
        send: () => call('POST', '/api/v1/nodes/pbx1/reload', VIEWER, { module: 'pbx_config.so' }),
        status: 403,
        node: 'pbx1',
        data: { action: 'reload', module: 'pbx_config.so', result: 'forbidden', by: 'viewer' },
        series: reloads('pbx1', 'pbx_config.so', 'forbidden'),
        log: 'control: viewer reload pbx_config.so on pbx1: forbidden',
      },
      {
        what: 'qualify with the viewer token',
        send: () => call('POST', '/api/v1/nodes/pbx1/endpoints/2001/qualify', VIEWER),
        status: 403,
        node: 'pbx1',
        data: { action: 'qualify', endpoint: '2001', result: 'forbidden', by: 'viewer' },
        series: 'pbxpulse_qualifies_total{node="pbx1",result="forbidden"}',
        log: 'control: viewer qualify 2001 on pbx1: forbidden',
      },
      {
        what: 'reload of an unknown node',
        send: () => call('POST', '/api/v1/nodes/no-such-node/reload', ADMIN, {}),
        status: 404,
        node: 'no-such-node',
        data: { action: 'reload', module: 'res_pjsip.so', result: 'node_not_found', by: 'admin' },
        series: reloads('<unknown>', 'res_pjsip.so', 'node_not_found'),
        log: 'control: admin reload res_pjsip.so on no-such-node: node_not_found',
      },
      {
        what: 'reload of a module outside the allowlist',
        send: () => call('POST', '/api/v1/nodes/pbx1/reload', ADMIN, { module: 'manager' }),
        status: 400,
        node: 'pbx1',
        data: { action: 'reload', module: '<invalid>', result: 'bad_request', by: 'admin' },
        series: reloads('pbx1', '<invalid>', 'bad_request'),
        log: 'control: admin reload <invalid> on pbx1: bad_request',
      },
      {
        what: 'reload with a body that is not JSON, without a token',
        send: () =>
          fetch(`${url}/api/v1/nodes/pbx1/reload`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: '{not json',
          }),
        status: 401,
        node: 'pbx1',
        data: { action: 'reload', module: '<invalid>', result: 'unauthorized', by: 'anonymous' },
        series: reloads('pbx1', '<invalid>', 'unauthorized'),
        log: 'control: anonymous reload <invalid> on pbx1: unauthorized (no token)',
      },
    ];
    try {
      await expectEventually(() => expect(messages.some((m) => m.type === 'snapshot')).toBe(true));
      for (const c of cases) {
        const before = await counter(c.series);
        const logged = (): number => logger.lines.filter((l) => l.includes(c.log)).length;
        const linesBefore = logged();
        const seen = messages.length;
        const res = await c.send();
        expect({ what: c.what, status: res.status }).toEqual({ what: c.what, status: c.status });
        await expectEventually(() =>
          expect(messages.slice(seen).filter((m) => m.type === 'control.action')).toEqual([
            expect.objectContaining({
              node: c.node,
              data: expect.objectContaining({ node: c.node, ...c.data }),
            }),
          ]),
        );
        expect({ what: c.what, counter: await counter(c.series) }).toEqual({
          what: c.what,
          counter: before + 1,
        });
        expect({ what: c.what, lines: logged() }).toEqual({ what: c.what, lines: linesBefore + 1 });
      }
      const metrics = (await call('GET', '/metrics')).text;
      expect(metrics).not.toContain('no-such-node');
      expect(metrics).not.toContain('manager');
      const deltas = JSON.stringify(messages);
      for (const token of [ADMIN, VIEWER]) expect(deltas).not.toContain(token);
    } finally {
      ws.terminate();
    }
  });

  it('/docs-json documents every route the app serves, with bearer auth', async () => {
    const doc = await call('GET', '/docs-json');
    expect(doc.status).toBe(200);
    const paths = Object.keys(doc.body.paths as Record<string, unknown>);
    const expected = [
      '/health/live',
      '/health/ready',
      '/metrics',
      '/api/v1/nodes',
      '/api/v1/alerts',
      '/api/v1/nodes/{node}/endpoints',
      '/api/v1/nodes/{node}/endpoints/{name}',
      '/api/v1/nodes/{node}/contacts',
      '/api/v1/nodes/{node}/aors',
      '/api/v1/nodes/{node}/calls',
      '/api/v1/nodes/{node}/security-events',
      '/api/v1/nodes/{node}/pjsip/endpoints',
      '/api/v1/nodes/{node}/pjsip/auths',
      '/api/v1/nodes/{node}/diagnostics',
      '/api/v1/nodes/{node}/reload',
      '/api/v1/nodes/{node}/endpoints/{name}/qualify',
    ];
    expect(paths).toEqual(expect.arrayContaining(expected));
    // …and every route Express has registered (Nest's `:param` → OpenAPI `{param}`).
    expect(paths).toEqual(expect.arrayContaining(servedRoutes(app)));
    expect(doc.body.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect((await fetch(url + '/docs')).status).toBe(200);
  });

  it('no sandbox secret or token appears in any response, metric or log line', async () => {
    const doc = await call('GET', '/docs-json');
    const paths = doc.body.paths as Record<string, Record<string, unknown>>;
    for (const [path, ops] of Object.entries(paths)) {
      if (!ops.get) continue;
      const concrete = path.replace('{node}', 'pbx1').replace(/\{[a-z]+\}/gi, '2001');
      await call('GET', concrete, ADMIN);
    }
    await call('GET', '/api/v1/nodes/pbx1/pjsip/endpoints/1001', ADMIN);
    await call('GET', '/api/v1/nodes/pbx1/diagnostics', ADMIN);
    await call('GET', '/metrics');
    expect(bodies.length).toBeGreaterThan(20);
    // Sanity: the collection holds real answers (auths are listed, minus their passwords).
    expect(bodies.some((b) => b.includes('"auths"') && b.includes('2001'))).toBe(true);

    const secrets = [
      SANDBOX.amiSecret,
      SANDBOX.ariPassword,
      'sandbox-ami-secret',
      'sandbox-ari-secret',
      'pw1001-sandbox',
      'pw1002-sandbox',
      'pw2001-sandbox',
      'pw2002-sandbox',
      ADMIN,
      VIEWER,
    ];
    const haystacks = { responses: bodies.join('\n'), logs: logger.lines.join('\n') };
    expect(logger.lines.length).toBeGreaterThan(0);
    for (const [where, text] of Object.entries(haystacks)) {
      for (const secret of secrets) {
        if (text.includes(secret)) throw new Error(`${where} contain the secret '${secret.slice(0, 4)}…'`);
      }
    }
  });
});

/**
 * A second node whose AMI port has nothing listening: the sandbox stays up for pbx1, the other node never
 * logs in, and control calls on it are refused with 503 and audited as `not_connected`.
 */
describe('control on a node whose AMI is not connected', () => {
  let daemon: TestDaemon;

  const post = async (path: string, body?: unknown): Promise<{ status: number; body: any }> => {
    const res = await fetch(daemon.url + path, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body ?? {}),
    });
    return { status: res.status, body: await res.json() };
  };
  const counter = async (series: string): Promise<number> => {
    const line = (await daemon.get('/metrics')).text.split('\n').find((l) => l.startsWith(`${series} `));
    return line ? Number(line.slice(series.length + 1)) : 0;
  };

  beforeAll(async () => {
    await waitFullyBooted(30_000);
    daemon = await startDaemon(
      [sandboxNodeYaml('pbx1'), sandboxNodeYaml('pbx-down', { amiPort: await freePort() })].join('\n'),
      [
        `auth: { adminToken: "${ADMIN}", viewerToken: "${VIEWER}" }`,
        'connections: { reconnectInitialDelayMs: 100, reconnectMaxDelayMs: 500 }',
      ].join('\n'),
    );
    // Not /health/ready: it stays 503 while a node is down. pbx1's AMI up shows the daemon is running.
    await expectEventually(async () => {
      const nodes = (await daemon.get('/api/v1/nodes', VIEWER)).body.nodes as Array<{
        name: string;
        ami: { status: string };
      }>;
      expect(nodes.map((n) => [n.name, n.ami.status])).toEqual([
        ['pbx1', 'up'],
        ['pbx-down', 'down'],
      ]);
    }, 20_000);
  });

  afterAll(async () => {
    await daemon?.close();
  });

  it('reload and qualify answer 503 NODE_NOT_CONNECTED and count result="not_connected"', async () => {
    const reloads = 'pbxpulse_reloads_total{node="pbx-down",module="res_pjsip.so",result="not_connected"}';
    const qualifies = 'pbxpulse_qualifies_total{node="pbx-down",result="not_connected"}';
    expect(await counter(reloads)).toBe(0);
    expect(await counter(qualifies)).toBe(0);

    const reload = await post('/api/v1/nodes/pbx-down/reload', { module: 'res_pjsip.so' });
    expect(reload).toEqual({
      status: 503,
      body: expect.objectContaining({ statusCode: 503, code: 'NODE_NOT_CONNECTED' }),
    });
    expect(reload.body.message).toContain('pbx-down');
    expect(await counter(reloads)).toBe(1);

    const qualify = await post('/api/v1/nodes/pbx-down/endpoints/2001/qualify');
    expect(qualify).toEqual({
      status: 503,
      body: expect.objectContaining({ statusCode: 503, code: 'NODE_NOT_CONNECTED' }),
    });
    expect(await counter(qualifies)).toBe(1);

    // Refused before the rate limiter: a second reload is 503 again, not 429.
    expect((await post('/api/v1/nodes/pbx-down/reload', { module: 'res_pjsip.so' })).status).toBe(503);
    expect(await counter(reloads)).toBe(2);
    // The connected node is unaffected.
    expect((await post('/api/v1/nodes/pbx1/endpoints/2001/qualify')).status).toBe(200);
  });
});

/** A TCP port nothing listens on (bound once, then released). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** GET/POST routes registered on the Express router, as OpenAPI paths. */
function servedRoutes(app: INestApplication): string[] {
  const express = app.getHttpAdapter().getInstance() as {
    router?: { stack: Array<{ route?: { path: string } }> };
    _router?: { stack: Array<{ route?: { path: string } }> };
  };
  const stack = (express.router ?? express._router)?.stack ?? [];
  const routes = stack
    .map((layer) => layer.route?.path)
    .filter((p): p is string => typeof p === 'string' && !p.startsWith('/docs'))
    .map((p) => p.replace(/:([A-Za-z]+)/g, '{$1}'));
  expect(routes.length).toBeGreaterThan(15);
  return [...new Set(routes)];
}
