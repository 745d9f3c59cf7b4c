import { Logger } from '@nestjs/common';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { expectEventually } from '../../test/support/expect-eventually';
import type { LinkState } from '../common/status-stream';
import { AriConnection, type AriConnectionOptions, toAsteriskInfo } from './ari.connection';
import {
  AriAuthError,
  AriHttpError,
  AriNotConnectedError,
  AriProtocolError,
  AriRequestTimeoutError,
} from './ari.errors';
import { type AriEventMessage, isKnownAriEvent, parseAriMessage } from './ari.messages';

const USER = 'pbxpulse';
const SECRET = 'S3cr3t-pa55word';
const APP = 'pbxpulse-test-host-1';

type Route = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;

/** Just enough of Asterisk's HTTP server: basic auth, `/ari/events` upgrade, and REST routes. */
class FakeAri {
  readonly server: http.Server;
  readonly wss: WebSocketServer;
  readonly clients = new Set<WebSocket>();
  readonly upgrades: Array<{ url: string; app: string | null; subscribeAll: string | null; auth?: string }> =
    [];
  readonly closeCodes: number[] = [];
  readonly routes = new Map<string, Route>();
  acceptAuth = true;
  holdUpgrades = false;
  onClient?: (ws: WebSocket, app: string) => void;
  private readonly held = new Set<Duplex>();

  constructor(opts: { autoPong?: boolean } = {}) {
    this.wss = new WebSocketServer({ noServer: true, autoPong: opts.autoPong ?? true });
    this.server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', () => this.handleHttp(req, res, body));
    });
    this.server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) =>
      this.handleUpgrade(req, socket, head),
    );
  }

  async listen(port = 0): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  send(msg: unknown): void {
    for (const ws of this.clients) ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  async close(): Promise<void> {
    for (const ws of this.clients) ws.terminate();
    for (const s of this.held) s.destroy();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private authOk(req: http.IncomingMessage): boolean {
    return (
      this.acceptAuth &&
      req.headers.authorization === `Basic ${Buffer.from(`${USER}:${SECRET}`).toString('base64')}`
    );
  }

  private handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => undefined);
    const url = new URL(req.url ?? '/', 'http://fake');
    this.upgrades.push({
      url: req.url ?? '',
      app: url.searchParams.get('app'),
      subscribeAll: url.searchParams.get('subscribeAll'),
      auth: req.headers.authorization,
    });
    if (this.holdUpgrades) {
      this.held.add(socket);
      return;
    }
    const reject = (status: number, text: string, message: string): void => {
      const body = JSON.stringify({ message });
      socket.end(
        `HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n` +
          `Connection: close\r\n\r\n${body}`,
      );
    };
    if (url.pathname !== '/ari/events') return reject(404, 'Not Found', 'Resource not found');
    if (!this.authOk(req)) return reject(401, 'Unauthorized', 'Authentication required');
    const app = url.searchParams.get('app');
    if (!app) return reject(400, 'Bad Request', 'HTTP request is missing param: [app]');
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.clients.add(ws);
      ws.on('close', (code) => {
        this.closeCodes.push(code);
        this.clients.delete(ws);
      });
      this.onClient?.(ws, app);
    });
  }

  private handleHttp(req: http.IncomingMessage, res: http.ServerResponse, body: string): void {
    if (!this.authOk(req)) {
      res.writeHead(401, {
        'Content-Type': 'application/json',
        'WWW-Authenticate': 'Basic realm="Asterisk REST Interface"',
      });
      res.end(JSON.stringify({ message: 'Authentication required' }));
      return;
    }
    const url = new URL(req.url ?? '/', 'http://fake');
    const route = this.routes.get(`${req.method} ${url.pathname}`);
    if (!route) {
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ message: 'Resource not found' }));
      return;
    }
    route(req, res, body);
  }
}

async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

const ASTERISK_INFO = {
  build: { os: 'Linux', kernel: '6.1.0', machine: 'x86_64', options: '', date: '2026-01-01', user: 'debian' },
  system: { version: '22.10.1', entity_id: '02:42:ac:11:00:02' },
  config: { name: 'pbx-a', default_language: 'en', setid: { user: '', group: '' } },
  status: { startup_time: '2026-11-23T10:00:00.000+0000', last_reload_time: '2026-11-23T10:05:00.000+0000' },
};

