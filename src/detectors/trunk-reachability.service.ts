import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit, Optional } from '@nestjs/common';
import { PBXPULSE_CONFIG } from '../config/config.module';
import type { PbxpulseConfig } from '../config/config.types';
import { EventBus } from '../events/event-bus';
import { TrunkStore } from '../state/trunks/trunk.store';
import type { TrunkReader } from '../state/trunks/trunk.views';
import { AlertsService } from './alerts.service';
import { type Clock, DETECTION_CLOCK } from './detection.common';
import { sweepIntervalMs } from './detection.providers';
import { TrunkReachabilityDetector } from './trunk-reachability.detector';

const NO_TRUNKS: TrunkReader = { trunks: () => [] };

/** Nest glue of the `TrunkReachabilityDetector`: re-evaluates a node on each contact change, and a sweep. */
@Injectable()
export class TrunkReachabilityService implements OnModuleInit, OnModuleDestroy {
  readonly detector: TrunkReachabilityDetector;
  private readonly unsubscribe: () => void;
  private readonly nodes: string[];
  private readonly intervalMs: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    @Inject(PBXPULSE_CONFIG) config: PbxpulseConfig,
    bus: EventBus,
    alerts: AlertsService,
    @Inject(DETECTION_CLOCK) now: Clock,
    // Absent from test apps that replace the state layer: nothing to watch then.
    @Optional() store?: TrunkStore,
  ) {
    const unreachableMs = config.detection.trunkUnreachableMs;
    this.nodes = config.nodes.map((n) => n.name);
    this.detector = new TrunkReachabilityDetector({ unreachableMs }, store ?? NO_TRUNKS, alerts, now);
    this.intervalMs = sweepIntervalMs(unreachableMs);
    // Only a reachable contact clears at once; everything else waits for the threshold (the sweep).
    this.unsubscribe = bus.on('contact.status_changed', (e) => {
      if (e.status === 'reachable') this.detector.evaluate(e.node);
    });
  }

  onModuleInit(): void {
    this.timer = setInterval(() => {
      for (const n of this.nodes) this.detector.evaluate(n);
    }, this.intervalMs);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.unsubscribe();
  }
}
