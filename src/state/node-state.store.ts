import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { EventBus } from '../events/event-bus';
import type { LinkKind, LinkStatus, PbxEvent } from '../events/pbx-events';
import { PBXPULSE_CONFIG } from '../config/config.module';
import type { PbxpulseConfig } from '../config/config.types';
import type { LinkView, NodeView } from './node.views';

export type { AsteriskView, LinkView, NodeView } from './node.views';

/**
 * Per-node connection and identity state, written only from bus events (the adapters publish; this
 * store applies). Registrations and calls join it in later issues.
 */
@Injectable()
export class NodeStateStore implements OnModuleDestroy {
  private readonly nodes = new Map<string, NodeView>();
  private readonly unsubscribe: () => void;

  constructor(@Inject(PBXPULSE_CONFIG) config: PbxpulseConfig, bus: EventBus) {
    const now = new Date().toISOString();
    for (const n of config.nodes) {
      const link = (): LinkView => ({ status: 'connecting', since: now, lastError: null });
      this.nodes.set(n.name, {
        name: n.name,
        ami: link(),
        ari: link(),
        asterisk: { version: null, startupTime: null, lastReloadTime: null },
        lastResync: { ami: null, ari: null },
      });
    }
    this.unsubscribe = bus.subscribe((e) => this.apply(e), { phase: 'state' });
  }

  onModuleDestroy(): void {
    this.unsubscribe();
  }

  names(): string[] {
    return [...this.nodes.keys()];
  }

  has(node: string): boolean {
    return this.nodes.has(node);
  }

  get(node: string): NodeView | undefined {
    const v = this.nodes.get(node);
    return v && structuredClone(v);
  }

  all(): NodeView[] {
    return [...this.nodes.values()].map((v) => structuredClone(v));
  }

  linkStatus(node: string, link: LinkKind): LinkStatus | undefined {
    return this.nodes.get(node)?.[link].status;
  }

  /** Ready: AMI logged in and the ARI event socket connected. */
  isReady(node: string): boolean {
    const v = this.nodes.get(node);
    return v !== undefined && v.ami.status === 'up' && v.ari.status === 'up';
  }

  private apply(e: PbxEvent): void {
    const view = this.nodes.get(e.node);
    if (!view) return;
    switch (e.type) {
      case 'node.connection_changed': {
        const link = view[e.link];
        if (link.status !== e.status) link.since = new Date(e.ts).toISOString();
        link.status = e.status;
        link.lastError = e.error ?? (e.status === 'up' ? null : link.lastError);
        return;
      }
      case 'node.info_updated':
        view.asterisk = {
          version: e.version ?? view.asterisk.version,
          startupTime: e.startupTime ?? view.asterisk.startupTime,
          lastReloadTime: e.lastReloadTime ?? view.asterisk.lastReloadTime,
        };
        return;
      case 'state.resynced':
        view.lastResync[e.link] = new Date(e.ts).toISOString();
        return;
      case 'node.booted':
      case 'node.shutdown':
      case 'module.reloaded':
      case 'contact.status_changed':
      case 'endpoint.reachability_changed':
      case 'device.state_changed':
      case 'auth.challenge_sent':
      case 'auth.succeeded':
      case 'auth.challenge_failed':
      case 'auth.account_unknown':
      case 'auth.acl_denied':
      case 'registrar.request_rejected':
      case 'channel.created':
      case 'channel.updated':
      case 'channel.dialed':
      case 'channel.bridged':
      case 'channel.hangup_requested':
      case 'channel.hung_up':
      case 'rtcp.reported':
      case 'call.updated':
      case 'call.channel_ended':
      case 'call.ended':
      case 'call.quality_updated':
      case 'registration.changed':
      case 'registration.failed':
      case 'state.repaired':
      case 'outbound_registration.reported':
      case 'outbound_registration.changed':
      case 'alert.raised':
      case 'alert.cleared':
        return;
      default: {
        const never: never = e;
        return never;
      }
    }
  }
}
