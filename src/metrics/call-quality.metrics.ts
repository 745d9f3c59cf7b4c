import { Inject, Injectable, type OnModuleDestroy, Optional } from '@nestjs/common';
import { Counter, Histogram, type Registry } from 'prom-client';
import { PBXPULSE_CONFIG } from '../config/config.module';
import type { PbxpulseConfig } from '../config/config.types';
import { UNKNOWN_ENDPOINT } from '../detectors/detection.common';
import { DETECTION_READER } from '../detectors/detection.providers';
import type { OneWayDirection } from '../detectors/one-way-audio.detector';
import { OneWayAudioService } from '../detectors/one-way-audio.service';
import { EventBus } from '../events/event-bus';
import { CallStore } from '../state/calls/call.store';
import type { RegistrationReader } from '../state/registrations/registration.views';
import { endpointCounterFamily, perEndpointPolicy } from './endpoint-series';
import { METRICS_REGISTRY, registerTextFamily } from './metrics.registry';

/** MOS buckets: the usual bands (≥ 4.3 very good, 4.0 good, 3.6 fair, 3.1 poor, below: bad). */
export const MOS_BUCKETS = [1.5, 2, 2.5, 3, 3.1, 3.6, 4, 4.3, 4.4];
/** Jitter, seconds: 20 ms is a 20 ms packet's worth; 50 ms starts to hurt. */
export const JITTER_BUCKETS = [0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2];
/** Fraction of packets lost: 1 % is audible with G.711, 5 % bad. */
export const LOSS_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5];

const DIRECTIONS: readonly OneWayDirection[] = ['inbound', 'outbound'];

/**
 * Call-quality metrics (a public contract). The histograms are observed once per call at hangup, from
 * the ended call's RTCP summary (its worst channel and way), for calls that had RTCP: labels are the
 * node only (never a call id, a number or an endpoint). The one-way-audio counters are read at scrape
 * time from the detector's counts; their `endpoint` label is a configured endpoint (`<unknown>`
 * otherwise), capped by `metrics.perEndpoint`.
 */
@Injectable()
export class CallQualityMetrics implements OnModuleDestroy {
  private readonly unsubscribe: () => void;

  constructor(
    @Inject(METRICS_REGISTRY) registry: Registry,
    bus: EventBus,
    store: CallStore,
    oneWay: OneWayAudioService,
    @Inject(DETECTION_READER) reader: RegistrationReader,
    @Optional() @Inject(PBXPULSE_CONFIG) config?: PbxpulseConfig,
  ) {
    const mos = new Histogram({
      name: 'pbxpulse_call_mos',
      help: 'Estimated MOS of ended calls with RTCP (their worst channel and way; simplified ITU-T G.107 E-model).',
      labelNames: ['node'],
      buckets: MOS_BUCKETS,
      registers: [registry],
    });
    const jitter = new Histogram({
      name: 'pbxpulse_call_jitter_seconds',
      help: 'Mean RTCP interarrival jitter of ended calls (their worst channel and way), seconds.',
      labelNames: ['node'],
      buckets: JITTER_BUCKETS,
      registers: [registry],
    });
    const loss = new Histogram({
      name: 'pbxpulse_call_loss_ratio',
      help: 'Mean RTCP fraction of packets lost of ended calls (their worst channel and way), 0-1.',
      labelNames: ['node'],
      buckets: LOSS_BUCKETS,
      registers: [registry],
    });
    for (const node of store.nodeNames()) {
      mos.zero({ node });
      jitter.zero({ node });
      loss.zero({ node });
    }
    this.unsubscribe = bus.on('call.ended', (e) => {
      const q = e.call.quality;
      if (!q) return;
      if (q.mos !== null) mos.observe({ node: e.node }, q.mos);
      if (q.jitterMs !== null) jitter.observe({ node: e.node }, q.jitterMs / 1000);
      if (q.lossFraction !== null) loss.observe({ node: e.node }, q.lossFraction);
    });

    const detector = oneWay.detector;
    registerTextFamily(
      registry,
      endpointCounterFamily({
        name: 'pbxpulse_one_way_audio_total',
        help:
          'One-way-audio detections (a live call leg carrying RTP one way only), by endpoint (<other> over ' +
          'metrics.perEndpoint.maxEndpoints).',
        policy: perEndpointPolicy(config),
        nodes: () => store.nodeNames(),
        counts: (node) => detector.endpointCounts(node),
        configured: (node) => configuredEndpoints(reader, node),
        fixed: FIXED,
      }),
    );
    new Counter({
      name: 'pbxpulse_node_one_way_audio_total',
      help: 'One-way-audio detections of the node, by missing direction (inbound: endpoint to Asterisk).',
      labelNames: ['node', 'direction'],
      registers: [registry],
      collect(this: Counter<'node' | 'direction'>) {
        this.reset();
        for (const node of store.nodeNames()) {
          const counts = detector.directionCounts(node);
          for (const direction of DIRECTIONS) this.inc({ node, direction }, counts[direction]);
        }
      },
    });
  }

  onModuleDestroy(): void {
    this.unsubscribe();
  }
}

const FIXED: ReadonlySet<string> = new Set([UNKNOWN_ENDPOINT]);

function configuredEndpoints(reader: RegistrationReader, node: string): string[] {
  try {
    return reader.endpoints(node).map((e) => e.name);
  } catch {
    return [];
  }
}
