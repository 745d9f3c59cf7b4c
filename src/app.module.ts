import { type DynamicModule, Module } from '@nestjs/common';
import { AmiModule } from './ami/ami.module';
import { ApiModule } from './api/api.module';
import { AriModule } from './ari/ari.module';
import { BoardModule } from './board/board.module';
import { ClusterModule } from './cluster/cluster.module';
import { ConfigModule } from './config/config.module';
import type { PbxpulseConfig } from './config/config.types';
import { ControlModule } from './control/control.module';
import { DetectorsModule } from './detectors/detectors.module';
import { EventsModule } from './events/events.module';
import { GatewayModule } from './gateway/gateway.module';
import { DiagnosticsModule } from './health/diagnostics/diagnostics.module';
import { HealthModule } from './health/health.module';
import { MetricsRegistryModule } from './metrics/metrics-registry.module';
import { MetricsModule } from './metrics/metrics.module';
import { StateModule } from './state/state.module';

/**
 * One Nest module per layer folder (docs/decisions.md). Global: the configuration, the event bus and
 * the metrics registry only; every other dependency is an explicit import.
 */
@Module({})
export class AppModule {
  static forRoot(config: PbxpulseConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        EventsModule,
        MetricsRegistryModule,
        AmiModule,
        AriModule,
        StateModule,
        ClusterModule,
        DetectorsModule,
        HealthModule,
        DiagnosticsModule,
        MetricsModule,
        GatewayModule,
        ControlModule,
        ApiModule,
        BoardModule,
      ],
    };
  }
}
