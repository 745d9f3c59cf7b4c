import { Inject, Injectable } from '@nestjs/common';
import { PBXPULSE_CONFIG } from '../config/config.module';
import type { PbxpulseConfig } from '../config/config.types';

/** What this daemon knows of the cluster, for readiness and the API. */
export interface ClusterView {
  /** This daemon's id in the cluster (`<host>-<pid>-<random>`). */
  daemon: string;
  redis: 'up' | 'down';
  /**
   * `degraded`: Redis is unreachable; the daemon keeps watching the nodes it holds but takes no new
   * ones. `starting`: Redis has not answered yet, so the daemon watches nothing.
   */
  mode: 'starting' | 'normal' | 'degraded';
  /** Nodes this daemon watches (holds the lease of), in configuration order. */
  watching: string[];
  /** Live daemons seen at the last lease tick. */
  daemons: number;
  /** Nodes with no lease holder at the last lease tick. */
  unwatched: string[];
}

/**
 * Which nodes this daemon watches. A single daemon (no `cluster:`) watches every configured node; a
 * cluster daemon only those whose lease it holds, as the cluster service (the only writer) records.
 * Readers: readiness, metrics (node series only from the watcher), control (only the watcher acts).
 */
@Injectable()
export class NodeOwnership {
  private readonly clustered: boolean;
  private readonly order: readonly string[];
  /** Watched nodes (cluster mode) and when this daemon started watching each (ISO time). */
  private readonly watched = new Map<string, string>();
  private view: ClusterView | undefined;

  constructor(@Inject(PBXPULSE_CONFIG) config: PbxpulseConfig) {
    this.clustered = config.cluster !== undefined;
    this.order = config.nodes.map((n) => n.name);
  }

  get isClustered(): boolean {
    return this.clustered;
  }

  /** Whether this daemon watches the node (always, for a single daemon). */
  watches(node: string): boolean {
    return !this.clustered || this.watched.has(node);
  }

  /** Configured nodes this daemon does not watch (none for a single daemon). */
  notWatched(): Set<string> {
    return new Set(this.order.filter((n) => !this.watches(n)));
  }

  /** Cluster mode: what this daemon knows of the cluster; undefined for a single daemon. */
  cluster(): ClusterView | undefined {
    if (!this.clustered || !this.view) return undefined;
    return { ...this.view, watching: this.order.filter((n) => this.watched.has(n)) };
  }

  /** Cluster mode: when this daemon started watching the node (ISO time); undefined if it does not. */
  watchedSince(node: string): string | undefined {
    return this.watched.get(node);
  }

  /** The cluster service records a node it started or stopped watching. */
  setWatched(node: string, watched: boolean): void {
    if (!watched) this.watched.delete(node);
    else if (!this.watched.has(node)) this.watched.set(node, new Date().toISOString());
  }

  /** The cluster service records the cluster as last seen. */
  setView(view: Omit<ClusterView, 'watching'>): void {
    this.view = { ...view, watching: [] };
  }
}
