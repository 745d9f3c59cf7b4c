import {
  Inject,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleDestroy,
} from '@nestjs/common';
import { type OnGatewayConnection, WebSocketGateway } from '@nestjs/websockets';
import type { IncomingMessage } from 'node:http';
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

interface Client {
  ws: WebSocket;
  alive: boolean;
  /**
   * Unsent bytes that don't count against `gateway.maxBufferedBytes`: what is left of snapshots and
   * replays, estimated as what they added to the buffer, shrunk to the lowest level seen since.
   */
  exempt: number;
  nodes?: ReadonlySet<string>;
  topics?: ReadonlySet<Topic>;
}

/** Why a client was dropped: the `reason` label of `pbxpulse_gateway_clients_dropped_total`. */
export type DropReason = 'slow' | 'heartbeat';

type SendMode = 'budgeted' | 'bulk';

/**
 * `/ws`: a snapshot, then ordered deltas, for every viewer. Transport only: the hub orders and buffers,
 * the stores produce. A client that stops reading is closed with 1013 once the deltas it has not taken
 * pass `gateway.maxBufferedBytes`, so memory stays bounded and the others are not held back. A snapshot
 * or replay is as big as the state, not a sign of a slow client, so it is left out of that budget; a
 * client that never drains it is still dropped by the delta budget or, not answering pings queued
 * behind it, by the heartbeat.
 */
@WebSocketGateway({ path: '/ws' })
export class LiveGateway
  implements OnGatewayConnection, OnApplicationBootstrap, OnModuleDestroy, OnApplicationShutdown
{
  private readonly logger = new Logger(LiveGateway.name);
  private readonly clients = new Set<Client>();
  readonly dropped: Record<DropReason, number> = { slow: 0, heartbeat: 0 };
  private unlisten?: () => void;
  private heartbeat?: NodeJS.Timeout;

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
    const client: Client = { ws, alive: true, exempt: 0 };
    this.clients.add(client);
    ws.on('close', () => this.clients.delete(client));
    ws.on('pong', () => (client.alive = true));
    ws.on('error', () => undefined);
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
    const text = JSON.stringify(delta);
    for (const client of this.clients) {
      this.sendDelta(client, delta, text);
      // A resync replaced the node's state: everyone gets a fresh snapshot right after it.
      if (delta.type === 'state.resynced') this.sendSnapshot(client);
    }
  }

  private sendDelta(client: Client, delta: Delta, text: string, mode: SendMode = 'budgeted'): void {
    if (client.nodes && !client.nodes.has(delta.node)) return;
    const topic = DELTA_TOPIC[delta.type];
    if (client.topics && topic !== 'system' && !client.topics.has(topic)) return;
    this.send(client, text, mode);
  }

  private sendSnapshot(client: Client): void {
    const snap = this.hub.snapshot();
    const byNode = <I extends { node: string }>(items: I[]) =>
      client.nodes ? items.filter((i) => client.nodes!.has(i.node)) : items;
    const want = (t: Topic) => !client.topics || client.topics.has(t);
    const filtered: Snapshot = {
      ...snap,
      nodes: client.nodes ? snap.nodes.filter((n) => client.nodes!.has(n.name)) : snap.nodes,
      calls: want('calls') ? byNode(snap.calls) : [],
      endpoints: want('registrations') ? byNode(snap.endpoints) : [],
      alerts: want('alerts') ? byNode(snap.alerts) : [],
    };
    this.send(client, JSON.stringify(filtered), 'bulk');
  }

  /**
   * `budgeted` writes (deltas, replies) count against `maxBufferedBytes`; `bulk` writes (a snapshot,
   * a replay) don't: what they add to the buffer becomes exempt, and the deltas queued behind them
   * are still measured from there.
   */
  private send(client: Client, text: string, mode: SendMode = 'budgeted'): void {
    const ws = client.ws;
    if (ws.readyState !== WebSocket.OPEN) return;
    const before = ws.bufferedAmount;
    // Never more exempt than is unsent: a client draining a snapshot may queue deltas in its place,
    // so its unsent data stays within the snapshot's size plus the budget.
    client.exempt = Math.min(client.exempt, before);
    ws.send(text);
    if (mode === 'bulk') client.exempt += Math.max(0, ws.bufferedAmount - before);
    else if (ws.bufferedAmount - client.exempt > this.config.gateway.maxBufferedBytes)
      this.drop(client, 'slow');
  }

  private drop(client: Client, reason: DropReason): void {
    if (!this.clients.delete(client)) return;
    this.dropped[reason] += 1;
    this.logger.warn(`dropped a WebSocket client (${reason === 'slow' ? 'not reading' : 'no pong'})`);
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