const channel = {
  id: '1700000000.1',
  name: 'PJSIP/1001-00000001',
  state: 'Ring',
  caller: { name: 'Alice', number: '1001' },
  connected: { name: '', number: '' },
  accountcode: '',
  dialplan: { context: 'internal', exten: '1002', priority: 1, app_name: '', app_data: '' },
  creationtime: '2026-11-23T10:00:00.000+0000',
  language: 'en',
};

describe('AriConnection (against a fake ARI server)', () => {
  let fake: FakeAri | undefined;
  const conns: AriConnection[] = [];
  let logs: Array<{ level: string; text: string }>;
  let history: Map<AriConnection, LinkState[]>;

  beforeEach(() => {
    logs = [];
    history = new Map();
    for (const level of ['log', 'warn', 'error', 'debug'] as const) {
      jest.spyOn(Logger.prototype, level).mockImplementation((...args: unknown[]) => {
        logs.push({ level, text: args.map(String).join(' ') });
      });
    }
  });

  afterEach(async () => {
    await Promise.all(conns.splice(0).map((c) => c.stop()));
    await fake?.close();
    fake = undefined;
    // Whatever a test did, no status, log line or URL ever carried the secret.
    for (const states of history.values()) {
      for (const s of states) expect(s.lastError ?? '').not.toContain(SECRET);
    }
    for (const l of logs) expect(l.text).not.toContain(SECRET);
    jest.restoreAllMocks();
  });

  function make(overrides: Partial<AriConnectionOptions> = {}): AriConnection {
    const conn = new AriConnection({
      node: 'pbx-a',
      url: fake?.url ?? 'http://127.0.0.1:1',
      username: USER,
      password: SECRET,
      app: APP,
      reconnectInitialDelayMs: 10,
      reconnectMaxDelayMs: 40,
      requestTimeoutMs: 1000,
      connectTimeoutMs: 1000,
      keepaliveIntervalMs: 1000,
      random: () => 1,
      ...overrides,
    });
    const states: LinkState[] = [];
    conn.status.changes.subscribe((s) => states.push(s));
    history.set(conn, states);
    conns.push(conn);
    return conn;
  }

  async function startFake(opts: { autoPong?: boolean } = {}, port = 0): Promise<FakeAri> {
    fake = new FakeAri(opts);
    await fake.listen(port);
    return fake;
  }

  it('connects with basic auth, app and subscribeAll, reports up and calls onConnected', async () => {
    const server = await startFake();
    const conn = make();
    const onConnected = jest.fn();
    conn.onConnected = onConnected;
    expect(conn.status.value.status).toBe('down');

    conn.start();
    conn.start(); // idempotent
    expect(conn.status.value.status).toBe('connecting');
    await expectEventually(() => expect(conn.status.value.status).toBe('up'));

    expect(onConnected).toHaveBeenCalledTimes(1);
    expect(conn.reconnects).toBe(0);
    expect(server.upgrades).toHaveLength(1);
    const [up] = server.upgrades;
    expect(up.app).toBe(APP);
    expect(up.subscribeAll).toBe('true');
    expect(up.auth).toBe(`Basic ${Buffer.from(`${USER}:${SECRET}`).toString('base64')}`);
    expect(up.url).not.toContain('api_key');
    expect(up.url).not.toContain(SECRET);
    expect(history.get(conn)?.map((s) => s.status)).toEqual(['down', 'connecting', 'up']);
    expect(
      logs.some((l) => l.level === 'log' && l.text.includes(`connected to ${server.url} as app '${APP}'`)),
    ).toBe(true);
  });

  it("delivers parsed events and counts malformed frames (not JSON, or not of the event's shape) without dropping the link", async () => {
    const server = await startFake();
    const conn = make();
    const received: AriEventMessage[] = [];
    conn.onMessage = (msg) => {
      received.push(msg);
      if (msg.type === 'StasisStart') throw new Error('consumer bug');
    };
    conn.start();
    await expectEventually(() => expect(server.clients.size).toBe(1));

    const created = { type: 'ChannelCreated', application: APP, timestamp: channel.creationtime, channel };
    server.send(created);
    server.send('not json {');
    server.send('[1,2,3]');
    server.send('"just a string"');
    server.send({ no: 'type' });
    for (const ws of server.clients) ws.send(Buffer.from([1, 2, 3]), { binary: true });
    // JSON of a used event type, but not of Asterisk's shape: counted and skipped, never normalised.
    server.send({ type: 'ChannelCreated', application: APP, timestamp: channel.creationtime });
    server.send({ ...created, channel: { ...channel, id: 5 } });
    server.send({ type: 'DeviceStateChanged', application: APP, device_state: { name: 5, state: 'INUSE' } });
    server.send({ type: 'StasisStart', application: APP, timestamp: channel.creationtime });
    server.send({ type: 'ChannelVarset', application: APP, timestamp: channel.creationtime, variable: 'X' });

    await expectEventually(() => expect(received).toHaveLength(3));
    expect(conn.malformedMessages).toBe(8);
    expect(received[0]).toEqual(created);
    const first = received[0];
    expect(isKnownAriEvent(first)).toBe(true);
    if (isKnownAriEvent(first) && first.type === 'ChannelCreated') {
      expect(first.channel.caller.number).toBe('1001');
      expect(first.channel.dialplan.exten).toBe('1002');
    }
    expect(received.map((m) => m.type)).toEqual(['ChannelCreated', 'StasisStart', 'ChannelVarset']);
    expect(isKnownAriEvent(received[2])).toBe(false);
    expect(logs.some((l) => l.level === 'error' && l.text.includes('consumer bug'))).toBe(true);
    expect(conn.status.value.status).toBe('up');
  });

  it('logs a throwing or rejecting onConnected hook and stays up', async () => {
    await startFake();
    const conn = make();
    conn.onConnected = () => Promise.reject(new Error('resync exploded'));
    conn.start();
    await expectEventually(() =>
      expect(logs.some((l) => l.level === 'error' && l.text.includes('resync exploded'))).toBe(true),
    );

    const conn2 = make();
    conn2.onConnected = () => {
      throw new Error('sync hook bug');
    };
    conn2.start();
    await expectEventually(() =>
      expect(logs.some((l) => l.level === 'error' && l.text.includes('sync hook bug'))).toBe(true),
    );
    expect(conn.status.value.status).toBe('up');
    expect(conn2.status.value.status).toBe('up');
  });

  it('GET /asterisk/info maps build/system/config/status into AsteriskInfo', async () => {
    const server = await startFake();
    server.routes.set('GET /ari/asterisk/info', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(ASTERISK_INFO));
    });
    const conn = make();
    await expect(conn.getAsteriskInfo()).resolves.toEqual({
      version: '22.10.1',
      startupTime: '2026-11-23T10:00:00.000+0000',
      lastReloadTime: '2026-11-23T10:05:00.000+0000',
      entityId: '02:42:ac:11:00:02',
      systemName: 'pbx-a',
    });
  });

  it('REST: sends query and JSON body, maps 204, HTTP errors and non-JSON bodies to typed results', async () => {
    const server = await startFake();
    let seen: { url?: string; body?: string; type?: string } = {};
    server.routes.set('POST /ari/applications/x/subscription', (req, res, body) => {
      seen = { url: req.url, body, type: req.headers['content-type'] };
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ name: 'x' }));
    });
    server.routes.set('PUT /ari/asterisk/modules/res_pjsip.so', (_req, res) => {
      res.writeHead(204);
      res.end();
    });
    server.routes.set('GET /ari/asterisk/ping', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('pong?');
    });
    server.routes.set('GET /ari/asterisk/info', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ build: ASTERISK_INFO.build }));
    });
    const conn = make();

    await expect(
      conn.request('POST', '/applications/x/subscription', {
        query: { eventSource: 'endpoint:PJSIP' },
        body: { variables: { a: 'b' } },
      }),
    ).resolves.toEqual({ name: 'x' });
    expect(seen.url).toBe('/ari/applications/x/subscription?eventSource=endpoint%3APJSIP');
    expect(seen.body).toBe('{"variables":{"a":"b"}}');
    expect(seen.type).toBe('application/json');

    await expect(conn.request('PUT', '/asterisk/modules/res_pjsip.so')).resolves.toBeUndefined();

    const notFound = await conn.request('DELETE', '/channels/nope').catch((e: unknown) => e);
    expect(notFound).toBeInstanceOf(AriHttpError);
    expect(notFound).toMatchObject({ code: 'ARI_HTTP', status: 404, asteriskMessage: 'Resource not found' });

    await expect(conn.request('GET', '/asterisk/ping')).rejects.toBeInstanceOf(AriProtocolError);
    await expect(conn.getAsteriskInfo()).rejects.toMatchObject({ code: 'ARI_PROTOCOL' });
    await expect(conn.request('POST', '/x', { body: { n: BigInt(1) } })).rejects.toBeInstanceOf(
      AriProtocolError,
    );
  });

  it('REST timeout rejects with AriRequestTimeoutError', async () => {
    const server = await startFake();
    server.routes.set('GET /ari/asterisk/info', () => undefined); // never answers
    const conn = make({ requestTimeoutMs: 60 });
    const started = Date.now();
    const err = await conn.getAsteriskInfo().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AriRequestTimeoutError);
    expect(err).toMatchObject({ code: 'ARI_TIMEOUT', timeoutMs: 60 });
    expect((err as Error).message).toBe("ARI GET /asterisk/info on node 'pbx-a' timed out after 60 ms");
    expect(Date.now() - started).toBeLessThan(1000);
    // per-call override
    await expect(conn.request('GET', '/asterisk/info', { timeoutMs: 20 })).rejects.toMatchObject({
      timeoutMs: 20,
    });
  });

  it('401 on the upgrade: down with an auth error, keeps retrying, connects once credentials work', async () => {
    const server = await startFake();
    server.acceptAuth = false;
    const conn = make();
    conn.start();
    await expectEventually(() => {
      expect(conn.status.value).toMatchObject({
        status: 'down',
        lastError: `ARI authentication failed (401) for user '${USER}'`,
      });
      expect(conn.reconnects).toBeGreaterThanOrEqual(3);
    });
    expect(conn.status.value.lastError).not.toContain(SECRET);

    const restErr = await conn.request('GET', '/asterisk/info').catch((e: unknown) => e);
    expect(restErr).toBeInstanceOf(AriAuthError);
    expect(restErr).toMatchObject({ code: 'ARI_AUTH' });
    expect((restErr as Error).message).toBe(`ARI authentication failed (401) for user '${USER}'`);

    server.acceptAuth = true;
    await expectEventually(() => expect(conn.status.value.status).toBe('up'));
    expect(conn.status.value.lastError).toBeUndefined();
  });

  it('a REST 401 while up marks the link down and drops the socket', async () => {
    const server = await startFake();
    const conn = make();
    conn.start();
    await expectEventually(() => expect(conn.status.value.status).toBe('up'));
    server.acceptAuth = false;
    await expect(conn.request('GET', '/asterisk/info')).rejects.toBeInstanceOf(AriAuthError);
    expect(conn.status.value).toMatchObject({ status: 'down', lastError: expect.stringContaining('(401)') });
    await expectEventually(() => expect(server.closeCodes).toHaveLength(1));
  });

  it('server closes the socket: down, reconnect with a reset backoff, onConnected again', async () => {
    const server = await startFake();
    const conn = make();
    const onConnected = jest.fn();
    conn.onConnected = onConnected;
    conn.start();
    await expectEventually(() => expect(onConnected).toHaveBeenCalledTimes(1));

    for (const ws of server.clients) ws.close(1001, 'Asterisk shutting down');

    await expectEventually(() => expect(onConnected).toHaveBeenCalledTimes(2));
    expect(conn.status.value.status).toBe('up');
    expect(conn.reconnects).toBe(1);
    expect(server.upgrades).toHaveLength(2);
    // Retries after a loss stay `down` (no `connecting` flap per attempt), as on the AMI link.
    expect(history.get(conn)?.map((s) => s.status)).toEqual(['down', 'connecting', 'up', 'down', 'up']);
    expect(history.get(conn)?.[3].lastError).toBe('socket closed (code 1001, Asterisk shutting down)');
    // random() = 1 → the delay equals the backoff ceiling; after being up it starts again at the initial delay.
    expect(logs.filter((l) => l.level === 'warn').map((l) => l.text)).toEqual([
      "node 'pbx-a': ARI connection lost (socket closed (code 1001, Asterisk shutting down)); retrying in 10 ms",
    ]);
  });

  it('Asterisk down at start: connection refused, then connects when it comes up', async () => {
    const port = await freePort();
    const conn = make({ url: `http://127.0.0.1:${port}` });
    const onConnected = jest.fn();
    conn.onConnected = onConnected;
    conn.start();
    await expectEventually(() =>
      expect(conn.status.value).toMatchObject({
        status: 'down',
        lastError: `connection refused (127.0.0.1:${port})`,
      }),
    );
    const restErr = await conn.request('GET', '/asterisk/info').catch((e: unknown) => e);
    expect(restErr).toBeInstanceOf(AriNotConnectedError);
    expect((restErr as Error).message).toBe(
      `ARI on node 'pbx-a' is not reachable: connection refused (127.0.0.1:${port})`,
    );

    await startFake({}, port);
    await expectEventually(() => expect(conn.status.value.status).toBe('up'));
    expect(onConnected).toHaveBeenCalledTimes(1);
    expect(conn.reconnects).toBeGreaterThanOrEqual(1);
    expect(logs.some((l) => l.level === 'log' && /after \d+ failed attempts?/.test(l.text))).toBe(true);
  });

  it('does not flood the log while Asterisk stays down', async () => {
    const port = await freePort();
    const conn = make({
      url: `http://127.0.0.1:${port}`,
      reconnectInitialDelayMs: 5,
      reconnectMaxDelayMs: 20,
    });
    conn.start();
    await expectEventually(() => expect(conn.reconnects).toBeGreaterThanOrEqual(10));
    const warns = logs.filter((l) => l.level === 'warn');
    expect(warns).toHaveLength(1);
    expect(warns[0].text).toBe(
      `node 'pbx-a': cannot connect ARI to http://127.0.0.1:${port} (connection refused (127.0.0.1:${port})); retrying in 5 ms`,
    );
  });

  it('connect timeout: a server that never answers the upgrade is cut off and retried', async () => {
    const server = await startFake();
    server.holdUpgrades = true;
    const conn = make({ connectTimeoutMs: 50 });
    conn.start();
    await expectEventually(() => {
      expect(conn.status.value.lastError).toBe('connect timeout after 50 ms');
      expect(server.upgrades.length).toBeGreaterThanOrEqual(2);
    });
    server.holdUpgrades = false;
    await expectEventually(() => expect(conn.status.value.status).toBe('up'));
  });

  it('keepalive: a socket silent for the keepalive (no pong) is terminated and reconnected on a new one', async () => {
    const server = await startFake({ autoPong: false });
    const conn = make({ keepaliveIntervalMs: 30 });
    const onConnected = jest.fn();
    conn.onConnected = onConnected;
    conn.start();
    await expectEventually(() => expect(onConnected).toHaveBeenCalledTimes(2));
    expect(
      history
        .get(conn)
        ?.some((s) => /^keepalive timeout: nothing received for \d+ ms$/.test(s.lastError ?? '')),
    ).toBe(true);
    expect(server.closeCodes[0]).toBe(1006); // terminated, not closed politely
  });

  it('keepalive: a server that answers pings keeps the link up', async () => {
    const server = await startFake();
    // Probed every 100 ms of silence; a pong has 200 ms to arrive even on a loaded machine.
    const conn = make({ keepaliveIntervalMs: 300 });
    let pings = 0;
    server.onClient = (ws) => ws.on('ping', () => (pings += 1));
    conn.start();
    await expectEventually(() => expect(pings).toBeGreaterThanOrEqual(4));
    expect(server.upgrades).toHaveLength(1);
    expect(conn.status.value.status).toBe('up');
  });

  it('ApplicationReplaced: warns and reconnects under a fresh app name', async () => {
    const server = await startFake();
    const conn = make({ random: () => 0.5 });
    const onConnected = jest.fn();
    const types: string[] = [];
    conn.onConnected = onConnected;
    conn.onMessage = (m) => types.push(m.type);
    conn.start();
    await expectEventually(() => expect(onConnected).toHaveBeenCalledTimes(1));

    server.send({ type: 'ApplicationReplaced', application: APP, timestamp: channel.creationtime });

    await expectEventually(() => expect(onConnected).toHaveBeenCalledTimes(2));
    expect(types).toEqual(['ApplicationReplaced']);
    expect(conn.app).toMatch(new RegExp(`^${APP}-r1[0-9a-z]{4}$`));
    expect(server.upgrades.map((u) => u.app)).toEqual([APP, conn.app]);
    const warns = logs.filter((l) => l.level === 'warn').map((l) => l.text);
    expect(warns).toHaveLength(1);
    expect(warns[0]).toContain('ApplicationReplaced');
  });

  it('stop(): closes with 1000, aborts in-flight requests, never reconnects, start() is then a no-op', async () => {
    const server = await startFake();
    server.routes.set('GET /ari/asterisk/info', () => undefined);
    const conn = make();
    conn.start();
    await expectEventually(() => expect(conn.status.value.status).toBe('up'));
    const pending = conn.getAsteriskInfo().catch((e: unknown) => e);

    await conn.stop();

    await expectEventually(() => expect(server.closeCodes).toEqual([1000]));
    expect(await pending).toBeInstanceOf(AriNotConnectedError);
    expect(conn.status.value).toMatchObject({ status: 'down', lastError: 'stopped' });
    await expect(conn.request('GET', '/asterisk/info')).rejects.toThrow('connection stopped');
    conn.start();
    await conn.stop(); // idempotent
    // Negative check: give a reconnect (10 ms backoff) ample time to happen if it wrongly would.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.upgrades).toHaveLength(1);
  });

  it('stop() while connecting or while waiting to retry resolves promptly', async () => {
    const server = await startFake();
    server.holdUpgrades = true;
    const connecting = make({ connectTimeoutMs: 5000 });
    connecting.start();
    await expectEventually(() => expect(server.upgrades).toHaveLength(1));
    const t0 = Date.now();
    await connecting.stop();
    expect(Date.now() - t0).toBeLessThan(500);

    const port = await freePort();
    const retrying = make({
      url: `http://127.0.0.1:${port}`,
      reconnectInitialDelayMs: 5000,
      reconnectMaxDelayMs: 5000,
    });
    retrying.start();
    await expectEventually(() => expect(retrying.status.value.status).toBe('down'));
    const t1 = Date.now();
    await retrying.stop();
    expect(Date.now() - t1).toBeLessThan(500);
  });

  it('keeps credentials out of the URL and out of every message, even when pasted into the URL', async () => {
    const server = await startFake();
    const conn = make({
      url: `http://${USER}:${SECRET}@127.0.0.1:${(server.server.address() as AddressInfo).port}/`,
    });
    conn.start();
    await expectEventually(() => expect(conn.status.value.status).toBe('up'));
    expect(server.upgrades[0].url).toBe(`/ari/events?app=${APP}&subscribeAll=true`);
    await expect(conn.request('GET', '/nope')).rejects.toBeInstanceOf(AriHttpError);
  });
});

