import { Injectable, Optional } from '@nestjs/common';
import {
  type HealthIndicatorFunction,
  type HealthIndicatorResult,
  HealthIndicatorService,
} from '@nestjs/terminus';
import type { LinkKind } from '../events/pbx-events';
import { NodeOwnership } from '../state/node-ownership';
import { NodeStateStore } from '../state/node-state.store';

const LINKS: readonly LinkKind[] = ['ami', 'ari'];

/**
 * Readiness of each configured node and of its AMI and ARI links, read from the node store at check
 * time. Never throws: a node still connecting, refused or lost is `down` with the reason.
 */
@Injectable()
export class LinkHealthIndicator {
  constructor(
    private readonly state: NodeStateStore,
    private readonly health: HealthIndicatorService,
    @Optional() private readonly ownership?: NodeOwnership,
  ) {}

  /**
   * Per node, in configuration order: `node:<name>`, then `ami:<name>` and `ari:<name>`. A cluster
   * daemon checks the nodes it watches only, after its `cluster` indicator.
   */
  checks(): HealthIndicatorFunction[] {
    const cluster = this.ownership?.isClustered ? [() => this.cluster()] : [];
    return [
      ...cluster,
      ...this.state
        .names()
        .filter((node) => this.ownership?.watches(node) ?? true)
        .flatMap((node) => [() => this.node(node), ...LINKS.map((link) => () => this.link(node, link))]),
    ];
  }

  /**
   * `cluster`: down until Redis first answered (the daemon does not know yet what to watch); up after,
   * with `mode: degraded` while Redis is unreachable (the held nodes are still watched).
   */
  cluster(): HealthIndicatorResult {
    const session = this.health.check('cluster');
    const view = this.ownership?.cluster();
    if (!view) return session.down({ message: 'cluster state not available yet' });
    const data = {
      daemon: view.daemon,
      redis: view.redis,
      mode: view.mode,
      daemons: view.daemons,
      watching: view.watching,
      unwatched: view.unwatched,
    };
    return view.mode === 'starting' ? session.down(data) : session.up(data);
  }

  /**
   * `node:<name>`: up once AMI has logged in and the ARI event socket is connected. A link's last
   * error is shown only while that link is not up: after a reconnect it is history, not a reason.
   */
  node(name: string): HealthIndicatorResult {
    const session = this.health.check(`node:${name}`);
    const view = this.state.get(name);
    if (!view) return session.down({ message: `unknown node '${name}'` });
    const data: Record<string, string> = { ami: view.ami.status, ari: view.ari.status };
    if (view.ami.status !== 'up' && view.ami.lastError) data.amiError = view.ami.lastError;
    if (view.ari.status !== 'up' && view.ari.lastError) data.ariError = view.ari.lastError;
    return this.state.isReady(name) ? session.up(data) : session.down(data);
  }

  /** `<link>:<name>`: the link's own state (`connecting` is down too), since when, and its last error. */
  link(name: string, link: LinkKind): HealthIndicatorResult {
    const session = this.health.check(`${link}:${name}`);
    const view = this.state.get(name)?.[link];
    if (!view) return session.down({ message: `unknown node '${name}'` });
    const data = { state: view.status, since: view.since, lastError: view.lastError };
    return view.status === 'up' ? session.up(data) : session.down(data);
  }
}
