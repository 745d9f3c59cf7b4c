import { Module } from '@nestjs/common';
import { AmiModule } from '../ami/ami.module';
import { AriModule } from '../ari/ari.module';
import { GatewayModule } from '../gateway/gateway.module';
import { StateModule } from '../state/state.module';
import { ClusterService } from './cluster.service';
import { FleetRelayService } from './fleet-relay.service';

/**
 * Several daemons sharing one fleet through Redis (`cluster.redis`): leases, even spread, failover, and
 * one `/ws` view of the fleet from every daemon.
 * Without `cluster:` its service is inert and every node is watched by this daemon.
 */
@Module({
  imports: [AmiModule, AriModule, StateModule, GatewayModule],
  providers: [ClusterService, FleetRelayService],
  exports: [ClusterService, FleetRelayService],
})
export class ClusterModule {}
