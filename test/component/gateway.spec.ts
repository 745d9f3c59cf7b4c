import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { GatewayWsAdapter } from '../../src/gateway/gateway.ws-adapter';
import { WebSocket } from 'ws';
import { AppModule } from '../../src/app.module';
import { EventBus } from '../../src/events/event-bus';
import { GatewayHub } from '../../src/gateway/gateway.hub';
import { LiveGateway, MAX_BAD_MESSAGES, MAX_CLIENT_MESSAGE_BYTES } from '../../src/gateway/live.gateway';
import { expectEventually } from '../support/expect-eventually';
import { offlineConfig } from '../support/daemon';

/** Transport tests: the hub never looks inside `data`, so any payload stands in for the typed ones. */
const opaque = (data: object): never => data as never;

/** A WebSocket client that records every JSON message. */
class TestClient {
  readonly messages: any[] = [];
  closeCode?: number;
  pings = 0;
  readonly ws: WebSocket;
  readonly opened: Promise<void>;
  constructor(url: string, headers: Record<string, string> = {}, autoPong = true) {
    this.ws = new WebSocket(url, { headers, autoPong });
    this.ws.on('message', (d: Buffer) => this.messages.push(JSON.parse(d.toString())));
    this.ws.on('close', (code) => (this.closeCode = code));
    this.ws.on('ping', () => (this.pings += 1));
    this.ws.on('error', () => undefined);
    this.opened = new Promise((resolve) => this.ws.once('open', () => resolve()));
  }
  deltas(): any[] {
    return this.messages.filter(
      (m) => typeof m.seq === 'number' && m.type !== 'snapshot' && m.type !== 'subscribed',
    );
  }
  close(): void {
    this.ws.terminate();
  }
}

async function startApp(
  extra = '',
): Promise<{ app: INestApplication; url: string; hub: GatewayHub; bus: EventBus }> {
  // Nothing listens on these ports: the daemon runs with both links down, which is all the transport needs.
  const config = offlineConfig({ nodes: ['a', 'b'], extraYaml: extra });
  const app = await NestFactory.create(AppModule.forRoot(config), { logger: false });
  app.useWebSocketAdapter(new GatewayWsAdapter(app));
  await app.listen(0, '127.0.0.1');
  const port = (app.getHttpServer() as { address(): { port: number } }).address().port;
  return { app, url: `ws://127.0.0.1:${port}/ws`, hub: app.get(GatewayHub), bus: app.get(EventBus) };
}

