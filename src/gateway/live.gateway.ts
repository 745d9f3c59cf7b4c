import {
  type BeforeApplicationShutdown,
  Inject,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleDestroy,
} from '@nestjs/common';
import { type OnGatewayConnection, WebSocketGateway } from '@nestjs/websockets';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import { roleOf, tokenFrom } from '../common/token-auth';
import { PBXPULSE_CONFIG } from '../config/config.module';
import type { PbxpulseConfig } from '../config/config.types';
import { GatewayHub } from './gateway.hub';
import {
  CLOSE_BAD_MESSAGE,
  CLOSE_TOO_SLOW,
  CLOSE_UNAUTHORIZED,
  DELTA_TOPIC,
  PROTOCOL_VERSION,
  TOPICS,
  type Delta,
  type Snapshot,
  type Topic,
} from './gateway.protocol';

/** How long shutdown waits for the /ws clients to answer their 1001 close before cutting them. */
const SHUTDOWN_CLOSE_WAIT_MS = 1500;

interface Client {
  ws: WebSocket;
  /** The TCP socket under `ws`, corked for the rest of a turn once something is written to it. */
  socket: Socket;
  /** Budgeted bytes written this turn (held back by the cork, so not a sign of a slow reader). */
  corked: number;
  alive: boolean;
  /**
   * Unsent bytes that don't count against `gateway.maxBufferedBytes`: what is left of snapshots and
   * replays, estimated as what they added to the buffer, shrunk to the lowest level seen since.
   */
  exempt: number;
  nodes?: ReadonlySet<string>;
  topics?: ReadonlySet<Topic>;
  /** Messages that were not a valid `subscribe` so far. */
  badMessages: number;
}

/** How long a snapshot may be reused for clients connecting while no delta was published. */
const SNAPSHOT_REUSE_MS = 1000;

/**
 * Why a client was dropped: the `reason` label of `pbxpulse_gateway_clients_dropped_total`. `oversized`:
 * a message over `MAX_CLIENT_MESSAGE_BYTES` (closed 1009); `protocol`: a broken frame or bad UTF-8
 * (closed 1002/1007 by ws); `bad_messages`: more than `MAX_BAD_MESSAGES` messages that are not a
 * subscribe (closed 4400).
 */
export type DropReason = 'slow' | 'heartbeat' | 'oversized' | 'protocol' | 'bad_messages';

/**
 * Largest message a client may send. The only client message is a `subscribe` of a few hundred bytes;
 * ws would otherwise buffer up to 100 MiB of whatever a client sends.
 */
export const MAX_CLIENT_MESSAGE_BYTES = 64 * 1024;
/** A client may get this many messages wrong (each answered with an error); the next one closes it. */
export const MAX_BAD_MESSAGES = 10;

type SendMode = 'budgeted' | 'bulk';

/**
 * `/ws`: a snapshot, then ordered deltas, for every viewer. Transport only: the hub orders and buffers,
 * the stores produce. A client that stops reading is closed with 1013 once the deltas it has not taken
 * pass `gateway.maxBufferedBytes`, so memory stays bounded and the others are not held back. A snapshot
 * or replay is as big as the state, not a sign of a slow client, so it is left out of that budget; a
 * client that never drains it is still dropped by the delta budget or, not answering pings queued
 * behind it, by the heartbeat.
 */
