import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import { BadRequestError } from '../common/errors';
import { AlertsService } from '../detectors/alerts.service';
import type { Alert, AlertType } from '../events/pbx-events';
import { NodeStateStore } from '../state/node-state.store';
import { ViewerGuard } from './viewer.guard';

const ALERT_TYPES: readonly AlertType[] = ['auth_loop', 'aor_not_found', 'diagnostic'];

export interface AlertsResponse {
  alerts: Alert[];
}

/** Active alerts of every node, oldest first. */
@Controller('api/v1/alerts')
@UseGuards(ViewerGuard)
export class AlertsController {
  constructor(
    private readonly state: NodeStateStore,
    private readonly alerts: AlertsService,
  ) {}

  /** Optional filters: `?node=` (a configured node), `?type=auth_loop|aor_not_found`. */
  @Get()
  list(@Query('node') node?: unknown, @Query('type') type?: unknown): AlertsResponse {
    if (node !== undefined && (typeof node !== 'string' || !this.state.has(node))) {
      throw new BadRequestError(`node: expected a configured node name (${this.state.names().join(', ')})`);
    }
    if (type !== undefined && !ALERT_TYPES.includes(type as AlertType)) {
      throw new BadRequestError(`type: expected one of ${ALERT_TYPES.join(', ')}`);
    }
    return { alerts: this.alerts.list({ node, type: type as AlertType | undefined }) };
  }
}
