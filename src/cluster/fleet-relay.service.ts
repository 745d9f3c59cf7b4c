import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import type { Redis } from 'ioredis';
import { Counter, type Registry } from 'prom-client';
import type { Subscription } from 'rxjs';
import { PBXPULSE_CONFIG } from '../config/config.module';
import type { PbxpulseConfig } from '../config/config.types';
import { type FleetRelay, GatewayHub, type UnsequencedDelta } from '../gateway/gateway.hub';
import type { Delta, NodeView, Snapshot } from '../gateway/gateway.protocol';
import { METRICS_REGISTRY } from '../metrics/metrics.registry';
import { NodeOwnership } from '../state/node-ownership';
import { ClusterService } from './cluster.service';
import { FleetView, type NodePart } from './fleet-view';
import { KEY_PREFIX } from './lease.store';

const STREAM = `${KEY_PREFIX}deltas`;
const SEQ = `${KEY_PREFIX}deltas:seq`;
const PART = (node: string): string => `${KEY_PREFIX}part:${node}`;

// The fleet sequence number and the stream entry in one step, so entries are in `seq` order whoever
// appends. The entry id is `0-<seq>`. ARGV[2] (the newest seq the appending daemon has seen) keeps the
// numbering going up when Redis restarted without its data.
const APPEND = `
local seq = redis.call('INCR', KEYS[2])
local floor = tonumber(ARGV[2])
if seq <= floor then
  seq = floor + 1
  redis.call('SET', KEYS[2], seq)
end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '0-' .. seq, 'd', ARGV[1])
return seq`;

/** How often a watcher stores the part of a node that changed (what a joining daemon starts from). */
const PART_SAVE_MS = 5000;
/** XREAD wait; below the Redis link's command timeout. */
const READ_BLOCK_MS = 1000;
const RETRY_MS = 500;
/** Most deltas appended in one round trip. */
const APPEND_BATCH = 200;
const UNWATCHED = 'no daemon of the cluster watches this node now (its watcher stopped; takeover under way)';

/**
 * Cluster mode: one `/ws` view of the whole fleet from every daemon. Each daemon appends the deltas of
 * the nodes it watches to one Redis Stream (capped with MAXLEN ~ `gateway.replayBuffer`), which gives
 * them the fleet's `seq`; every daemon reads the stream, fans it out to its `/ws` clients and keeps a
 * mirror of the nodes it does not watch for its snapshots. A restarted daemon reloads the stream's tail,
 * so `?since=<seq>` resumes on any daemon. A watcher also stores each node's snapshot part every
 * few seconds, so a joining daemon's mirror starts complete.
 *
 * While Redis is unreachable, deltas wait in a queue bounded by `gateway.replayBuffer` (the oldest are
 * dropped and counted) and go out in order when it returns.
 */
