import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Registry } from 'prom-client';
import { PBXPULSE_CONFIG } from '../config/config.module';
import type { PbxpulseConfig } from '../config/config.types';
import { EventBus } from '../events/event-bus';
import type { OutboundRejectionReason } from '../events/pbx-events';
import { OutboundRegistrationStore } from '../state/trunks/outbound-registration.store';
import { OUTBOUND_REGISTRATION_STATES } from '../state/trunks/outbound-registration.views';
import { METRICS_REGISTRY, registerTextFamily } from './metrics.registry';
import { TextFamily } from './text-family';

/** Every rejection reason, each at 0 from the first scrape of a registration. */
export const OUTBOUND_REJECTION_REASONS: readonly OutboundRejectionReason[] = [
  'fatal_response',
  'temporary_failure',
  'retries_exhausted',
];

/**
 * Outbound registration (trunk) metrics, public contract. Labels: node names from the config and
 * registration names (`type=registration` sections: operator-configured, a handful per node), never a
 * URI, a user name or an address. Gauges are read from the store at scrape time; the rejection counter
 * counts the store's `outbound_registration.changed` events.
 */
@Injectable()
export class OutboundRegistrationMetrics implements OnModuleDestroy {
  /** `node\0registration` → counts by reason. */
  private readonly rejections = new Map<
    string,
    { node: string; name: string; counts: Map<string, number> }
  >();
  private readonly unsubscribe: () => void;

  constructor(
    @Inject(METRICS_REGISTRY) registry: Registry,
    store: OutboundRegistrationStore,
    @Inject(PBXPULSE_CONFIG) config: PbxpulseConfig,
    bus: EventBus,
  ) {
    const nodes = config.nodes.map((n) => n.name);
    const rejections = this.rejections;
    const entry = (node: string, name: string): { counts: Map<string, number> } => {
      const key = `${node}\u0000${name}`;
      let e = rejections.get(key);
      if (!e) {
        e = { node, name, counts: new Map(OUTBOUND_REJECTION_REASONS.map((r) => [r, 0])) };
        rejections.set(key, e);
      }
      return e;
    };
    this.unsubscribe = bus.on('outbound_registration.changed', (e) => {
      // A registration no longer configured leaves the exposition (its counts with it).
      if (e.registration === null) {
        rejections.delete(`${e.node}\u0000${e.name}`);
        return;
      }
      const counts = entry(e.node, e.name).counts;
      for (const r of e.rejections) counts.set(r.reason, (counts.get(r.reason) ?? 0) + r.count);
    });

    /** 1 while the registration is registered, else 0; every configured registration. */
    registerTextFamily(
      registry,
      new TextFamily({
        name: 'pbxpulse_outbound_registration_up',
        help: 'Whether the PJSIP outbound registration (trunk) is registered (1) or not (0).',
        type: 'gauge',
        labelNames: ['node', 'registration'],
        collect(emit) {
          for (const node of nodes) {
            for (const r of store.registrations(node)) emit([node, r.name], r.state === 'registered' ? 1 : 0);
          }
        },
      }),
    );

    /** One series per state, 1 for the current one. */
    registerTextFamily(
      registry,
      new TextFamily({
        name: 'pbxpulse_outbound_registration_state',
        help:
          'State of the PJSIP outbound registration: 1 for the current one of registered, unregistered, ' +
          'failed (Asterisk retries), rejected (Asterisk gave up until a reload), stopped.',
        type: 'gauge',
        labelNames: ['node', 'registration', 'state'],
        collect(emit) {
          const labels = ['', '', ''];
          for (const node of nodes) {
            labels[0] = node;
            for (const r of store.registrations(node)) {
              labels[1] = r.name;
              for (const s of OUTBOUND_REGISTRATION_STATES) {
                labels[2] = s;
                emit(labels, r.state === s ? 1 : 0);
              }
            }
          }
        },
      }),
    );

    /** Seconds since the registration's state last changed. */
    registerTextFamily(
      registry,
      new TextFamily({
        name: 'pbxpulse_outbound_registration_state_age_seconds',
        help: 'Seconds since the PJSIP outbound registration entered its current state.',
        type: 'gauge',
        labelNames: ['node', 'registration'],
        collect(emit) {
          const now = Date.now();
          for (const node of nodes) {
            for (const r of store.registrations(node)) {
              emit([node, r.name], Math.max(0, (now - Date.parse(r.since)) / 1000));
            }
          }
        },
      }),
    );

    /** Rejected REGISTER outcomes by reason (OUTBOUND_REJECTION_REASONS, each at 0). */
    registerTextFamily(
      registry,
      new TextFamily({
        name: 'pbxpulse_outbound_registration_rejections_total',
        help:
          'Rejected outbound REGISTER outcomes (AMI Registry Rejected), by reason: fatal_response (Asterisk ' +
          'gave up at once: 401/403/404), temporary_failure (no answer, 408, 5xx: it retries), ' +
          'retries_exhausted (max_retries reached).',
        type: 'counter',
        labelNames: ['node', 'registration', 'reason'],
        collect(emit) {
          for (const node of nodes) for (const r of store.registrations(node)) entry(node, r.name);
          for (const { node, name, counts } of rejections.values()) {
            for (const [reason, n] of counts) emit([node, name, reason], n);
          }
        },
      }),
    );
  }

  onModuleDestroy(): void {
    this.unsubscribe();
  }
}
