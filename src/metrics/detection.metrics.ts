import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { Counter, Gauge, type Registry } from 'prom-client';
import { AorNotFoundService } from '../detectors/aor-not-found.service';
import { AuthLoopService } from '../detectors/auth-loop.service';
import { UNKNOWN_ENDPOINT } from '../detectors/detection.common';
import { DETECTION_READER } from '../detectors/detection.providers';
import { FAILURE_REASONS } from '../detectors/failure-classifier';
import { EventBus } from '../events/event-bus';
import type { RegistrationFailureReason } from '../events/pbx-events';
import { NodeStateStore } from '../state/node-state.store';
import type { RegistrationReader } from '../state/registrations/registration.views';
import { METRICS_REGISTRY } from './metrics.registry';

/** Reasons zero-initialised for every configured endpoint (`unknown_account` is only ever `<unknown>`). */
const ENDPOINT_REASONS: readonly RegistrationFailureReason[] = FAILURE_REASONS.filter(
  (r) => r !== 'unknown_account',
);

/**
 * The detection metric contract (names and labels are public: dashboards and alerts depend on them).
 *
 * Label values are node names from the config and, for `endpoint`, configured endpoint names or
 * `<unknown>` only: never an IP, a username an attacker sent, or a Call-ID, so series stay bounded by
 * the configuration. Values are computed at scrape time from plain counts kept by the detectors;
 * nothing on the event path touches prom-client. Series of configured endpoints exist at 0 from the
 * first scrape after the endpoints are known (first AMI resync), so `increase()` sees the first event.
 */
@Injectable()
export class DetectionMetrics implements OnModuleDestroy {
  /** `node\0endpoint\0reason` → refusals counted from `registration.failed`. */
  private readonly failures = new Map<string, number>();
  private readonly unsubscribe: () => void;

  constructor(
    @Inject(METRICS_REGISTRY) registry: Registry,
    bus: EventBus,
    state: NodeStateStore,
    @Inject(DETECTION_READER) reader: RegistrationReader,
    loops: AuthLoopService,
    aor: AorNotFoundService,
  ) {
    this.unsubscribe = bus.on('registration.failed', (e) => {
      // The event promises a bounded endpoint; re-check so no publisher can grow the series.
      const endpoint = reader.isKnownEndpoint(e.node, e.endpoint) ? e.endpoint : UNKNOWN_ENDPOINT;
      const reason = FAILURE_REASONS.includes(e.reason) ? e.reason : 'other';
      const key = `${e.node}\u0000${endpoint}\u0000${reason}`;
      this.failures.set(key, (this.failures.get(key) ?? 0) + 1);
    });

    const failures = this.failures;
    const endpointsOf = (node: string): string[] => reader.endpoints(node).map((e) => e.name);

    /** Refused requests (REGISTER, INVITE … security events carry no method), by reason. */
    new Counter({
      name: 'pbxpulse_registration_failures_total',
      help:
        'Requests Asterisk refused (digest failure, AOR not found, unknown account, ACL, other registrar ' +
        'refusal); endpoint is a configured endpoint or <unknown>.',
      labelNames: ['node', 'endpoint', 'reason'],
      registers: [registry],
      collect(this: Counter<'node' | 'endpoint' | 'reason'>) {
        this.reset();
        for (const node of state.names()) {
          this.inc({ node, endpoint: UNKNOWN_ENDPOINT, reason: 'unknown_account' }, 0);
          for (const endpoint of endpointsOf(node)) {
            for (const reason of ENDPOINT_REASONS) this.inc({ node, endpoint, reason }, 0);
          }
        }
        for (const [key, value] of failures) {
          const [node, endpoint, reason] = key.split('\u0000');
          this.inc({ node, endpoint, reason }, value);
        }
      },
    });

    /** 1 while at least one 401 loop of the endpoint is active, else 0. */
    new Gauge({
      name: 'pbxpulse_auth_loop_active',
      help: 'Whether the endpoint is in a 401 loop (repeated digest failures from one IP, no success) now.',
      labelNames: ['node', 'endpoint'],
      registers: [registry],
      collect(this: Gauge<'node' | 'endpoint'>) {
        this.reset();
        for (const node of state.names()) {
          for (const endpoint of endpointsOf(node)) this.set({ node, endpoint }, 0);
          for (const endpoint of loops.detector.activeLabels(node)) this.set({ node, endpoint }, 1);
        }
      },
    });

    /** 401 loops detected since start. */
    new Counter({
      name: 'pbxpulse_auth_loops_total',
      help: '401 loops detected (an endpoint failing digest authentication repeatedly from one IP).',
      labelNames: ['node', 'endpoint'],
      registers: [registry],
      collect(this: Counter<'node' | 'endpoint'>) {
        this.reset();
        for (const node of state.names()) {
          for (const endpoint of endpointsOf(node)) this.inc({ node, endpoint }, 0);
          for (const [endpoint, n] of loops.detector.detectedCounts(node)) this.inc({ node, endpoint }, n);
        }
      },
    });

    /** Authenticated REGISTERs answered 404 because no AOR matched. */
    new Counter({
      name: 'pbxpulse_aor_not_found_total',
      help: 'Authenticated REGISTERs the registrar answered 404 because no AOR matched the To user.',
      labelNames: ['node', 'endpoint'],
      registers: [registry],
      collect(this: Counter<'node' | 'endpoint'>) {
        this.reset();
        for (const node of state.names()) {
          for (const endpoint of endpointsOf(node)) this.inc({ node, endpoint }, 0);
          for (const [endpoint, n] of aor.detector.counts(node)) this.inc({ node, endpoint }, n);
        }
      },
    });
  }

  onModuleDestroy(): void {
    this.unsubscribe();
  }
}