@WebSocketGateway({ path: '/ws', maxPayload: MAX_CLIENT_MESSAGE_BYTES })
export class LiveGateway
  implements
    OnGatewayConnection,
    OnApplicationBootstrap,
    OnModuleDestroy,
    BeforeApplicationShutdown,
    OnApplicationShutdown
{
  private readonly logger = new Logger(LiveGateway.name);
  private readonly clients = new Set<Client>();
  readonly dropped: Record<DropReason, number> = {
    slow: 0,
    heartbeat: 0,
    oversized: 0,
    protocol: 0,
    bad_messages: 0,
  };
  private unlisten?: () => void;
  private heartbeat?: NodeJS.Timeout;
  /** The snapshot last sent, per filter: see `sendSnapshot`. */
  private snapshots?: { seq: number; at: number; snap?: Snapshot; byFilter: Map<string, Buffer> };
  /** Clients whose socket is corked until the end of this turn. */
  private readonly corkedClients: Client[] = [];

  constructor(
    @Inject(PBXPULSE_CONFIG) private readonly config: PbxpulseConfig,
    private readonly hub: GatewayHub,
  ) {}

  get clientCount(): number {
    return this.clients.size;
  }

  onApplicationBootstrap(): void {
    this.unlisten = this.hub.listen((delta) => this.fanout(delta));
    this.heartbeat = setInterval(() => this.beat(), this.config.gateway.heartbeatIntervalMs);
  }

  onModuleDestroy(): void {
    this.unlisten?.();
    clearInterval(this.heartbeat);
    for (const c of this.clients) c.ws.close(1001, 'server shutting down');
  }

  /**
   * The close frames of `onModuleDestroy` may still wait behind deltas the clients have not read yet:
   * give the closing handshakes up to SHUTDOWN_CLOSE_WAIT_MS (the process deadline is 4.5 s) before Nest
   * disposes of the HTTP and WebSocket servers, so that viewers see 1001 (going away) rather than 1006.
   */
  async beforeApplicationShutdown(): Promise<void> {
    const open = [...this.clients].filter((c) => c.ws.readyState !== WebSocket.CLOSED);
    if (open.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(open.map((c) => new Promise<void>((resolve) => c.ws.once('close', () => resolve())))),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, SHUTDOWN_CLOSE_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
  }

  /** Whatever did not answer its close in time is cut. */
  onApplicationShutdown(): void {
    for (const c of this.clients) c.ws.terminate();
    this.clients.clear();
  }

  handleConnection(ws: WebSocket, req: IncomingMessage): void {
    const url = new URL(req.url ?? '/ws', 'http://localhost');
    if (this.config.auth.viewerToken) {
      const token = tokenFrom(req.headers.authorization, url.searchParams.get('token') ?? undefined);
      if (!roleOf(this.config.auth, token)) {
        ws.close(CLOSE_UNAUTHORIZED, 'viewer or admin token required');
        return;
      }
    }
    const client: Client = { ws, socket: req.socket, corked: 0, alive: true, exempt: 0, badMessages: 0 };
    this.clients.add(client);
    ws.on('close', () => this.clients.delete(client));
    ws.on('pong', () => (client.alive = true));
    // ws has already closed the socket (1009 too big, 1002/1007 broken frame): count why.
    ws.on('error', (err: Error & { code?: string }) =>
      this.forget(client, err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'oversized' : 'protocol'),
    );
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) =>
      this.onClientMessage(
        client,
        isBinary
          ? ''
          : Buffer.concat(Array.isArray(data) ? data : [Buffer.from(data as ArrayBuffer)]).toString('utf8'),
      ),
    );

    this.send(client, JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION }));
    const since = url.searchParams.get('since');
    const replay = since !== null && /^\d+$/.test(since) ? this.hub.since(Number(since)) : undefined;
    if (replay && !replay.some((d) => d.type === 'state.resynced')) {
      for (const d of replay) this.sendDelta(client, d, JSON.stringify(d), 'bulk');
    } else {
      this.sendSnapshot(client);
    }
  }

  private onClientMessage(client: Client, text: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      msg = undefined;
    }
    const m = msg as { type?: unknown; nodes?: unknown; topics?: unknown } | undefined;
    if (!m || m.type !== 'subscribe') {
      client.badMessages += 1;
      if (client.badMessages > MAX_BAD_MESSAGES) {
        this.forget(client, 'bad_messages');
        client.ws.close(CLOSE_BAD_MESSAGE, `more than ${MAX_BAD_MESSAGES} messages that are not a subscribe`);
        return;
      }
      this.send(client, JSON.stringify({ type: 'error', message: 'expected {"type":"subscribe",…}' }));
      return;
    }
    const nodes = m.nodes;
    const topics = m.topics;
    const known = new Set(this.config.nodes.map((n) => n.name));
    if (
      (nodes !== undefined &&
        (!Array.isArray(nodes) || nodes.some((n) => typeof n !== 'string' || !known.has(n)))) ||
      (topics !== undefined && (!Array.isArray(topics) || topics.some((t) => !TOPICS.includes(t as Topic))))
    ) {
      client.ws.close(
        CLOSE_BAD_MESSAGE,
        `subscribe: nodes must be configured node names, topics among ${TOPICS.join(', ')}`,
      );
      return;
    }
    client.nodes = nodes === undefined ? undefined : new Set(nodes as string[]);
    client.topics = topics === undefined ? undefined : new Set(topics as Topic[]);
    this.send(
      client,
      JSON.stringify({
        type: 'subscribed',
        nodes: nodes ?? null,
        topics: topics ?? null,
        seq: this.hub.currentSeq,
      }),
    );
  }

  private fanout(delta: Delta): void {
    // Serialised and UTF-8 encoded once for everyone: handed a string, ws measures and encodes it again
    // for every client.
    const bytes = Buffer.from(JSON.stringify(delta));
    for (const client of this.clients) {
      this.sendDelta(client, delta, bytes);
      // A resync replaced the node's state: everyone gets a fresh snapshot right after it (assembled
      // once for all of them: the seq just moved).
      if (delta.type === 'state.resynced') this.sendSnapshot(client);
    }
  }

  private sendDelta(client: Client, delta: Delta, data: string | Buffer, mode: SendMode = 'budgeted'): void {
    if (client.nodes && !client.nodes.has(delta.node)) return;
    const topic = DELTA_TOPIC[delta.type];
    if (client.topics && topic !== 'system' && !client.topics.has(topic)) return;
    this.send(client, data, mode);
  }

  /**
   * The snapshot is as big as the state (megabytes for a 10k-endpoint PBX): assembled and serialised
   * for each client, a thousand viewers reconnecting, or a resync in front of them, would block the
   * event loop for a minute, and AMI with it. So it is built once per filter and reused while no delta
   * was published since and it is under `SNAPSHOT_REUSE_MS` old: to a client it is then the same as
   * having connected a moment earlier.
   */
  private sendSnapshot(client: Client): void {
    const seq = this.hub.currentSeq;
    const now = Date.now();
    let cache = this.snapshots;
    if (!cache || cache.seq !== seq || now - cache.at >= SNAPSHOT_REUSE_MS) {
      cache = this.snapshots = { seq, at: now, byFilter: new Map<string, Buffer>() };
    }
    const key = filterKey(client);
    let bytes = cache.byFilter.get(key);
    if (!bytes) {
      cache.snap ??= this.hub.snapshot();
      bytes = Buffer.from(JSON.stringify(filtered(client, cache.snap)));
      cache.byFilter.set(key, bytes);
    }
    this.send(client, bytes, 'bulk');
  }

  /**
   * `budgeted` writes (deltas, replies) count against `maxBufferedBytes`; `bulk` writes (a snapshot,
   * a replay) don't: what they add to the buffer becomes exempt, and the deltas queued behind them
   * are still measured from there.
   */
  private send(client: Client, data: string | Buffer, mode: SendMode = 'budgeted'): void {
    const ws = client.ws;
    if (ws.readyState !== WebSocket.OPEN) return;
    this.cork(client);
    const before = ws.bufferedAmount;
    // Never more exempt than is unsent: a client draining a snapshot may queue deltas in its place,
    // so its unsent data stays within the snapshot's size plus the budget.
    client.exempt = Math.min(client.exempt, before);
    // A Buffer goes out as a binary frame unless told otherwise: the protocol is JSON text frames.
    ws.send(data, { binary: false });
    const added = Math.max(0, ws.bufferedAmount - before);
    if (mode === 'bulk') client.exempt += added;
    else {
      client.corked += added;
      if (ws.bufferedAmount - client.exempt - client.corked > this.config.gateway.maxBufferedBytes)
        this.drop(client, 'slow');
    }
  }

  /**
   * Corks the client's socket until the end of this turn: the deltas of one burst (a coalescer flush
   * publishes hundreds at once) leave in one write per client instead of one system call per delta
   * and client.
   */
  private cork(client: Client): void {
    if (client.socket.writableCorked > 0) return;
    client.socket.cork();
    if (this.corkedClients.push(client) === 1) process.nextTick(() => this.uncorkAll());
  }

  private uncorkAll(): void {
    for (const client of this.corkedClients.splice(0)) {
      client.corked = 0;
      client.socket.uncork();
    }
  }

  /** Stops sending to a client and counts why; false if it was already gone. */
  private forget(client: Client, reason: DropReason): boolean {
    if (!this.clients.delete(client)) return false;
    this.dropped[reason] += 1;
    this.logger.warn(`dropped a WebSocket client (${DROP_TEXT[reason]})`);
    return true;
  }

  private drop(client: Client, reason: 'slow' | 'heartbeat'): void {
    if (!this.forget(client, reason)) return;
    if (reason === 'slow') {
      client.ws.close(CLOSE_TOO_SLOW, 'client too slow');
      // Its close frame waits behind the unsent data: don't wait for it.
      setTimeout(() => client.ws.terminate(), 1000).unref();
    } else {
      client.ws.terminate();
    }
  }

  private beat(): void {
    for (const client of this.clients) {
      if (!client.alive) {
        this.drop(client, 'heartbeat');
        continue;
      }
      client.alive = false;
      client.ws.ping();
    }
  }
}

