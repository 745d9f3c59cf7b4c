import { Inject, Injectable, Optional, type OnModuleDestroy } from '@nestjs/common';
import { Counter, Gauge, type Registry } from 'prom-client';
import { PBXPULSE_CONFIG } from '../config/config.module';
import type { PbxpulseConfig } from '../config/config.types';
import { AorNotFoundService } from '../detectors/aor-not-found.service';
import { AuthLoopService } from '../detectors/auth-loop.service';
import { UNKNOWN_ENDPOINT } from '../detectors/detection.common';
import { DETECTION_READER } from '../detectors/detection.providers';
import { FAILURE_REASONS } from '../detectors/failure-classifier';
import { EventBus } from '../events/event-bus';
import type { RegistrationFailureReason } from '../events/pbx-events';
import { NodeStateStore } from '../state/node-state.store';
import type { RegistrationReader } from '../state/registrations/registration.views';
import { NodeEndpointLabels, endpointCounterFamily, perEndpointPolicy, sumOfCounts } from './endpoint-series';
import { METRICS_REGISTRY, registerTextFamily } from './metrics.registry';
import { TextFamily } from './text-family';

/** Reasons listed for an endpoint that has series (`unknown_account` is only ever `<unknown>`). */
const ENDPOINT_REASONS: readonly RegistrationFailureReason[] = FAILURE_REASONS.filter(
  (r) => r !== 'unknown_account',
);

/** `<unknown>` is bounded by the code, not by the PBX: never capped, never sent to `<other>`. */
const FIXED: ReadonlySet<string> = new Set([UNKNOWN_ENDPOINT]);

/**
 * The detection metric contract (names and labels are public: dashboards and alerts depend on them).
 *
 * Label values are node names from the config and, for `endpoint`, configured endpoint names,
 * `<unknown>` or `<other>` only: never an IP, a username an attacker sent, or a Call-ID. Which endpoints
 * have series is `metrics.perEndpoint` (see `EndpointLabels`); the per-node families
 * (`pbxpulse_node_…`) are there for every configured node at 0 from the first scrape, so rate() and
 * increase() see the first event whatever the per-endpoint policy. Values are computed at scrape time
 * from plain counts kept by the detectors; nothing on the event path touches prom-client.
 */
@Injectable()
export class DetectionMetrics implements OnModuleDestroy {
  /** node → endpoint (or `<unknown>`) → reason → refusals counted from `registration.failed`. */
  private readonly failures = new Map<string, Map<string, Map<RegistrationFailureReason, number>>>();
  private readonly unsubscribe: () => void;

