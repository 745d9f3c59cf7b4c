import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { Counter, Gauge, type Registry } from 'prom-client';
import { PBXPULSE_CONFIG } from '../config/config.module';
import type { PbxpulseConfig } from '../config/config.types';
import { EventBus } from '../events/event-bus';
import { REGISTRATION_READER, type RegistrationReader } from '../state/registrations/registration.views';
import { METRICS_REGISTRY } from './metrics.registry';

const CONTACT_STATUSES = ['reachable', 'unreachable', 'nonqualified', 'unknown'] as const;

/**
 * Registration metrics (public contract). Gauges are computed at scrape time from the registration
 * state; the repair counter is a plain count kept per event and copied at scrape time. Labels: node
 * names from the config and endpoint names from Asterisk's configuration only (never URIs, addresses
 * or user agents, which clients choose).
 */
@Injectable()
export class RegistrationMetrics implements OnModuleDestroy {
  private readonly repairs = new Map<string, { node: string; kind: string; count: number }>();
  private readonly unsubscribe: () => void;

  constructor(
    @Inject(METRICS_REGISTRY) registry: Registry,
    @Inject(REGISTRATION_READER) reader: RegistrationReader,
    @Inject(PBXPULSE_CONFIG) config: PbxpulseConfig,
    bus: EventBus,
  ) {
    const nodes = config.nodes.map((n) => n.name);
    this.unsubscribe = bus.on('state.repaired', (e) => {
      const key = `${e.node}\u0000${e.kind}`;
      const entry = this.repairs.get(key) ?? { node: e.node, kind: e.kind, count: 0 };
      entry.count += 1;
      this.repairs.set(key, entry);
    });

    /** 1 while the endpoint has at least one registered contact, else 0; configured endpoints only. */
    new Gauge({
      name: 'pbxpulse_endpoint_registered',
      help: 'Whether the PJSIP endpoint has at least one registered contact (1) or none (0).',
      labelNames: ['node', 'endpoint'],
      registers: [registry],
      collect(this: Gauge<'node' | 'endpoint'>) {
        this.reset();
        for (const node of nodes) {
          for (const ep of reader.endpoints(node))
            this.set({ node, endpoint: ep.name }, ep.registered ? 1 : 0);
        }
      },
    });

    /** Registered contacts by status; all four statuses are present (0) for every node. */
    new Gauge({
      name: 'pbxpulse_contacts',
      help: 'Registered contacts by status (reachable, unreachable, nonqualified, unknown).',
      labelNames: ['node', 'status'],
      registers: [registry],
      collect(this: Gauge<'node' | 'status'>) {
        for (const node of nodes) {
          const counts = new Map<string, number>(CONTACT_STATUSES.map((s) => [s, 0]));
          for (const c of reader.contacts(node)) counts.set(c.status, (counts.get(c.status) ?? 0) + 1);
          for (const [status, n] of counts) this.set({ node, status }, n);
        }
      },
    });

    /** Max qualify RTT of the endpoint's reachable contacts; absent when none is reachable with an RTT. */
    new Gauge({
      name: 'pbxpulse_contact_rtt_seconds',
      help: "Qualify round-trip time: the maximum over the endpoint's reachable contacts, in seconds.",
      labelNames: ['node', 'endpoint'],
      registers: [registry],
      collect(this: Gauge<'node' | 'endpoint'>) {
        this.reset();
        for (const node of nodes) {
          const max = new Map<string, number>();
          for (const c of reader.contacts(node)) {
            if (c.status !== 'reachable' || c.rttUsec === null || !reader.isKnownEndpoint(node, c.endpoint))
              continue;
            max.set(c.endpoint, Math.max(max.get(c.endpoint) ?? 0, c.rttUsec));
          }
          for (const [endpoint, us] of max) this.set({ node, endpoint }, us / 1e6);
        }
      },
    });

    const repairs = this.repairs;
    /** Stale facts the reconciliation poll repaired, by kind (contact_missing, contact_ghost …). */
    new Counter({
      name: 'pbxpulse_state_repairs_total',
      help: 'State facts repaired by the reconciliation poll after a lost event, by kind.',
      labelNames: ['node', 'kind'],
      registers: [registry],
      collect(this: Counter<'node' | 'kind'>) {
        this.reset();
        for (const { node, kind, count } of repairs.values()) this.inc({ node, kind }, count);
      },
    });
  }

  onModuleDestroy(): void {
    this.unsubscribe();
  }
}
