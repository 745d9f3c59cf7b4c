import { Controller, Get, Param, UseGuards } from '@nestjs/common';
import { type DiagnosticsResult, DiagnosticsService } from '../health/diagnostics/diagnostics.service';
import { NodeStateStore } from '../state/node-state.store';
import { requireNode } from './node-param';
import { ViewerGuard } from './viewer.guard';

/** The node's last configuration diagnosis (computed on demand the first time). */
@Controller('api/v1/nodes/:node')
@UseGuards(ViewerGuard)
export class DiagnosticsController {
  constructor(
    private readonly nodes: NodeStateStore,
    private readonly diagnostics: DiagnosticsService,
  ) {}

  @Get('diagnostics')
  diagnosticsOf(@Param('node') node: string): Promise<DiagnosticsResult> {
    return this.diagnostics.get(requireNode(this.nodes, node));
  }
}
