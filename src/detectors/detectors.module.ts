import { Module } from '@nestjs/common';
import { StateModule } from '../state/state.module';
import { AlertsService } from './alerts.service';
import { AorNotFoundService } from './aor-not-found.service';
import { AuthLoopService } from './auth-loop.service';
import { DETECTION_PROVIDERS, DETECTION_READER } from './detection.providers';
import { EndpointDetailService } from './endpoint-detail.service';
import { FailureClassificationService } from './failure-classification.service';
import { OneWayAudioService } from './one-way-audio.service';
import { OutboundRegistrationService } from './outbound-registration.service';
import { SecurityEventsService } from './security-events.service';
import { TrunkReachabilityService } from './trunk-reachability.service';

/**
 * Detectors (failure classification, 401 loops, AOR not found, security-event log, unknown-account
 * offenders, one-way audio, failing trunk registrations, unreachable trunks) and the alerts they raise. Read the state; write nothing but derived events and alerts.
 */
@Module({
  imports: [StateModule],
  providers: [
    ...DETECTION_PROVIDERS,
    AlertsService,
    FailureClassificationService,
    AuthLoopService,
    AorNotFoundService,
    SecurityEventsService,
    EndpointDetailService,
    OneWayAudioService,
    OutboundRegistrationService,
    TrunkReachabilityService,
  ],
  exports: [
    OneWayAudioService,
    DETECTION_READER,
    AlertsService,
    AuthLoopService,
    AorNotFoundService,
    SecurityEventsService,
    EndpointDetailService,
    OutboundRegistrationService,
    TrunkReachabilityService,
  ],
})
export class DetectorsModule {}
