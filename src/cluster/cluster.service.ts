import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Subscription } from 'rxjs';
import { AmiService } from '../ami/ami.service';
import { AriService } from '../ari/ari.service';
import { PBXPULSE_CONFIG } from '../config/config.module';
import type { PbxpulseConfig } from '../config/config.types';
import { METRICS_REGISTRY } from '../metrics/metrics.registry';
import { NodeOwnership } from '../state/node-ownership';
import { ClusterUnavailableError, NodeWatchedElsewhereError } from './cluster.errors';
import { planLeases } from './lease.planner';
import { type LeaseHolder, LeaseStore } from './lease.store';
import { RedisLink } from './redis.link';

/**
 * Lease timings. A dead daemon's nodes are free `LEASE_TTL_MS` after its last renewal and taken at the
 * next tick of a survivor: at most LEASE_TTL_MS + TICK_MS (12 s) plus the connect, within the 15 s the
 * cluster promises.
 */
export const CLUSTER_TIMINGS = {
  tickMs: 2000,
  leaseTtlMs: 10_000,
  daemonTtlMs: 10_000,
  /** Surplus nodes handed over per tick by one daemon: a joining daemon's share arrives gradually. */
  maxReleasesPerTick: 2,
  /** A node free this many ticks is taken whatever the fair share. */
  orphanTicks: 3,
  /** A node given away is not taken back for this many ticks (it goes to the daemon that needs it). */
  releaseMemoryTicks: 5,
  /** A control action needs at least this much time left on the node's lease. */
  actionMarginMs: 3000,
} as const;

export type LeaseChange = 'acquired' | 'released' | 'lost' | 'reclaimed';

/**
 * Cluster mode (`cluster.redis`): every `tickMs` the daemon refreshes its heartbeat, renews the leases
 * it holds, and takes or gives away nodes toward an even spread (lease.planner.ts). It opens a node's
 * AMI and ARI links only while holding the node's lease and closes them before giving it away. While
 * Redis is unreachable it keeps the nodes it holds (degraded) and takes none; when Redis returns, a
 * lease that another daemon was granted meanwhile (higher fencing token) is given up at once.
 *
 * Without `cluster:` this service does nothing and every node is watched, as before.
 */
