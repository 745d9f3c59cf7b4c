import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { Counter, Gauge, type Registry } from 'prom-client';
import { PBXPULSE_CONFIG } from '../config/config.module';
import type { PbxpulseConfig } from '../config/config.types';
import { EventBus } from '../events/event-bus';
import { REGISTRATION_READER, type RegistrationReader } from '../state/registrations/registration.views';
import { METRICS_REGISTRY, registerTextFamily } from './metrics.registry';
import { TextFamily } from './text-family';

const CONTACT_STATUSES = ['reachable', 'unreachable', 'nonqualified', 'unknown'] as const;

/**
 * Every `kind` of `state.repaired` the registration reducers publish (`repairsBetween`), listed here so
 * that `pbxpulse_state_repairs_total` has each at 0 from the first scrape. registration.metrics.spec
 * fails when a reducer publishes a kind missing here.
 */
export const REPAIR_KINDS = [
  'contact_missing',
  'contact_ghost',
  'contact_status',
  'endpoint_missing',
  'endpoint_ghost',
  'endpoint_changed',
  'device_state',
  'aor_missing',
  'aor_ghost',
  'aor_changed',
] as const;

/**
 * Registration metrics (public contract). Gauges are computed at scrape time from the registration
 * state; the repair counter is a plain count kept per event and copied at scrape time. The per-endpoint
 * families are `TextFamily`s (written without prom-client: one series per configured endpoint). Labels: node
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

    /** 1 while the endpoint has at least one registered contact, else 0; every configured endpoint. */
    registerTextFamily(
      registry,
      new TextFamily({
        name: 'pbxpulse_endpoint_registered',
        help: 'Whether the PJSIP endpoint has at least one registered contact (1) or none (0).',
        type: 'gauge',
        labelNames: ['node', 'endpoint'],
        collect(emit) {
          const labels = ['', ''];
          for (const node of nodes) {
            labels[0] = node;
            for (const ep of reader.endpoints(node)) {
              labels[1] = ep.name;
              emit(labels, ep.registered ? 1 : 0);
            }
          }
        },
      }),
    );

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
    registerTextFamily(
      registry,
      new TextFamily({
        name: 'pbxpulse_contact_rtt_seconds',
        help: "Qualify round-trip time: the maximum over the endpoint's reachable contacts, in seconds.",
        type: 'gauge',
        labelNames: ['node', 'endpoint'],
        collect(emit) {
          for (const node of nodes) {
            const max = new Map<string, number>();
            for (const c of reader.contacts(node)) {
              if (c.status !== 'reachable' || c.rttUsec === null) continue;
              if (!reader.isKnownEndpoint(node, c.endpoint)) continue;
              max.set(c.endpoint, Math.max(max.get(c.endpoint) ?? 0, c.rttUsec));
            }
            for (const [endpoint, us] of max) emit([node, endpoint], us / 1e6);
          }
        },
      }),
    );

    const repairs = this.repairs;
    /** Stale facts the reconciliation poll repaired, by kind (REPAIR_KINDS, each at 0 from the start). */
    new Counter({
      name: 'pbxpulse_state_repairs_total',
      help: 'State facts repaired by the reconciliation poll after a lost event, by kind.',
      labelNames: ['node', 'kind'],
      registers: [registry],
      collect(this: Counter<'node' | 'kind'>) {
        this.reset();
        // Every kind at 0 from the first scrape, so increase() and rate() see the first repair.
        for (const node of nodes) for (const kind of REPAIR_KINDS) this.inc({ node, kind }, 0);
        for (const { node, kind, count } of repairs.values()) this.inc({ node, kind }, count);
      },
    });
  }

  onModuleDestroy(): void {
    this.unsubscribe();
  }
}
