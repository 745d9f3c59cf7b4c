import { Controller, Get, HttpCode, Res } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
  type SchemaObject,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { NodeStateStore } from '../state/node-state.store';
import { ShutdownState } from './shutdown.state';

interface Indicator {
  status: 'up' | 'down';
  [key: string]: unknown;
}

/** Terminus-style body: `status`, and per indicator `info` (up), `error` (down) and `details` (all). */
export interface HealthBody {
  status: 'ok' | 'error';
  info: Record<string, Indicator>;
  error: Record<string, Indicator>;
  details: Record<string, Indicator>;
}

const INDICATORS_SCHEMA: SchemaObject = {
  type: 'object',
  additionalProperties: {
    type: 'object',
    required: ['status'],
    properties: { status: { type: 'string', enum: ['up', 'down'] } },
    additionalProperties: true,
  },
};

/** OpenAPI shape of `HealthBody`. */
const HEALTH_BODY_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['status', 'info', 'error', 'details'],
  properties: {
    status: { type: 'string', enum: ['ok', 'error'] },
    info: INDICATORS_SCHEMA,
    error: INDICATORS_SCHEMA,
    details: INDICATORS_SCHEMA,
  },
  example: {
    status: 'ok',
    info: { 'node:pbx1': { status: 'up', ami: 'up', ari: 'up' } },
    error: {},
    details: { 'node:pbx1': { status: 'up', ami: 'up', ari: 'up' } },
  },
};

/** Liveness and readiness for orchestrators. Indicators never throw: a problem is `down` with details. */
@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly state: NodeStateStore,
    private readonly shutdown: ShutdownState,
  ) {}

  /** 200 while the process runs. */
  @Get('live')
  @HttpCode(200)
  @ApiOperation({ summary: 'Liveness: 200 while the process runs (open, no token)' })
  @ApiOkResponse({ schema: HEALTH_BODY_SCHEMA })
  live(): HealthBody {
    const process: Indicator = { status: 'up' };
    return { status: 'ok', info: { process }, error: {}, details: { process } };
  }

  /** 200 when every node has AMI logged in and the ARI event socket connected; else 503. */
  @Get('ready')
  @ApiOperation({
    summary: 'Readiness: every node has AMI logged in and the ARI event socket connected (open, no token)',
  })
  @ApiOkResponse({ schema: HEALTH_BODY_SCHEMA })
  @ApiServiceUnavailableResponse({
    description: 'A node is not connected, or the daemon is shutting down',
    schema: HEALTH_BODY_SCHEMA,
  })
  ready(@Res({ passthrough: true }) res: Response): HealthBody {
    const details: Record<string, Indicator> = {};
    if (this.shutdown.isShuttingDown) {
      details.daemon = { status: 'down', message: 'shutting down' };
    }
    for (const node of this.state.all()) {
      const ready = node.ami.status === 'up' && node.ari.status === 'up';
      const indicator: Indicator = {
        status: ready ? 'up' : 'down',
        ami: node.ami.status,
        ari: node.ari.status,
      };
      if (node.ami.status !== 'up' && node.ami.lastError) indicator.amiError = node.ami.lastError;
      if (node.ari.status !== 'up' && node.ari.lastError) indicator.ariError = node.ari.lastError;
      details[`node:${node.name}`] = indicator;
    }
    const info: Record<string, Indicator> = {};
    const error: Record<string, Indicator> = {};
    for (const [key, ind] of Object.entries(details)) (ind.status === 'up' ? info : error)[key] = ind;
    const ok = Object.keys(error).length === 0;
    res.status(ok ? 200 : 503);
    return { status: ok ? 'ok' : 'error', info, error, details };
  }
}