describe('parseAriMessage', () => {
  it('accepts JSON objects with a string type and rejects everything else', () => {
    expect(
      parseAriMessage('{"type":"DeviceStateChanged","device_state":{"name":"PJSIP/1001","state":"INUSE"}}'),
    ).toMatchObject({ type: 'DeviceStateChanged' });
    for (const bad of ['', 'nope', '[]', 'null', '42', '"x"', '{}', '{"type":7}']) {
      expect(parseAriMessage(bad)).toBeUndefined();
    }
  });

  it('isKnownAriEvent narrows to the discriminated union', () => {
    const msg = parseAriMessage(
      JSON.stringify({
        type: 'ContactStatusChange',
        application: APP,
        timestamp: 't',
        endpoint: { technology: 'PJSIP', resource: '1001', state: 'online', channel_ids: [] },
        contact_info: {
          uri: 'sip:1001@10.0.0.5:5060',
          contact_status: 'Reachable',
          aor: '1001',
          roundtrip_usec: '1200',
        },
      }),
    );
    expect(msg && isKnownAriEvent(msg)).toBe(true);
    if (msg && isKnownAriEvent(msg) && msg.type === 'ContactStatusChange') {
      expect(msg.contact_info.contact_status).toBe('Reachable');
    }
    expect(isKnownAriEvent({ type: 'BridgeCreated' })).toBe(false);
  });
});

describe('toAsteriskInfo', () => {
  it('maps the sections and omits empty optional fields', () => {
    expect(
      toAsteriskInfo({
        system: { version: '20.20.1', entity_id: '' },
        config: { name: '', default_language: 'en' },
        status: ASTERISK_INFO.status,
      }),
    ).toEqual({
      version: '20.20.1',
      startupTime: ASTERISK_INFO.status.startup_time,
      lastReloadTime: ASTERISK_INFO.status.last_reload_time,
    });
    expect(toAsteriskInfo({ system: ASTERISK_INFO.system })).toBeUndefined();
    expect(toAsteriskInfo(null)).toBeUndefined();
    expect(toAsteriskInfo('x')).toBeUndefined();
  });
});
