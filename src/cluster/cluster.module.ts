import { Module } from '@nestjs/common';
import { AmiModule } from '../ami/ami.module';
import { AriModule } from '../ari/ari.module';
import { StateModule } from '../state/state.module';
import { ClusterService } from './cluster.service';

/**
 * Several daemons sharing one fleet through Redis (`cluster.redis`): leases, even spread, failover.
 * Without `cluster:` its service is inert and every node is watched by this daemon.
 */
@Module({
  imports: [AmiModule, AriModule, StateModule],
  providers: [ClusterService],
  exports: [ClusterService],
})
export class ClusterModule {}
