import { type DynamicModule, Module } from '@nestjs/common';
import { AmiModule } from './ami/ami.module';
import { ApiModule } from './api/api.module';
import { AriModule } from './ari/ari.module';
import { BoardModule } from './board/board.module';
import { CallsModule } from './state/calls/calls.module';
import { ConfigModule } from './config/config.module';
import { ControlModule } from './control/control.module';
import type { PbxpulseConfig } from './config/config.types';
import { DetectorsModule } from './detectors/detectors.module';
import { DiagnosticsModule } from './health/diagnostics/diagnostics.module';
import { EventsModule } from './events/events.module';
import { GatewayModule } from './gateway/gateway.module';
import { HealthModule } from './health/health.module';
import { MetricsModule } from './metrics/metrics.module';
import { StateModule } from './state/state.module';
import { RegistrationsModule } from './state/registrations/registrations.module';

@Module({})
export class AppModule {
  static forRoot(config: PbxpulseConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        EventsModule,
        StateModule,
        CallsModule,
        AmiModule,
        AriModule,
        RegistrationsModule,
        HealthModule,
        MetricsModule,
        ApiModule,
        DetectorsModule,
        DiagnosticsModule,
        GatewayModule,
        ControlModule,
        BoardModule,
      ],
    };
  }
}
