import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit, Optional } from '@nestjs/common';
import { PBXPULSE_CONFIG } from '../config/config.module';
import type { PbxpulseConfig } from '../config/config.types';
import { EventBus } from '../events/event-bus';
import { OutboundRegistrationStore } from '../state/trunks/outbound-registration.store';
import type { OutboundRegistrationReader } from '../state/trunks/outbound-registration.views';
import { AlertsService } from './alerts.service';
import { type Clock, DETECTION_CLOCK } from './detection.common';
import { sweepIntervalMs } from './detection.providers';
import { OutboundRegistrationDetector } from './outbound-registration.detector';

const NO_REGISTRATIONS: OutboundRegistrationReader = {
  registrations: () => [],
  registration: () => undefined,
};

/** Nest glue of the `OutboundRegistrationDetector`: re-evaluates a node on each change, and a sweep. */
@Injectable()
export class OutboundRegistrationService implements OnModuleInit, OnModuleDestroy {
  readonly detector: OutboundRegistrationDetector;
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
    @Optional() store?: OutboundRegistrationStore,
  ) {
    const failingMs = config.detection.outboundRegistrationFailingMs;
    this.nodes = config.nodes.map((n) => n.name);
    this.detector = new OutboundRegistrationDetector({ failingMs }, store ?? NO_REGISTRATIONS, alerts, now);
    this.intervalMs = sweepIntervalMs(failingMs);
    this.unsubscribe = bus.on('outbound_registration.changed', (e) => this.detector.evaluate(e.node));
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
