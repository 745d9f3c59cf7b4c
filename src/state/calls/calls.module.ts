import { Global, Module } from '@nestjs/common';
import { AmiModule } from '../../ami/ami.module';
import { CallsController } from '../../api/calls.controller';
import { ViewerGuard } from '../../api/viewer.guard';
import { AriModule } from '../../ari/ari.module';
import { CallMetrics } from '../../metrics/call.metrics';
import { CallResync } from './call.resync';
import { CallStore } from './call.store';

/**
 * Channel and call state per node: the store, its resync steps, its metrics and its REST routes.
 * Global so that the gateway and detectors can inject `CallStore`.
 */
@Global()
@Module({
  imports: [AmiModule, AriModule],
  controllers: [CallsController],
  providers: [CallStore, CallResync, CallMetrics, ViewerGuard],
  exports: [CallStore],
})
export class CallsModule {}
