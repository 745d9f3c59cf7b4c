import { Controller, Get, Optional, UseGuards, UseInterceptors } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { FleetRelayService } from '../cluster/fleet-relay.service';
import { NodeStateStore, type NodeView } from '../state/node-state.store';
import { KnownQueryInterceptor } from './known-query.interceptor';
import { ApiErrors, ViewerAuth } from './openapi.decorators';
import { NodesResponseDto } from './openapi.schemas';
import { ViewerGuard } from './viewer.guard';

export interface NodesResponse {
  nodes: Array<NodeView & { ready: boolean }>;
}

@ApiTags('nodes')
@ViewerAuth()
@ApiErrors(400)
@Controller('api/v1/nodes')
@UseGuards(ViewerGuard)
@UseInterceptors(KnownQueryInterceptor)
export class NodesController {
  constructor(
    private readonly state: NodeStateStore,
    @Optional() private readonly fleet?: FleetRelayService,
  ) {}

  /** Per node: AMI and ARI status, since when, last error (no secrets), Asterisk version and times. */
  @Get()
  @ApiOperation({ summary: 'Configured nodes: AMI/ARI link status, Asterisk version, readiness' })
  @ApiOkResponse({ type: NodesResponseDto })
  list(): NodesResponse {
    // Cluster mode: a node watched by another daemon as the fleet's stream shows it.
    return {
      nodes: this.state.all().map((local) => {
        const n = this.fleet?.remote(local.name)?.node ?? local;
        return { ...n, ready: n.ami.status === 'up' && n.ari.status === 'up' };
      }),
    };
  }
}
