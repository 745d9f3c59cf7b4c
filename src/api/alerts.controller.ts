import { Controller, Get, Optional, Query, UseGuards, UseInterceptors } from '@nestjs/common';
import { BadRequestError } from '../common/errors';
import { ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { FleetRelayService } from '../cluster/fleet-relay.service';
import { AlertsService } from '../detectors/alerts.service';
import type { Alert, AlertType } from '../events/pbx-events';
import { NodeStateStore } from '../state/node-state.store';
import { KnownQueryInterceptor } from './known-query.interceptor';
import { ApiErrors, ViewerAuth } from './openapi.decorators';
import { AlertsResponseDto } from './openapi.schemas';
import { ViewerGuard } from './viewer.guard';

const ALERT_TYPES: readonly AlertType[] = [
  'auth_loop',
  'aor_not_found',
  'diagnostic',
  'one_way_audio',
  'outbound_registration',
  'trunk_unreachable',
];

export interface AlertsResponse {
  alerts: Alert[];
}

/** Active alerts of every node, oldest first. */
@ApiTags('alerts')
@ViewerAuth()
@ApiErrors(400)
@Controller('api/v1/alerts')
@UseGuards(ViewerGuard)
@UseInterceptors(KnownQueryInterceptor)
export class AlertsController {
  constructor(
    private readonly state: NodeStateStore,
    private readonly alerts: AlertsService,
    @Optional() private readonly fleet?: FleetRelayService,
  ) {}

  /** Optional filters: `?node=` (a configured node), `?type=` (one of ALERT_TYPES). */
  @Get()
  @ApiOperation({
    summary: 'Active alerts of every node (401 loops, AOR not found, diagnoses), oldest first',
  })
  @ApiQuery({ name: 'node', required: false, type: String, description: 'Only this configured node' })
  @ApiQuery({ name: 'type', required: false, enum: ALERT_TYPES })
  @ApiOkResponse({ type: AlertsResponseDto })
  list(@Query('node') node?: unknown, @Query('type') type?: unknown): AlertsResponse {
    if (node !== undefined && (typeof node !== 'string' || !this.state.has(node))) {
      throw new BadRequestError(`node: expected a configured node name (${this.state.names().join(', ')})`);
    }
    if (type !== undefined && !ALERT_TYPES.includes(type as AlertType)) {
      throw new BadRequestError(`type: expected one of ${ALERT_TYPES.join(', ')}`);
    }
    const local = this.alerts.list({ node, type: type as AlertType | undefined });
    const fleet = this.fleet;
    if (!fleet?.isClustered) return { alerts: local };
    // Cluster mode: the alerts of nodes watched elsewhere come from the fleet's stream.
    const remote = this.state
      .names()
      .filter((n) => node === undefined || n === node)
      .flatMap((n) => fleet.remote(n)?.alerts ?? [])
      .filter((a) => type === undefined || a.type === type);
    const alerts = [...local.filter((a) => fleet.remote(a.node) === undefined), ...remote];
    return { alerts: alerts.sort((a, b) => a.since.localeCompare(b.since)) };
  }
}
