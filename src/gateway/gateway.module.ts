import { Module } from '@nestjs/common';
import { GatewayBridge } from './gateway.bridge';
import { GatewayHub } from './gateway.hub';
import { GatewayMetrics } from './gateway.metrics';
import { LiveGateway } from './live.gateway';

@Module({ providers: [GatewayHub, GatewayBridge, LiveGateway, GatewayMetrics], exports: [GatewayHub] })
export class GatewayModule {}
