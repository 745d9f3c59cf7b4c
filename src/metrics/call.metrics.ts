import { Inject, Injectable, Optional } from '@nestjs/common';
import { Counter, Gauge, type Registry } from 'prom-client';
import { PBXPULSE_CONFIG } from '../config/config.module';
import type { PbxpulseConfig } from '../config/config.types';
import type { ChannelState } from '../events/pbx-events';
import { HANGUP_CLASSIFICATIONS } from '../state/calls/call.classification';
import { CallStore } from '../state/calls/call.store';
import { REGISTRATION_READER, type RegistrationReader } from '../state/registrations/registration.views';
import { endpointCounterFamily, perEndpointPolicy, sumOfCounts } from './endpoint-series';
import { METRICS_REGISTRY, registerTextFamily } from './metrics.registry';

/** Every channel state label value, so that a state that empties reads 0 instead of disappearing. */
const CHANNEL_STATES: readonly ChannelState[] = [
  'down',
  'rsrvd',
  'offhook',
  'dialing',
  'ring',
  'ringing',
  'up',
  'busy',
  'dialing_offhook',
  'pre_ring',
  'unknown',
];

/**
 * Call metrics (a public contract, like `PbxMetrics`). Read at scrape time from `CallStore`; nothing on
 * the event path touches prom-client. Labels: node names and channel states from the code, the fixed
 * classification list, and endpoint names taken from PJSIP channel names — chan_pjsip only creates a
 * channel for an identified (configured) endpoint, so the set is bounded, and capped further by
 * `metrics.perEndpoint` (`EndpointLabels`). Never channel ids or numbers.
 */
@Injectable()
export class CallMetrics {
  constructor(
    @Inject(METRICS_REGISTRY) registry: Registry,
    store: CallStore,
    @Optional() @Inject(REGISTRATION_READER) registrations?: RegistrationReader,
    @Optional() @Inject(PBXPULSE_CONFIG) config?: PbxpulseConfig,
  ) {
    const policy = perEndpointPolicy(config);
    /** Live channels by state. */
    new Gauge({
      name: 'pbxpulse_channels',
      help: 'Channels Asterisk has right now, by state.',
      labelNames: ['node', 'state'],
      registers: [registry],
      collect(this: Gauge<'node' | 'state'>) {
        for (const node of store.nodeNames()) {
          const counts = new Map<ChannelState, number>(CHANNEL_STATES.map((s) => [s, 0]));
          for (const c of store.channels(node) ?? []) counts.set(c.state, (counts.get(c.state) ?? 0) + 1);
          for (const [state, n] of counts) this.set({ node, state }, n);
        }
      },
    });
    /** Calls with at least one live channel. */
    new Gauge({
      name: 'pbxpulse_calls_active',
      help: 'Calls in progress (channels grouped by linkedid).',
      labelNames: ['node'],
      registers: [registry],
      collect(this: Gauge<'node'>) {
        for (const node of store.nodeNames()) this.set({ node }, store.activeCalls(node)?.length ?? 0);
      },
    });
    /** Calls started since pbxpulse started. */
    new Counter({
      name: 'pbxpulse_calls_total',
      help: 'Calls started (channels grouped by linkedid).',
      labelNames: ['node'],
      registers: [registry],
      collect(this: Counter<'node'>) {
        this.reset();
        for (const node of store.nodeNames()) this.inc({ node }, store.counters(node)?.callsStarted ?? 0);
      },
    });
    /** Ended calls by how they ended; every classification is present from the start. */
    new Counter({
      name: 'pbxpulse_call_hangups_total',
      help: 'Calls ended, by classification (normal, busy, no_answer, rejected, failed, rtp_timeout, unknown).',
      labelNames: ['node', 'classification'],
      registers: [registry],
      collect(this: Counter<'node' | 'classification'>) {
        this.reset();
        for (const node of store.nodeNames()) {
          const hangups = store.counters(node)?.hangups;
          for (const classification of HANGUP_CLASSIFICATIONS) {
            this.inc({ node, classification }, hangups?.[classification] ?? 0);
          }
        }
      },
    });
    const configured = (node: string) => knownEndpoints(registrations, node);

    /** RTP-timeout hangups by the endpoint whose channel timed out (its bridged peer is not counted). */
    registerTextFamily(
      registry,
      endpointCounterFamily({
        name: 'pbxpulse_rtp_timeouts_total',
        help:
          'Channels hung up by Asterisk for lack of RTP (rtp_timeout), by the endpoint that timed out ' +
          '(<other> over metrics.perEndpoint.maxEndpoints).',
        policy,
        nodes: () => store.nodeNames(),
        counts: (node) => store.counters(node)?.rtpTimeouts ?? NONE,
        configured,
      }),
    );
    /** Per-node RTP-timeout hangups (channels), at 0 from the first scrape. */
    new Counter({
      name: 'pbxpulse_node_rtp_timeouts_total',
      help: 'Channels of the node hung up by Asterisk for lack of RTP (rtp_timeout), every endpoint.',
      labelNames: ['node'],
      registers: [registry],
      collect(this: Counter<'node'>) {
        this.reset();
        for (const node of store.nodeNames()) {
          this.inc({ node }, sumOfCounts(store.counters(node)?.rtpTimeouts ?? NONE));
        }
      },
    });
    /**
     * Calls in which a channel of the endpoint took part, counted once per call (linkedid) and endpoint
     * as soon as the call counts as started: an Echo call of 2002 adds 1 to 2002, a call 2001 → 2002
     * adds 1 to each. The node's calls are `pbxpulse_calls_total`.
     */
    registerTextFamily(
      registry,
      endpointCounterFamily({
        name: 'pbxpulse_endpoint_calls_total',
        help:
          'Calls in which a channel of the endpoint took part (once per call and endpoint; <other> over ' +
          'metrics.perEndpoint.maxEndpoints).',
        policy,
        nodes: () => store.nodeNames(),
        counts: (node) => store.counters(node)?.endpointCalls ?? NONE,
        configured,
      }),
    );
  }
}

const NONE: ReadonlyMap<string, number> = new Map();

/** Configured PJSIP endpoints, when the registration store is there to say (zero-initialised series). */
function knownEndpoints(reader: RegistrationReader | undefined, node: string): string[] {
  if (!reader) return [];
  try {
    return reader.endpoints(node).map((e) => e.name);
  } catch {
    return [];
  }
}
