import { Controller, Get, Header, Inject, Optional, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import type { Registry } from 'prom-client';
import { NodeOwnership } from '../state/node-ownership';
import { METRICS_REGISTRY } from './metrics.registry';
import { withoutNodeSeries } from './node-series.filter';

@ApiTags('metrics')
@Controller()
export class MetricsController {
  constructor(
    @Inject(METRICS_REGISTRY) private readonly registry: Registry,
    @Optional() private readonly ownership?: NodeOwnership,
  ) {}

  /** Prometheus text exposition. Open, like most exporters: it carries no secrets. */
  @Get('metrics')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: 'Prometheus text exposition (`pbxpulse_*` metrics; open, no token)' })
  @ApiProduces('text/plain')
  @ApiOkResponse({ description: 'Prometheus text format 0.0.4', schema: { type: 'string' } })
  async metrics(@Res() res: Response): Promise<void> {
    res.setHeader('Content-Type', this.registry.contentType);
    const text = await this.registry.metrics();
    // Cluster mode: node series come from the node's watcher only.
    const others = this.ownership?.isClustered ? this.ownership.notWatched() : undefined;
    res.send(others ? withoutNodeSeries(text, others) : text);
  }
}
