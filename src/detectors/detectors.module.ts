import { Global, Module } from '@nestjs/common';
import { AlertsController } from '../api/alerts.controller';
import { SecurityEventsController } from '../api/security-events.controller';
import { ViewerGuard } from '../api/viewer.guard';
import { DetectionMetrics } from '../metrics/detection.metrics';
import { AlertsService } from './alerts.service';
import { AorNotFoundService } from './aor-not-found.service';
import { AuthLoopService } from './auth-loop.service';
import { DETECTION_PROVIDERS } from './detection.providers';
import { EndpointDetailService } from './endpoint-detail.service';
import { FailureClassificationService } from './failure-classification.service';
import { SecurityEventsService } from './security-events.service';

/**
 * Detectors (failure classification, 401 loops, AOR not found, security-event log, unknown-account
 * offenders), the alerts they raise, their metrics and REST routes. Reads registration state through
 * `REGISTRATION_READER`; writes nothing but derived events and alerts.
 */
@Global()
@Module({
  controllers: [AlertsController, SecurityEventsController],
  providers: [
    ...DETECTION_PROVIDERS,
    ViewerGuard,
    AlertsService,
    FailureClassificationService,
    AuthLoopService,
    AorNotFoundService,
    SecurityEventsService,
    EndpointDetailService,
    DetectionMetrics,
  ],
  exports: [AlertsService, SecurityEventsService, EndpointDetailService],
})
export class DetectorsModule {}
