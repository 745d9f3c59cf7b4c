import { Module } from '@nestjs/common';
import { DetectorsModule } from '../detectors/detectors.module';
import { StateModule } from '../state/state.module';
import { GatewayBridge } from './gateway.bridge';
import { GatewayHub } from './gateway.hub';
import { GatewayMetrics } from './gateway.metrics';
import { LiveGateway } from './live.gateway';

/** `/ws`: the hub (ordering, replay), the transport, and the bridge from stores and detectors to deltas. */
@Module({
  imports: [StateModule, DetectorsModule],
  providers: [GatewayHub, GatewayBridge, LiveGateway, GatewayMetrics],
  exports: [GatewayHub],
})
export class GatewayModule {}
