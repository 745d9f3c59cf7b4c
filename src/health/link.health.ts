import { Injectable } from '@nestjs/common';
import {
  type HealthIndicatorFunction,
  type HealthIndicatorResult,
  HealthIndicatorService,
} from '@nestjs/terminus';
import type { LinkKind } from '../events/pbx-events';
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
  ) {}

  /** Per node, in configuration order: `node:<name>`, then `ami:<name>` and `ari:<name>`. */
  checks(): HealthIndicatorFunction[] {
    return this.state
      .names()
      .flatMap((node) => [() => this.node(node), ...LINKS.map((link) => () => this.link(node, link))]);
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
