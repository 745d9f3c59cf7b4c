import { Global, Module } from '@nestjs/common';
import { METRICS_REGISTRY, createRegistry } from './metrics.registry';

/** The daemon's one prom-client registry: global, because every layer's metric class registers in it. */
@Global()
@Module({
  providers: [{ provide: METRICS_REGISTRY, useFactory: createRegistry }],
  exports: [METRICS_REGISTRY],
})
export class MetricsRegistryModule {}