const DROP_TEXT: Record<DropReason, string> = {
  slow: 'not reading',
  heartbeat: 'no pong',
  oversized: `a message over ${MAX_CLIENT_MESSAGE_BYTES} bytes`,
  protocol: 'a broken WebSocket frame',
  bad_messages: `more than ${MAX_BAD_MESSAGES} bad messages`,
};

/** Clients with the same filter get the same snapshot. */
function filterKey(client: Client): string {
  const list = (s?: ReadonlySet<string>) => (s ? [...s].sort().join(',') : '*');
  return `${list(client.nodes)}|${list(client.topics)}`;
}

/** The snapshot as `client`'s filter shows it. */
function filtered(client: Client, snap: Snapshot): Snapshot {
  const nodes = client.nodes;
  const byNode = <I extends { node: string }>(items: I[]) =>
    nodes ? items.filter((i) => nodes.has(i.node)) : items;
  const want = (t: Topic) => !client.topics || client.topics.has(t);
  return {
    ...snap,
    nodes: nodes ? snap.nodes.filter((n) => nodes.has(n.name)) : snap.nodes,
    calls: want('calls') ? byNode(snap.calls) : [],
    endpoints: want('registrations') ? byNode(snap.endpoints) : [],
    alerts: want('alerts') ? byNode(snap.alerts) : [],
  };
}
