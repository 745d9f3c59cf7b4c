import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { PBXPULSE_CONFIG } from '../config/config.module';
import type { PbxpulseConfig } from '../config/config.types';
import { EventBus } from '../events/event-bus';
import type { RegistrationReader } from '../state/registrations/registration.views';
import { AlertsService } from './alerts.service';
import { AuthLoopDetector } from './auth-loop.detector';
import { type Clock, DETECTION_CLOCK } from './detection.common';
import { DETECTION_READER, sweepIntervalMs } from './detection.providers';

/** Endpoint + IP sources tracked per node for 401 loops (brute force from many IPs stays bounded). */
const MAX_LOOP_SOURCES_PER_NODE = 1000;

/** Nest glue of the `AuthLoopDetector`: bus subscription and one sweep timer. */
@Injectable()
export class AuthLoopService implements OnModuleInit, OnModuleDestroy {
  readonly detector: AuthLoopDetector;
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
    const d = config.detection;
    this.detector = new AuthLoopDetector(
      {
        threshold: d.authLoopThreshold,
        windowMs: d.authLoopWindowMs,
        quietMs: d.authLoopQuietMs,
        maxSourcesPerNode: MAX_LOOP_SOURCES_PER_NODE,
      },
      reader,
      alerts,
      now,
    );
    this.intervalMs = sweepIntervalMs(d.authLoopWindowMs, d.authLoopQuietMs);
    this.unsubscribe = [
      bus.on('auth.challenge_failed', (e) => this.detector.onChallengeFailed(e)),
      bus.on('auth.succeeded', (e) => this.detector.onSucceeded(e)),
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
