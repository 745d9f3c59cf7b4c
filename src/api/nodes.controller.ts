import { Controller, Get, UseGuards, UseInterceptors } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
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
  constructor(private readonly state: NodeStateStore) {}

  /** Per node: AMI and ARI status, since when, last error (no secrets), Asterisk version and times. */
  @Get()
  @ApiOperation({ summary: 'Configured nodes: AMI/ARI link status, Asterisk version, readiness' })
  @ApiOkResponse({ type: NodesResponseDto })
  list(): NodesResponse {
    return { nodes: this.state.all().map((n) => ({ ...n, ready: this.state.isReady(n.name) })) };
  }
}
