import { Module } from '@nestjs/common';
import { AmiModule } from '../ami/ami.module';
import { AriModule } from '../ari/ari.module';
import { ClusterModule } from '../cluster/cluster.module';
import { GatewayModule } from '../gateway/gateway.module';
import { DiagnosticsModule } from '../health/diagnostics/diagnostics.module';
import { MetricsModule } from '../metrics/metrics.module';
import { StateModule } from '../state/state.module';
import { ControlService } from './control.service';
import { CONTROL_CLOCK } from './reload-rate-limiter';

/** Operator commands (reload, qualify) through the AMI surface: allowlist, per-node rate limit, audit. */
@Module({
  imports: [
    AmiModule,
    AriModule,
    ClusterModule,
    StateModule,
    DiagnosticsModule,
    GatewayModule,
    MetricsModule,
  ],
  providers: [ControlService, { provide: CONTROL_CLOCK, useValue: Date.now }],
  exports: [ControlService],
})
export class ControlModule {}
