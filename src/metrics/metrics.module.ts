import { Global, Module } from '@nestjs/common';
import { AmiModule } from '../ami/ami.module';
import { AriModule } from '../ari/ari.module';
import { MetricsController } from './metrics.controller';
import { METRICS_REGISTRY, createRegistry } from './metrics.registry';
import { PbxMetrics } from './pbx-metrics';

@Global()
@Module({
  imports: [AmiModule, AriModule],
  controllers: [MetricsController],
  providers: [{ provide: METRICS_REGISTRY, useFactory: createRegistry }, PbxMetrics],
  exports: [METRICS_REGISTRY],
})
export class MetricsModule {}