describe('WebSocket gateway /ws', () => {
  let ctx: Awaited<ReturnType<typeof startApp>>;
  const clients: TestClient[] = [];
  const client = (path = '', headers: Record<string, string> = {}, autoPong = true) => {
    const c = new TestClient(ctx.url + path, headers, autoPong);
    clients.push(c);
    return c;
  };

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await ctx.app.close();
  });

  it('greets with hello, then a snapshot of the nodes, then ordered deltas', async () => {
    ctx = await startApp();
    const c = client();
    await expectEventually(() => expect(c.messages.length).toBeGreaterThanOrEqual(2));
    expect(c.messages[0]).toEqual({ type: 'hello', protocol: 1 });
    const snap = c.messages[1];
    expect(snap.type).toBe('snapshot');
    expect(snap.nodes.map((n: { name: string }) => n.name)).toEqual(['a', 'b']);
    expect(snap).toEqual(expect.objectContaining({ calls: [], alerts: [], endpoints: expect.any(Array) }));
    // A real internal event becomes a node.status delta with the node's current view.
    const seq0 = ctx.hub.currentSeq;
    ctx.bus.publish({
      type: 'node.info_updated',
      node: 'a',
      version: '22.1.0',
      ts: Date.now(),
      source: 'ari',
    });
    await expectEventually(() =>
      expect(c.deltas().some((d) => d.seq > seq0 && d.type === 'node.status')).toBe(true),
    );
    const delta = c.deltas().find((d) => d.seq > seq0 && d.type === 'node.status');
    expect(delta).toMatchObject({ node: 'a', data: { name: 'a', asterisk: { version: '22.1.0' } } });
    expect(Date.parse(delta.ts)).not.toBeNaN();
  });

  it('50 concurrent clients receive identical, gap-free sequences', async () => {
    ctx = await startApp();
    const many = Array.from({ length: 50 }, () => client());
    await Promise.all(many.map((c) => c.opened));
    await expectEventually(() => expect(many.every((c) => c.messages.length >= 2)).toBe(true));
    const first = ctx.hub.currentSeq + 1;
    for (let i = 0; i < 300; i++) ctx.hub.publish('call.updated', i % 2 ? 'a' : 'b', opaque({ i }));
    const last = ctx.hub.currentSeq;
    await expectEventually(
      () => expect(many.every((c) => c.deltas().some((d) => d.seq === last))).toBe(true),
      10_000,
    );
    const inRange = (c: TestClient) => c.deltas().filter((d) => d.seq >= first && d.seq <= last);
    expect(inRange(many[0]).map((d) => d.seq)).toEqual(
      Array.from({ length: last - first + 1 }, (_, i) => first + i),
    );
    for (const c of many) expect(inRange(c)).toEqual(inRange(many[0]));
    const metrics = await (await fetch(ctx.url.replace('ws:', 'http:').replace('/ws', '/metrics'))).text();
    expect(metrics).toContain('pbxpulse_gateway_clients 50');
  });

  it('a client that stops reading is closed with 1013 and counted; the others carry on', async () => {
    ctx = await startApp('gateway: { maxBufferedBytes: 262144 }');
    const reader = client();
    const slow = client();
    await Promise.all([reader.opened, slow.opened]);
    await expectEventually(() => expect(slow.messages.length).toBeGreaterThanOrEqual(2));
    // It stops reading: its socket is paused, kernel buffers fill, then the server's send buffer grows.
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const payload = 'x'.repeat(8192);
    // In batches, as real deltas arrive: the reader (same process) drains between them.
    for (let i = 0; i < 3000; i++) {
      ctx.hub.publish('call.updated', 'a', opaque({ i, payload }));
      if (i % 20 === 19) await new Promise((r) => setTimeout(r, 2));
    }
    const last = ctx.hub.currentSeq;
    await expectEventually(() => expect(reader.deltas().some((d) => d.seq === last)).toBe(true), 20_000);
    const metricsUrl = ctx.url.replace('ws:', 'http:').replace('/ws', '/metrics');
    await expectEventually(async () => {
      const metrics = await (await fetch(metricsUrl)).text();
      expect(metrics).toContain('pbxpulse_gateway_clients_dropped_total{reason="slow"} 1');
      expect(metrics).toContain('pbxpulse_gateway_clients 1');
    });
    expect(reader.closeCode).toBeUndefined();
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    await expectEventually(() => expect(slow.closeCode).toBeDefined());
  });

  it('a snapshot larger than the send budget is delivered; a client that stops reading deltas is still dropped', async () => {
    ctx = await startApp('gateway: { maxBufferedBytes: 65536 }');
    // ~6 MB of endpoints: far more than the budget and than the kernel takes in one write.
    const endpoints = Array.from({ length: 6000 }, (_, i) => ({
      node: 'a',
      id: `ep${i}`,
      note: 'x'.repeat(1000),
    }));
    ctx.hub.contribute('endpoints', () => opaque(endpoints));
    const metricsUrl = ctx.url.replace('ws:', 'http:').replace('/ws', '/metrics');
    const reader = client();
    await expectEventually(() => expect(reader.messages.length).toBeGreaterThanOrEqual(2), 10_000);
    expect(reader.messages.slice(0, 2).map((m) => m.type)).toEqual(['hello', 'snapshot']);
    expect(reader.messages[1].endpoints).toHaveLength(6000);
    const gateway = ctx.app.get(LiveGateway);
    expect(gateway.clientCount).toBe(1);
    // Every Asterisk reconnect sends everyone a fresh snapshot of the same size.
    ctx.bus.publish({
      type: 'state.resynced',
      node: 'a',
      link: 'ami',
      counts: { contacts: 6000 },
      ts: Date.now(),
      source: 'ami',
    });
    await expectEventually(
      () => expect(reader.messages.slice(2).map((m) => m.type)).toEqual(['state.resynced', 'snapshot']),
      10_000,
    );
    expect(reader.closeCode).toBeUndefined();
    expect(gateway.dropped.slow).toBe(0);

    const slow = client();
    await expectEventually(() => expect(slow.messages.length).toBeGreaterThanOrEqual(2), 10_000);
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const payload = 'x'.repeat(8192);
    // Until the kernel buffers of the paused client are full and its send buffer passes the budget.
    for (let i = 0; i < 10_000 && gateway.dropped.slow === 0; i++) {
      ctx.hub.publish('call.updated', 'a', opaque({ i, payload }));
      if (i % 4 === 3) await new Promise((r) => setTimeout(r, 1));
    }
    const last = ctx.hub.currentSeq;
    await expectEventually(() => expect(reader.deltas().some((d) => d.seq === last)).toBe(true), 20_000);
    await expectEventually(async () => {
      const metrics = await (await fetch(metricsUrl)).text();
      expect(metrics).toContain('pbxpulse_gateway_clients_dropped_total{reason="slow"} 1');
      expect(metrics).toContain('pbxpulse_gateway_clients 1');
    });
    expect(reader.closeCode).toBeUndefined();
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    await expectEventually(() => expect(slow.closeCode).toBe(1013), 10_000);
  });

  it('a ?since replay larger than the send budget is delivered in full', async () => {
    ctx = await startApp('gateway: { maxBufferedBytes: 65536 }');
    const payload = 'x'.repeat(8192);
    const base = ctx.hub.currentSeq;
    // ~8 MB of missed deltas, all still in the replay buffer.
    for (let i = 0; i < 1000; i++) ctx.hub.publish('alert.raised', 'a', opaque({ i, payload }));
    const resumed = client(`?since=${base}`);
    const alerts = () => resumed.deltas().filter((d) => d.type === 'alert.raised');
    await expectEventually(() => expect(alerts()).toHaveLength(1000), 10_000);
    expect(resumed.messages[0].type).toBe('hello');
    expect(alerts().map((d) => d.seq)).toEqual(Array.from({ length: 1000 }, (_, i) => base + i + 1));
    expect(ctx.app.get(LiveGateway).clientCount).toBe(1);
    expect(ctx.app.get(LiveGateway).dropped.slow).toBe(0);
    expect(resumed.closeCode).toBeUndefined();
  });

  it('a client that does not answer pings is terminated and counted; one that answers stays', async () => {
    ctx = await startApp('gateway: { heartbeatIntervalMs: 100 }');
    const live = client();
    const dead = client('', {}, false);
    await expectEventually(() => expect(dead.messages.length).toBeGreaterThanOrEqual(2));
    await expectEventually(() => expect(dead.closeCode).toBeDefined(), 5_000);
    // It got pings and left them unanswered; it was terminated, so no close frame reached it.
    expect(dead.pings).toBeGreaterThanOrEqual(1);
    expect(dead.closeCode).toBe(1006);
    const metrics = await (await fetch(ctx.url.replace('ws:', 'http:').replace('/ws', '/metrics'))).text();
    expect(metrics).toContain('pbxpulse_gateway_clients_dropped_total{reason="heartbeat"} 1');
    expect(metrics).toContain('pbxpulse_gateway_clients_dropped_total{reason="slow"} 0');
    expect(metrics).toContain('pbxpulse_gateway_clients 1');
    // Several more heartbeats: the client that answers is never dropped.
    const pings = live.pings;
    await expectEventually(() => expect(live.pings).toBeGreaterThanOrEqual(pings + 5));
    expect(live.closeCode).toBeUndefined();
    expect(ctx.app.get(LiveGateway).dropped.heartbeat).toBe(1);
  });

  it('resumes with ?since from the replay buffer, else sends a snapshot', async () => {
    ctx = await startApp('gateway: { replayBuffer: 50 }');
    for (let i = 0; i < 3; i++) ctx.hub.publish('alert.raised', 'a', opaque({ i }));
    const base = ctx.hub.currentSeq - 3;
    const resumed = client(`?since=${base + 1}`);
    await expectEventually(() => expect(resumed.messages.length).toBeGreaterThanOrEqual(3));
    expect(resumed.messages[0].type).toBe('hello');
    expect(resumed.messages.slice(1, 3).map((m) => [m.type, m.seq])).toEqual([
      ['alert.raised', base + 2],
      ['alert.raised', base + 3],
    ]);
    for (let i = 0; i < 60; i++) ctx.hub.publish('alert.raised', 'a', opaque({ i }));
    const tooOld = client(`?since=${base + 1}`);
    await expectEventually(() => expect(tooOld.messages.length).toBeGreaterThanOrEqual(2));
    expect(tooOld.messages[1]).toMatchObject({ type: 'snapshot' });
    expect(tooOld.messages[1].seq).toBeGreaterThanOrEqual(base + 63);
  });

  it('filters by node and topic after a subscribe message; system deltas always pass', async () => {
    ctx = await startApp();
    const c = client();
    await expectEventually(() => expect(c.messages).toHaveLength(2));
    c.ws.send(JSON.stringify({ type: 'subscribe', nodes: ['b'], topics: ['alerts'] }));
    await expectEventually(() =>
      expect(c.messages.at(-1)).toMatchObject({ type: 'subscribed', nodes: ['b'] }),
    );
    ctx.hub.publish('alert.raised', 'a', opaque({}));
    ctx.hub.publish('call.updated', 'b', opaque({}));
    ctx.hub.publish('alert.raised', 'b', opaque({ mine: true }));
    ctx.hub.publish('node.status', 'b', opaque({}));
    await expectEventually(() =>
      expect(c.deltas().map((d) => `${d.type}@${d.node}`)).toEqual(['alert.raised@b', 'node.status@b']),
    );
    expect(c.deltas()[0].data).toEqual({ mine: true });
  });

  it('a state.resynced delta is followed by a fresh snapshot', async () => {
    ctx = await startApp();
    const c = client();
    await expectEventually(() => expect(c.messages).toHaveLength(2));
    ctx.bus.publish({
      type: 'state.resynced',
      node: 'a',
      link: 'ami',
      counts: { contacts: 2 },
      ts: Date.now(),
      source: 'ami',
    });
    await expectEventually(() =>
      expect(c.messages.slice(2).map((m) => m.type)).toEqual(['state.resynced', 'snapshot']),
    );
    expect(c.messages[2]).toMatchObject({ node: 'a', data: { link: 'ami', counts: { contacts: 2 } } });
    expect(c.messages[3].seq).toBe(c.messages[2].seq);
  });

  it('after a state.resynced, the fresh snapshot is assembled once for every client, filtered per client', async () => {
    ctx = await startApp();
    // Counts how often the snapshot is assembled (the alerts part is read once per assembly).
    const reads = jest.fn(() => []);
    ctx.hub.contribute('alerts', reads);
    const all = Array.from({ length: 4 }, () => client());
    const onlyB = Array.from({ length: 2 }, () => client());
    await expectEventually(() => expect([...all, ...onlyB].every((c) => c.messages.length >= 2)).toBe(true));
    for (const c of onlyB) c.ws.send(JSON.stringify({ type: 'subscribe', nodes: ['b'] }));
    await expectEventually(() =>
      expect(onlyB.every((c) => c.messages.at(-1)?.type === 'subscribed')).toBe(true),
    );
    reads.mockClear();
    const resynced = ctx.hub.publish('state.resynced', 'b', { link: 'ami', counts: {} });
    const after = (c: TestClient) => c.messages.filter((m) => m.seq === resynced.seq);
    await expectEventually(() => expect(all.every((c) => after(c).length === 2)).toBe(true));
    await expectEventually(() => expect(onlyB.every((c) => after(c).length === 2)).toBe(true));
    expect(reads).toHaveBeenCalledTimes(1);
    for (const c of all) {
      expect(after(c).map((m) => m.type)).toEqual(['state.resynced', 'snapshot']);
      expect(after(c)[1].nodes.map((n: { name: string }) => n.name)).toEqual(['a', 'b']);
    }
    for (const c of onlyB) expect(after(c)[1].nodes.map((n: { name: string }) => n.name)).toEqual(['b']);
  });

  it('clients connecting with no delta in between share one snapshot; after a delta or a second, a fresh one', async () => {
    ctx = await startApp();
    const reads = jest.fn(() => []);
    ctx.hub.contribute('alerts', reads);
    // The gateway's clock only (expectEventually reads it too, and still ends once its condition holds).
    let clock = Date.now();
    const spy = jest.spyOn(Date, 'now').mockImplementation(() => clock);
    const snapshotOf = async (c: TestClient) => {
      await expectEventually(() => expect(c.messages[1]?.type).toBe('snapshot'));
      return c.messages[1];
    };
    try {
      const herd = Array.from({ length: 4 }, () => client());
      for (const c of herd) expect((await snapshotOf(c)).seq).toBe(ctx.hub.currentSeq);
      expect(reads).toHaveBeenCalledTimes(1);
      ctx.hub.publish('alert.raised', 'a', opaque({}));
      expect((await snapshotOf(client())).seq).toBe(ctx.hub.currentSeq);
      expect(reads).toHaveBeenCalledTimes(2);
      clock += 1000;
      await snapshotOf(client());
      expect(reads).toHaveBeenCalledTimes(3);
    } finally {
      spy.mockRestore();
    }
  });

  it('a burst of deltas published in one turn leaves in one socket write per client', async () => {
    ctx = await startApp();
    // The server side of each /ws connection, and how often Node hands it data to write (a system call each).
    const writes: number[] = [];
    (ctx.app.getHttpServer() as import('node:http').Server).prependListener(
      'upgrade',
      (_req: unknown, socket: import('node:net').Socket) => {
        const i = writes.push(0) - 1;
        const s = socket as unknown as Record<'_write' | '_writev', (...a: unknown[]) => unknown>;
        for (const m of ['_write', '_writev'] as const) {
          const original = s[m].bind(socket);
          s[m] = (...a: unknown[]) => {
            writes[i] += 1;
            return original(...a);
          };
        }
      },
    );
    const many = Array.from({ length: 3 }, () => client());
    await expectEventually(() => expect(many.every((c) => c.messages.length >= 2)).toBe(true));
    writes.fill(0);
    const first = ctx.hub.currentSeq + 1;
    for (let i = 0; i < 100; i++) ctx.hub.publish('call.updated', 'a', opaque({ i }));
    await expectEventually(() =>
      expect(many.every((c) => c.deltas().filter((d) => d.seq >= first).length === 100)).toBe(true),
    );
    expect(writes).toEqual([1, 1, 1]);
    for (const c of many)
      expect(c.deltas().map((d) => d.seq)).toEqual(Array.from({ length: 100 }, (_, i) => first + i));
  });

  it('sends deltas as text frames, the same bytes to every client', async () => {
    ctx = await startApp();
    const many = Array.from({ length: 3 }, () => client());
    const binary: boolean[] = [];
    for (const c of many) c.ws.on('message', (_d: Buffer, isBinary: boolean) => binary.push(isBinary));
    await expectEventually(() => expect(many.every((c) => c.messages.length >= 2)).toBe(true));
    const d = ctx.hub.publish('call.updated', 'a', opaque({ name: 'Zoë ☎' }));
    await expectEventually(() =>
      expect(many.every((c) => c.deltas().some((m) => m.seq === d.seq))).toBe(true),
    );
    expect(binary.length).toBeGreaterThan(0);
    expect(binary.every((b) => !b)).toBe(true);
    for (const c of many) expect(c.deltas().find((m) => m.seq === d.seq)?.data).toEqual({ name: 'Zoë ☎' });
  });

  it('with a viewer token: no token → close 4401; Bearer or ?token= → admitted', async () => {
    ctx = await startApp('auth: { viewerToken: view-123, adminToken: admin-456 }');
    const anonymous = client();
    const bearer = client('', { authorization: 'Bearer view-123' });
    const query = client('?token=admin-456');
    const wrong = client('?token=nope');
    await expectEventually(() => expect(anonymous.closeCode).toBe(4401));
    await expectEventually(() => expect(wrong.closeCode).toBe(4401));
    await expectEventually(() => expect(bearer.messages[0]).toEqual({ type: 'hello', protocol: 1 }));
    await expectEventually(() => expect(query.messages[1]?.type).toBe('snapshot'));
    expect(anonymous.messages).toEqual([]);
  });

  it('a bad subscribe closes with 4400; garbage gets an error message and the connection stays', async () => {
    ctx = await startApp();
    const c = client();
    await expectEventually(() => expect(c.messages).toHaveLength(2));
    c.ws.send('not json');
    await expectEventually(() => expect(c.messages.at(-1)).toMatchObject({ type: 'error' }));
    c.ws.send(JSON.stringify({ type: 'subscribe', topics: ['everything'] }));
    await expectEventually(() => expect(c.closeCode).toBe(4400));
  });

  it('hostile input: an oversized message (1009), a broken frame, and a flood of bad messages (4400) are dropped and counted', async () => {
    ctx = await startApp();
    const gateway = ctx.app.get(LiveGateway);
    const big = client();
    const broken = client();
    const flood = client();
    const good = client();
    await Promise.all([big.opened, broken.opened, flood.opened, good.opened]);
    big.ws.send('x'.repeat(MAX_CLIENT_MESSAGE_BYTES + 1));
    await expectEventually(() => expect(big.closeCode).toBe(1009));
    // A text frame that is not UTF-8: ws refuses it (1007).
    (broken.ws as unknown as { _socket: import('node:net').Socket })._socket.write(
      Buffer.from([0x81, 0x82, 0, 0, 0, 0, 0xc3, 0x28]),
    );
    await expectEventually(() => expect(broken.closeCode).toBeDefined());
    for (let i = 0; i <= MAX_BAD_MESSAGES; i++) flood.ws.send(`garbage ${i}`);
    await expectEventually(() => expect(flood.closeCode).toBe(4400));
    expect(flood.messages.filter((m) => m.type === 'error')).toHaveLength(MAX_BAD_MESSAGES);
    await expectEventually(() =>
      expect(gateway.dropped).toMatchObject({ oversized: 1, protocol: 1, bad_messages: 1, slow: 0 }),
    );
    // The well-behaved client is untouched.
    ctx.hub.publish('call.updated', 'a', opaque({ i: 1 }));
    await expectEventually(() => expect(good.deltas()).toHaveLength(1));
    expect(good.closeCode).toBeUndefined();
    expect(gateway.clientCount).toBe(1);
  });
});
