import { Controller, Get, UseGuards } from '@nestjs/common';
import { NodeStateStore, type NodeView } from '../state/node-state.store';
import { ViewerGuard } from './viewer.guard';

export interface NodesResponse {
  nodes: Array<NodeView & { ready: boolean }>;
}

@Controller('api/v1/nodes')
@UseGuards(ViewerGuard)
export class NodesController {
  constructor(private readonly state: NodeStateStore) {}

  /** Per node: AMI and ARI status, since when, last error (no secrets), Asterisk version and times. */
  @Get()
  list(): NodesResponse {
    return { nodes: this.state.all().map((n) => ({ ...n, ready: this.state.isReady(n.name) })) };
  }
}
