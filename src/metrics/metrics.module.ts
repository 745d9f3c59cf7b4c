import { Module } from '@nestjs/common';
import { AmiModule } from '../ami/ami.module';
import { AriModule } from '../ari/ari.module';
import { DetectorsModule } from '../detectors/detectors.module';
import { DiagnosticsModule } from '../health/diagnostics/diagnostics.module';
import { StateModule } from '../state/state.module';
import { CallQualityMetrics } from './call-quality.metrics';
import { CallMetrics } from './call.metrics';
import { ControlMetrics } from './control.metrics';
import { DetectionMetrics } from './detection.metrics';
import { DiagnosticMetrics } from './diagnostic.metrics';
import { MetricsController } from './metrics.controller';
import { OutboundRegistrationMetrics } from './outbound-registration.metrics';
import { TrunkMetrics } from './trunk.metrics';
import { PbxMetrics } from './pbx-metrics';
import { RegistrationMetrics } from './registration.metrics';

/**
 * `/metrics` and the metric definitions of `src/metrics` (the public contract): counters on events,
 * gauges read from the stores and services at scrape time. The `/ws` gateway's own gauge lives with
 * the gateway.
 */
@Module({
  imports: [AmiModule, AriModule, StateModule, DetectorsModule, DiagnosticsModule],
  controllers: [MetricsController],
  providers: [
    PbxMetrics,
    RegistrationMetrics,
    OutboundRegistrationMetrics,
    TrunkMetrics,
    CallMetrics,
    CallQualityMetrics,
    DetectionMetrics,
    DiagnosticMetrics,
    ControlMetrics,
  ],
  exports: [ControlMetrics],
})
export class MetricsModule {}