  constructor(
    @Inject(METRICS_REGISTRY) registry: Registry,
    bus: EventBus,
    state: NodeStateStore,
    @Inject(DETECTION_READER) reader: RegistrationReader,
    loops: AuthLoopService,
    aor: AorNotFoundService,
    @Optional() @Inject(PBXPULSE_CONFIG) config?: PbxpulseConfig,
  ) {
    const policy = perEndpointPolicy(config);
    this.unsubscribe = bus.on('registration.failed', (e) => {
      // The event promises a bounded endpoint; re-check so no publisher can grow the series.
      const endpoint = reader.isKnownEndpoint(e.node, e.endpoint) ? e.endpoint : UNKNOWN_ENDPOINT;
      const reason = FAILURE_REASONS.includes(e.reason) ? e.reason : 'other';
      let byEndpoint = this.failures.get(e.node);
      if (!byEndpoint)
        this.failures.set(e.node, (byEndpoint = new Map<string, Map<RegistrationFailureReason, number>>()));
      let byReason = byEndpoint.get(endpoint);
      if (!byReason) byEndpoint.set(endpoint, (byReason = new Map<RegistrationFailureReason, number>()));
      byReason.set(reason, (byReason.get(reason) ?? 0) + 1);
    });

    const failures = this.failures;
    const configured = (node: string) => (): string[] => reader.endpoints(node).map((e) => e.name);
    const failureLabels = new NodeEndpointLabels(policy);
    // The gauge and the counter decide apart (the counter's first scrape of a series writes 0).
    const loopGaugeLabels = new NodeEndpointLabels(policy);

    /** Refused requests (REGISTER, INVITE … security events carry no method), by endpoint and reason. */
    registerTextFamily(
      registry,
      new TextFamily({
        name: 'pbxpulse_registration_failures_total',
        help:
          'Requests Asterisk refused (digest failure, AOR not found, unknown account, ACL, other registrar ' +
          'refusal); endpoint is a configured endpoint, <unknown> or <other> (over metrics.perEndpoint.maxEndpoints).',
        type: 'counter',
        labelNames: ['node', 'endpoint', 'reason'],
        collect(emit) {
          const labels = ['', '', ''];
          for (const node of state.names()) {
            const byEndpoint = failures.get(node);
            // Sum by label first: several endpoints share <other>.
            const sums = new Map<string, Map<RegistrationFailureReason, number>>();
            sums.set(UNKNOWN_ENDPOINT, new Map([['unknown_account', 0]]));
            const ep = failureLabels.of(node);
            const zero = () => new Map(ENDPOINT_REASONS.map((r) => [r, 0]));
            if (ep.zeroFill) for (const e of configured(node)()) sums.set(e, zero());
            else for (const e of ep.names()) sums.set(e, zero());
            for (const [endpoint, byReason] of byEndpoint ?? []) {
              const label = FIXED.has(endpoint) ? endpoint : ep.label(endpoint);
              let sum = sums.get(label);
              if (!sum)
                sums.set(
                  label,
                  (sum = label === UNKNOWN_ENDPOINT ? new Map<RegistrationFailureReason, number>() : zero()),
                );
              // Created by this scrape: every reason at 0 this once (EndpointLabels).
              if (ep.isNew(label)) continue;
              for (const [reason, n] of byReason) sum.set(reason, (sum.get(reason) ?? 0) + n);
            }
            ep.settle();
            labels[0] = node;
            for (const [endpoint, byReason] of sums) {
              labels[1] = endpoint;
              for (const [reason, n] of byReason) {
                labels[2] = reason;
                emit(labels, n);
              }
            }
          }
        },
      }),
    );

    /** Per-node refusals by reason, every reason at 0 from the first scrape. */
    new Counter({
      name: 'pbxpulse_node_registration_failures_total',
      help: 'Requests Asterisk refused, by reason: the sum over every endpoint and <unknown> of the node.',
      labelNames: ['node', 'reason'],
      registers: [registry],
      collect(this: Counter<'node' | 'reason'>) {
        this.reset();
        for (const node of state.names()) {
          const totals = new Map<RegistrationFailureReason, number>(FAILURE_REASONS.map((r) => [r, 0]));
          for (const byReason of failures.get(node)?.values() ?? []) {
            for (const [reason, n] of byReason) totals.set(reason, (totals.get(reason) ?? 0) + n);
          }
          for (const [reason, n] of totals) this.inc({ node, reason }, n);
        }
      },
    });

    /** 1 while at least one 401 loop of the endpoint is active, else 0. */
    registerTextFamily(
      registry,
      new TextFamily({
        name: 'pbxpulse_auth_loop_active',
        help: 'Whether the endpoint is in a 401 loop (repeated digest failures from one IP, no success) now.',
        type: 'gauge',
        labelNames: ['node', 'endpoint'],
        collect(emit) {
          for (const node of state.names()) {
            const ep = loopGaugeLabels.of(node);
            const values = new Map<string, number>();
            if (ep.zeroFill) for (const e of configured(node)()) values.set(e, 0);
            // Endpoints that have had a loop keep a 0 series once it clears.
            for (const [e, n] of loops.detector.detectedCounts(node)) {
              if (n > 0) values.set(FIXED.has(e) ? e : ep.label(e), 0);
            }
            for (const e of loops.detector.activeLabels(node)) values.set(FIXED.has(e) ? e : ep.label(e), 1);
            ep.settle();
            for (const [endpoint, v] of values) emit([node, endpoint], v);
          }
        },
      }),
    );

    /** 401 loops detected since start. */
    registerTextFamily(
      registry,
      endpointCounterFamily({
        name: 'pbxpulse_auth_loops_total',
        help: '401 loops detected (an endpoint failing digest authentication repeatedly from one IP).',
        policy,
        nodes: () => state.names(),
        counts: (node) => loops.detector.detectedCounts(node),
        configured: (node) => configured(node)(),
        fixed: FIXED,
      }),
    );

    /** Authenticated REGISTERs answered 404 because no AOR matched. */
    registerTextFamily(
      registry,
      endpointCounterFamily({
        name: 'pbxpulse_aor_not_found_total',
        help: 'Authenticated REGISTERs the registrar answered 404 because no AOR matched the To user.',
        policy,
        nodes: () => state.names(),
        counts: (node) => aor.detector.counts(node),
        configured: (node) => configured(node)(),
        fixed: FIXED,
      }),
    );

    /** Per-node 401 loops detected, at 0 from the first scrape. */
    new Counter({
      name: 'pbxpulse_node_auth_loops_total',
      help: '401 loops detected on the node (every endpoint and <unknown>).',
      labelNames: ['node'],
      registers: [registry],
      collect(this: Counter<'node'>) {
        this.reset();
        for (const node of state.names())
          this.inc({ node }, sumOfCounts(loops.detector.detectedCounts(node)));
      },
    });
    /** Endpoint labels of the node in a 401 loop now (0 when none). */
    new Gauge({
      name: 'pbxpulse_node_auth_loops_active',
      help: 'Endpoints of the node (and <unknown>) in a 401 loop now.',
      labelNames: ['node'],
      registers: [registry],
      collect(this: Gauge<'node'>) {
        for (const node of state.names()) this.set({ node }, loops.detector.activeLabels(node).size);
      },
    });
    /** Per-node AOR-not-found 404s, at 0 from the first scrape. */
    new Counter({
      name: 'pbxpulse_node_aor_not_found_total',
      help: 'Authenticated REGISTERs of the node answered 404 because no AOR matched (every endpoint).',
      labelNames: ['node'],
      registers: [registry],
      collect(this: Counter<'node'>) {
        this.reset();
        for (const node of state.names()) this.inc({ node }, sumOfCounts(aor.detector.counts(node)));
      },
    });
  }

  onModuleDestroy(): void {
    this.unsubscribe();
  }
}