@Injectable()
export class FleetRelayService implements FleetRelay, OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Fleet relay');
  private readonly view: FleetView;
  private readonly capacity: number;
  private readonly queue: UnsequencedDelta[] = [];
  private readonly dirty = new Set<string>();
  private readonly dropped: Counter | undefined;
  private reader: Redis | undefined;
  private subscription: Subscription | undefined;
  private pumping = false;
  private reading = false;
  private stopped = false;
  private partTimer: NodeJS.Timeout | undefined;

  constructor(
    @Inject(PBXPULSE_CONFIG) private readonly config: PbxpulseConfig,
    private readonly hub: GatewayHub,
    private readonly cluster: ClusterService,
    private readonly ownership: NodeOwnership,
    @Inject(METRICS_REGISTRY) registry: Registry,
  ) {
    this.view = new FleetView(config.nodes.map((n) => n.name));
    this.capacity = config.gateway.replayBuffer;
    if (!config.cluster) return;
    /** Deltas of this daemon's nodes lost while Redis was unreachable longer than the queue holds. */
    this.dropped = new Counter({
      name: 'pbxpulse_cluster_deltas_dropped_total',
      help: 'Deltas of the nodes this daemon watches that were dropped while Redis was unreachable (queue full).',
      registers: [registry],
    });
  }

  onApplicationBootstrap(): void {
    const link = this.cluster.redisLink;
    if (!link) return;
    this.hub.useRelay(this, []);
    this.subscription = link.status.changes.subscribe((s) => {
      if (s.status !== 'up') return;
      this.pump();
      this.startReading();
    });
    this.partTimer = setInterval(() => {
      this.saveParts().catch((err: Error) => this.logger.debug(`storing node parts failed: ${err.message}`));
    }, PART_SAVE_MS);
  }

  onModuleDestroy(): void {
    this.stopped = true;
    clearInterval(this.partTimer);
    this.subscription?.unsubscribe();
    this.reader?.disconnect();
    this.reader = undefined;
  }

  send(delta: UnsequencedDelta): void {
    // A daemon that just gave a node away still publishes its links closing: not the fleet's view.
    if (delta.type !== 'control.action' && !this.ownership.watches(delta.node)) return;
    if (this.queue.length >= this.capacity) {
      this.queue.shift();
      this.dropped?.inc();
    }
    this.queue.push(delta);
    this.dirty.add(delta.node);
    this.pump();
  }

  snapshot(local: Snapshot): Snapshot {
    const merged = this.view.merge(local, (node) => this.ownership.watches(node));
    return { ...merged, nodes: merged.nodes.map((n) => this.honest(n)) };
  }

  get isClustered(): boolean {
    return this.cluster.isClustered;
  }

  /**
   * For the REST routes: a node another daemon watches, as the fleet's stream shows it; undefined for a
   * node this daemon watches (its own stores answer) and for a single daemon.
   */
  remote(node: string): NodePart | undefined {
    if (!this.cluster.isClustered || this.ownership.watches(node)) return undefined;
    const part = this.view.part(node);
    return part && { ...part, node: part.node && this.honest(part.node) };
  }

  /**
   * A node no daemon held at the last lease tick is shown down, whatever its last watcher said before
   * it died: the takeover is under way.
   */
  private honest(view: NodeView): NodeView {
    if (!this.ownership.cluster()?.unwatched.includes(view.name)) return view;
    const down = { status: 'down' as const, since: view.ami.since, lastError: UNWATCHED };
    return { ...view, ami: { ...down, since: view.ami.since }, ari: { ...down, since: view.ari.since } };
  }

  /** Appends the queued deltas in order, one at a time; stops at the first failure (Redis down). */
  private pump(): void {
    const link = this.cluster.redisLink;
    if (this.pumping || !link?.isUp || this.queue.length === 0) return;
    this.pumping = true;
    const next = async (): Promise<void> => {
      while (this.queue.length > 0 && link.isUp && !this.stopped) {
        // What queued up meanwhile goes in one round trip, in order (a pipeline runs in sequence).
        const batch = this.queue.slice(0, APPEND_BATCH);
        const pipeline = link.redis.pipeline();
        for (const d of batch) {
          pipeline.eval(APPEND, 2, STREAM, SEQ, JSON.stringify(d), this.hub.currentSeq, this.capacity);
        }
        const replies = (await pipeline.exec()) ?? [];
        const done = replies.findIndex(([err]) => err !== null);
        // Appended up to the first failure; the rest stays queued for the next try.
        this.queue.splice(0, done < 0 ? batch.length : done);
        if (done >= 0) throw replies[done][0] as Error;
      }
    };
    next()
      .catch((err: Error) => this.logger.debug(`append failed, kept in the queue: ${err.message}`))
      .finally(() => {
        this.pumping = false;
      });
  }

  /** The read loop: catch up (parts, then the stream's tail), then follow the stream. */
  private startReading(): void {
    if (this.reading || this.stopped) return;
    const link = this.cluster.redisLink;
    if (!link) return;
    this.reading = true;
    this.reader ??= link.redis.duplicate();
    const reader = this.reader;
    const loop = async (): Promise<void> => {
      if (reader.status === 'wait') await reader.connect();
      await this.catchUp(reader);
      while (!this.stopped) {
        const res = await reader.xread(
          'COUNT',
          1000,
          'BLOCK',
          READ_BLOCK_MS,
          'STREAMS',
          STREAM,
          `0-${this.hub.currentSeq}`,
        );
        for (const [, entries] of res ?? []) this.ingestEntries(entries);
      }
    };
    loop()
      .catch((err: Error) => this.logger.debug(`stream read stopped: ${err.message}`))
      .finally(() => {
        this.reading = false;
        // Redis is back when the link says so; until then nothing to read.
        if (!this.stopped && link.isUp) setTimeout(() => this.startReading(), RETRY_MS);
      });
  }

  private async catchUp(reader: Redis): Promise<void> {
    // After a Redis restart the counter is gone: never number below what this daemon has seen.
    await reader.eval(
      "if tonumber(redis.call('GET', KEYS[1]) or '0') < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end",
      1,
      SEQ,
      this.hub.currentSeq,
    );
    const names = this.config.nodes.map((n) => n.name);
    const parts = await reader.mget(...names.map(PART));
    names.forEach((node, i) => {
      const text = parts[i];
      if (!text || this.ownership.watches(node)) return;
      const part = JSON.parse(text) as NodePart;
      if (part.seq > (this.view.part(node)?.seq ?? 0)) this.view.load(node, part);
    });
    const tail = (await reader.xrevrange(STREAM, '+', '-', 'COUNT', this.capacity)).reverse();
    this.ingestEntries(tail);
  }

  private ingestEntries(entries: Array<[string, string[]]>): void {
    for (const [id, fields] of entries) {
      const seq = Number(id.slice(id.indexOf('-') + 1));
      const body = fields[1];
      if (!Number.isSafeInteger(seq) || body === undefined) continue;
      const delta = { ...(JSON.parse(body) as UnsequencedDelta), seq } as Delta;
      this.view.apply(delta);
      this.hub.ingest(delta);
    }
  }

  /** Stores the snapshot part of each watched node that changed since the last time. */
  private async saveParts(): Promise<void> {
    const link = this.cluster.redisLink;
    if (!link?.isUp || this.dirty.size === 0) return;
    const nodes = [...this.dirty].filter((n) => this.ownership.watches(n));
    this.dirty.clear();
    if (nodes.length === 0) return;
    const local = this.hub.localSnapshot();
    const pipeline = link.redis.pipeline();
    for (const node of nodes) {
      const part: NodePart = {
        seq: local.seq,
        node: local.nodes.find((n) => n.name === node) ?? null,
        calls: local.calls.filter((c) => c.node === node),
        endpoints: local.endpoints.filter((e) => e.node === node),
        alerts: local.alerts.filter((a) => a.node === node),
      };
      pipeline.set(PART(node), JSON.stringify(part));
    }
    await pipeline.exec();
  }
}
