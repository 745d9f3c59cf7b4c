import { Controller, Get, Param, UseGuards, UseInterceptors } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { type DiagnosticsResult, DiagnosticsService } from '../health/diagnostics/diagnostics.service';
import { NodeStateStore } from '../state/node-state.store';
import { KnownQueryInterceptor } from './known-query.interceptor';
import { requireNode } from './node-param';
import { ApiErrors, ApiNodeParam, ViewerAuth } from './openapi.decorators';
import { DiagnosticsResponseDto } from './openapi.schemas';
import { ViewerGuard } from './viewer.guard';

/** The node's last configuration diagnosis (computed on demand the first time). */
@ApiTags('diagnostics')
@ViewerAuth()
@ApiNodeParam()
@ApiErrors(400, 404, 503, 504)
@Controller('api/v1/nodes/:node')
@UseGuards(ViewerGuard)
@UseInterceptors(KnownQueryInterceptor)
export class DiagnosticsController {
  constructor(
    private readonly nodes: NodeStateStore,
    private readonly diagnostics: DiagnosticsService,
  ) {}

  @Get('diagnostics')
  @ApiOperation({
    summary: 'Configuration findings (WebRTC, AORs, auths, transports, modules, HTTP/TLS) with remedies',
    description: 'The last diagnosis; the first call computes it over AMI (503 while the AMI link is down).',
  })
  @ApiOkResponse({ type: DiagnosticsResponseDto })
  diagnosticsOf(@Param('node') node: string): Promise<DiagnosticsResult> {
    return this.diagnostics.get(requireNode(this.nodes, node));
  }
}