@Injectable()
export class ClusterService implements OnApplicationBootstrap, OnModuleDestroy {
  readonly daemonId = `${hostname().replace(/[^A-Za-z0-9_-]/g, '')}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private readonly logger = new Logger(ClusterService.name);
  private readonly link: RedisLink | undefined;
  private readonly leases: LeaseStore | undefined;
  private readonly nodes: string[];
  /** Where the other daemons reach this daemon's HTTP server (stored with its heartbeat). */
  readonly advertiseUrl: string;
  /** Held nodes and their fencing tokens. */
  private readonly held = new Map<string, number>();
  private readonly releasedAt = new Map<string, number>();
  private readonly freeTicks = new Map<string, number>();
  private readonly changes: Counter<'change'> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private subscription: Subscription | undefined;
  private ticking: Promise<void> | undefined;
  private tickCount = 0;
  /** No node is taken before this tick: daemons started together first see each other. */
  private settleUntilTick = 0;
  private live: string[] = [];
  private unwatched: string[] = [];
  private redisEverUp = false;
  private degradedLogged = false;
  private stopping = false;
  /** Ticks to wait after Redis returns: every holder's reconnect (capped backoff) lands within it. */
  private readonly returnSettleTicks: number;

  constructor(
    @Inject(PBXPULSE_CONFIG) config: PbxpulseConfig,
    private readonly ami: AmiService,
    private readonly ari: AriService,
    private readonly ownership: NodeOwnership,
    @Inject(METRICS_REGISTRY) registry: Registry,
  ) {
    this.nodes = config.nodes.map((n) => n.name);
    this.advertiseUrl = config.cluster?.advertiseUrl ?? `http://${hostname()}:${config.http.port}`;
    const c = config.connections;
    this.returnSettleTicks = Math.ceil(c.reconnectMaxDelayMs / CLUSTER_TIMINGS.tickMs) + 1;
    if (!config.cluster) return;
    const link = new RedisLink({
      url: config.cluster.redis,
      reconnectInitialDelayMs: c.reconnectInitialDelayMs,
      reconnectMaxDelayMs: c.reconnectMaxDelayMs,
      commandTimeoutMs: Math.min(c.actionTimeoutMs, CLUSTER_TIMINGS.tickMs),
      connectTimeoutMs: c.connectTimeoutMs,
    });
    this.link = link;
    this.leases = new LeaseStore(() => link.redis);
    this.publishView();
    this.changes = this.registerMetrics(registry, link);
  }

  get isClustered(): boolean {
    return this.link !== undefined;
  }

  /** Cluster mode: the daemon's Redis link (shared by the leases and the `/ws` relay). */
  get redisLink(): RedisLink | undefined {
    return this.link;
  }

  onApplicationBootstrap(): void {
    const link = this.link;
    if (!link) return;
    this.logger.log(`cluster member ${this.daemonId}, Redis ${link.display}`);
    this.subscription = link.status.changes.subscribe((s) => {
      if (s.status === 'up') {
        // At start, one tick lets daemons started together see each other before taking nodes. When
        // Redis returns (perhaps without its data), every holder first renews or takes back its leases:
        // nobody takes a free node until all daemons have had the time to reconnect.
        this.settleUntilTick = this.tickCount + (this.redisEverUp ? this.returnSettleTicks : 1);
        this.redisEverUp = true;
        this.runTick();
      } else if (this.redisEverUp && !this.degradedLogged) {
        this.degradedLogged = true;
        const held = [...this.held.keys()].join(', ') || 'no node';
        this.logger.warn(
          `Redis unreachable: degraded, still watching ${held}; no takeovers until it returns`,
        );
      }
      if (s.status === 'up') this.degradedLogged = false;
      this.publishView();
    });
    link.start();
    this.timer = setInterval(() => this.runTick(), CLUSTER_TIMINGS.tickMs);
  }

  /** Closes the held nodes' links, then gives their leases away so the others take over at once. */
  async onModuleDestroy(): Promise<void> {
    const leases = this.leases;
    if (!this.link || !leases) return;
    this.stopping = true;
    clearInterval(this.timer);
    this.subscription?.unsubscribe();
    await this.ticking;
    const held = [...this.held];
    await Promise.all(held.map(([node]) => this.closeLinks(node)));
    if (this.link.isUp) {
      await Promise.all(
        held.map(([node, token]) => leases.release(node, this.daemonId, token).catch(() => false)),
      );
      await leases.leave(this.daemonId).catch(() => undefined);
    }
    this.held.clear();
    await this.link.stop();
  }

  /**
   * Before a control action: resolves only when this daemon holds the node's lease with at least
   * `actionMarginMs` left, proven in Redis now. Otherwise `NodeWatchedElsewhereError` (409) or, while
   * Redis is unreachable, `ClusterUnavailableError` (503): a degraded daemon may still watch a node
   * that another one has taken meanwhile, so it never acts on it. A single daemon always may.
   */
  async assertMayAct(node: string): Promise<void> {
    if (!this.link || !this.leases) return;
    const token = this.held.get(node);
    if (token === undefined) throw new NodeWatchedElsewhereError(node);
    if (!this.link.isUp) throw new ClusterUnavailableError(node);
    let left: number | undefined;
    try {
      left = await this.leases.remaining(node, this.daemonId, token);
    } catch {
      throw new ClusterUnavailableError(node);
    }
    if (left === undefined) {
      await this.drop(node, 'lost');
      throw new NodeWatchedElsewhereError(node);
    }
    if (left < CLUSTER_TIMINGS.actionMarginMs) throw new ClusterUnavailableError(node);
  }

  /**
   * Cluster mode: who holds the node's lease now, as Redis has it (one round trip), with the URL the
   * holder advertises. Undefined when nobody holds it; rejects when Redis does not answer.
   */
  async holderOf(node: string): Promise<LeaseHolder | undefined> {
    if (!this.leases) return undefined;
    return this.leases.holder(node);
  }

  private runTick(): void {
    if (this.stopping || this.ticking) return;
    this.ticking = this.tick()
      .catch((err: Error) => {
        // Redis went away mid-tick: the link's status says so; held nodes stay watched.
        this.logger.debug(`lease tick failed: ${err.message}`);
      })
      .finally(() => {
        this.ticking = undefined;
        this.publishView();
      });
  }

  private async tick(): Promise<void> {
    const leases = this.leases;
    if (!leases || !this.link?.isUp) return;
    this.tickCount += 1;
    const t = CLUSTER_TIMINGS;
    this.live = await leases.heartbeat(this.daemonId, t.daemonTtlMs, this.advertiseUrl);

    const renewals = await Promise.all(
      [...this.held].map(async ([node, token]) => ({
        node,
        outcome: await leases.renew(node, this.daemonId, token, t.leaseTtlMs),
      })),
    );
    for (const { node, outcome } of renewals) {
      if (outcome === 'lost') await this.drop(node, 'lost');
      else if (outcome === 'reclaimed') this.count('reclaimed', node);
    }

    const owners = await leases.owners(this.nodes);
    for (const node of this.nodes) {
      if (owners.get(node) === undefined) this.freeTicks.set(node, (this.freeTicks.get(node) ?? 0) + 1);
      else this.freeTicks.delete(node);
    }
    for (const [node, at] of this.releasedAt) {
      if (this.tickCount - at > t.releaseMemoryTicks) this.releasedAt.delete(node);
    }
    if (this.tickCount <= this.settleUntilTick) {
      this.unwatched = this.nodes.filter((n) => owners.get(n) === undefined);
      return;
    }

    const plan = planLeases({
      self: this.daemonId,
      nodes: this.nodes,
      live: this.live,
      owners,
      held: new Set(this.held.keys()),
      recentlyReleased: new Set(this.releasedAt.keys()),
      freeTicks: this.freeTicks,
      maxReleasesPerTick: t.maxReleasesPerTick,
      orphanTicks: t.orphanTicks,
    });
    for (const node of plan.release) {
      const token = this.held.get(node);
      if (token === undefined) continue;
      // Links first: the next holder must never overlap with us on the PBX.
      await this.drop(node, 'released');
      await leases.release(node, this.daemonId, token);
      owners.set(node, undefined);
    }
    for (const node of plan.acquire) {
      const token = await leases.acquire(node, this.daemonId, t.leaseTtlMs);
      if (token === undefined) continue;
      this.held.set(node, token);
      owners.set(node, this.daemonId);
      this.freeTicks.delete(node);
      this.count('acquired', node, `token ${token}`);
      this.ownership.setWatched(node, true);
      this.ami.watch(node);
      this.ari.watch(node);
    }
    this.unwatched = this.nodes.filter((n) => owners.get(n) === undefined);
  }

  /** Stop watching a node: it was handed over or its lease was lost. */
  private async drop(node: string, change: 'released' | 'lost'): Promise<void> {
    if (!this.held.delete(node)) return;
    if (change === 'released') this.releasedAt.set(node, this.tickCount);
    this.count(change, node);
    await this.closeLinks(node);
  }

  private async closeLinks(node: string): Promise<void> {
    this.ownership.setWatched(node, false);
    await Promise.all([this.ami.unwatch(node), this.ari.unwatch(node)]);
  }

  private count(change: LeaseChange, node: string, detail?: string): void {
    this.changes?.inc({ change });
    const text = `${node}: lease ${change}${detail ? ` (${detail})` : ''}`;
    if (change === 'lost') this.logger.warn(`${text}: another daemon watches it now; closed its links`);
    else this.logger.log(text);
  }

  private publishView(): void {
    if (!this.link) return;
    const up = this.link.isUp;
    this.ownership.setView({
      daemon: this.daemonId,
      redis: up ? 'up' : 'down',
      mode: !this.redisEverUp ? 'starting' : up ? 'normal' : 'degraded',
      daemons: this.live.length,
      unwatched: this.unwatched,
    });
  }

  /** The cluster's own series (node series stay with each node's watcher: no duplicates). */
  private registerMetrics(registry: Registry, link: RedisLink): Counter<'change'> {
    /** 1 while this daemon's Redis link is up; 0: degraded (holds its nodes, takes no new ones). */
    new Gauge({
      name: 'pbxpulse_cluster_redis_up',
      help: "Whether this daemon's link to the cluster's Redis is up (1) or not (0: degraded).",
      registers: [registry],
      collect() {
        this.set(link.isUp ? 1 : 0);
      },
    });
    const held = this.held;
    /** Nodes this daemon watches (holds the lease of). */
    new Gauge({
      name: 'pbxpulse_cluster_nodes_owned',
      help: 'Nodes this daemon watches (holds the lease of).',
      registers: [registry],
      collect() {
        this.set(held.size);
      },
    });
    const self = (): { live: number; unwatched: number } => ({
      live: this.live.length,
      unwatched: this.unwatched.length,
    });
    /** Configured nodes that no daemon held at this daemon's last lease tick. */
    new Gauge({
      name: 'pbxpulse_cluster_nodes_unwatched',
      help: "Configured nodes that no daemon watched at this daemon's last lease tick.",
      registers: [registry],
      collect() {
        this.set(self().unwatched);
      },
    });
    /** Daemons whose heartbeat was fresh at this daemon's last lease tick. */
    new Gauge({
      name: 'pbxpulse_cluster_daemons',
      help: "Live daemons of the cluster at this daemon's last lease tick.",
      registers: [registry],
      collect() {
        this.set(self().live);
      },
    });
    /** Lease changes of this daemon: acquired, released (handed over), lost (taken by another), reclaimed. */
    return new Counter({
      name: 'pbxpulse_cluster_lease_changes_total',
      help: 'Lease changes of this daemon: acquired, released (handed over), lost (taken by another), reclaimed (after Redis came back).',
      labelNames: ['change'],
      registers: [registry],
    });
  }
}
