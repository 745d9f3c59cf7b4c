import { Controller, Get } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
  type SchemaObject,
} from '@nestjs/swagger';
import {
  HealthCheck,
  type HealthCheckResult,
  HealthCheckService,
  type HealthIndicatorResult,
  HealthIndicatorService,
} from '@nestjs/terminus';
import { LinkHealthIndicator } from './link.health';
import { ShutdownState } from './shutdown.state';

const INDICATORS_SCHEMA: SchemaObject = {
  type: 'object',
  additionalProperties: {
    type: 'object',
    required: ['status'],
    properties: { status: { type: 'string', enum: ['up', 'down'] } },
    additionalProperties: true,
  },
};

const SINCE = '2026-11-23T11:25:10.312Z';

/** OpenAPI shape of terminus's `HealthCheckResult`, with our indicators as the example. */
const HEALTH_BODY_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['status', 'info', 'error', 'details'],
  properties: {
    status: { type: 'string', enum: ['ok', 'error', 'shutting_down'] },
    info: INDICATORS_SCHEMA,
    error: INDICATORS_SCHEMA,
    details: INDICATORS_SCHEMA,
  },
  example: {
    status: 'ok',
    info: {
      daemon: { status: 'up' },
      'node:pbx1': { status: 'up', ami: 'up', ari: 'up' },
      'ami:pbx1': { status: 'up', state: 'up', since: SINCE, lastError: null },
      'ari:pbx1': { status: 'up', state: 'up', since: SINCE, lastError: null },
    },
    error: {},
    details: {
      daemon: { status: 'up' },
      'node:pbx1': { status: 'up', ami: 'up', ari: 'up' },
      'ami:pbx1': { status: 'up', state: 'up', since: SINCE, lastError: null },
      'ari:pbx1': { status: 'up', state: 'up', since: SINCE, lastError: null },
    },
  },
};

/**
 * Liveness and readiness for orchestrators, as terminus health checks: 200 with the body when every
 * indicator is up, 503 with the same body shape when one is down (terminus throws; the error filter
 * passes its body through).
 */
@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly links: LinkHealthIndicator,
    private readonly shutdown: ShutdownState,
  ) {}

  /** 200 while the process runs. */
  @Get('live')
  @HealthCheck({ noCache: true, swaggerDocumentation: false })
  @ApiOperation({ summary: 'Liveness: 200 while the process runs (open, no token)' })
  @ApiOkResponse({ schema: HEALTH_BODY_SCHEMA })
  live(): Promise<HealthCheckResult> {
    return this.health.check([() => this.indicators.check('process').up()]);
  }

  /** 200 when the daemon is not shutting down and every node has AMI logged in and ARI connected. */
  @Get('ready')
  @HealthCheck({ noCache: true, swaggerDocumentation: false })
  @ApiOperation({
    summary: 'Readiness: every node has AMI logged in and the ARI event socket connected (open, no token)',
  })
  @ApiOkResponse({ schema: HEALTH_BODY_SCHEMA })
  @ApiServiceUnavailableResponse({
    description: 'A node is not connected, or the daemon is shutting down',
    schema: HEALTH_BODY_SCHEMA,
  })
  ready(): Promise<HealthCheckResult> {
    return this.health.check([() => this.daemon(), ...this.links.checks()]);
  }

  /**
   * Down from SIGTERM on (main.ts), before `app.close()` starts: orchestrators stop routing to us
   * while the adapters log off.
   */
  private daemon(): HealthIndicatorResult {
    const session = this.indicators.check('daemon');
    return this.shutdown.isShuttingDown ? session.down({ message: 'shutting down' }) : session.up();
  }
}
