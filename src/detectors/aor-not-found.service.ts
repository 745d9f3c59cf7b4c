import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { PBXPULSE_CONFIG } from '../config/config.module';
import type { PbxpulseConfig } from '../config/config.types';
import { EventBus } from '../events/event-bus';
import type { RegistrationReader } from '../state/registrations/registration.views';
import { AlertsService } from './alerts.service';
import { AorNotFoundDetector } from './aor-not-found.detector';
import { type Clock, DETECTION_CLOCK } from './detection.common';
import { DETECTION_READER, sweepIntervalMs } from './detection.providers';

/** Endpoints with an open `aor_not_found` per node (bounded whatever Asterisk reports). */
const MAX_AOR_ENDPOINTS_PER_NODE = 1000;

/** Nest glue of the `AorNotFoundDetector`: bus subscription and one expiry timer. */
@Injectable()
export class AorNotFoundService implements OnModuleInit, OnModuleDestroy {
  readonly detector: AorNotFoundDetector;
  private readonly unsubscribe: Array<() => void>;
  private readonly intervalMs: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    @Inject(PBXPULSE_CONFIG) config: PbxpulseConfig,
    bus: EventBus,
    alerts: AlertsService,
    @Inject(DETECTION_READER) reader: RegistrationReader,
    @Inject(DETECTION_CLOCK) now: Clock,
  ) {
    const windowMs = config.detection.aorNotFoundWindowMs;
    this.detector = new AorNotFoundDetector(
      { windowMs, maxEndpointsPerNode: MAX_AOR_ENDPOINTS_PER_NODE },
      reader,
      alerts,
      now,
    );
    this.intervalMs = sweepIntervalMs(windowMs);
    this.unsubscribe = [
      bus.on('registrar.request_rejected', (e) => this.detector.onRequestRejected(e)),
      bus.on('registration.changed', (e) => {
        if (e.registered) this.detector.onRegistered(e.node, e.endpoint);
      }),
    ];
  }

  onModuleInit(): void {
    this.timer = setInterval(() => this.detector.sweep(), this.intervalMs);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    for (const off of this.unsubscribe) off();
  }
}
