import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { PBXPULSE_CONFIG } from '../config/config.module';
import type { PbxpulseConfig } from '../config/config.types';
import { EventBus } from '../events/event-bus';
import type { RegistrationReader } from '../state/registrations/registration.views';
import { AlertsService } from './alerts.service';
import { DETECTION_READER } from './detection.providers';
import { OneWayAudioDetector } from './one-way-audio.detector';

/** Nest glue of the `OneWayAudioDetector`: two bus subscriptions, no timer. */
@Injectable()
export class OneWayAudioService implements OnModuleDestroy {
  readonly detector: OneWayAudioDetector;
  private readonly unsubscribe: Array<() => void>;

  constructor(
    @Inject(PBXPULSE_CONFIG) config: PbxpulseConfig,
    bus: EventBus,
    alerts: AlertsService,
    @Inject(DETECTION_READER) reader: RegistrationReader,
  ) {
    this.detector = new OneWayAudioDetector({ thresholdMs: config.detection.oneWayAudioMs }, reader, alerts);
    this.unsubscribe = [
      bus.on('call.quality_updated', (e) => this.detector.onQualityUpdated(e)),
      bus.on('call.channel_ended', (e) => this.detector.onChannelEnded(e)),
    ];
  }

  onModuleDestroy(): void {
    for (const off of this.unsubscribe) off();
  }
}
