import { Inject, type MiddlewareConsumer, Module, type NestModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { ClusterModule } from '../cluster/cluster.module';
import { PBXPULSE_CONFIG } from '../config/config.module';
import type { PbxpulseConfig } from '../config/config.types';
import { ControlModule } from '../control/control.module';
import { DetectorsModule } from '../detectors/detectors.module';
import { DiagnosticsModule } from '../health/diagnostics/diagnostics.module';
import { StateModule } from '../state/state.module';
import { AdminGuard } from './admin.guard';
import { AlertsController } from './alerts.controller';
import { CallsController } from './calls.controller';
import { ControlController } from './control.controller';
import { DiagnosticsController } from './diagnostics.controller';
import { ErrorFilter } from './error.filter';
import { MalformedRequestAnswer } from './malformed-request.answer';
import { NodeForwardMiddleware } from './node-forward.middleware';
import { NodesController } from './nodes.controller';
import { PjsipController } from './pjsip.controller';
import { RegistrationsController } from './registrations.controller';
import { SecurityEventsController } from './security-events.controller';
import { UnreadableRequestAudit } from './unreadable-request.audit';
import { ViewerGuard } from './viewer.guard';

/**
 * The one HTTP error mapping, as an app-wide filter (plus the answer to requests Node's HTTP parser
 * refuses): any app whose modules import this (through `ApiModule` or directly, as route tests do)
 * answers every error with its status and the `{statusCode, code, message}` body.
 */
@Module({ providers: [{ provide: APP_FILTER, useClass: ErrorFilter }, MalformedRequestAnswer] })
export class ApiErrorsModule {}

/**
 * Controllers whose routes are reads of one node (`/api/v1/nodes/:node/…`, GET only): in cluster mode a
 * daemon that does not watch the node forwards them to its watcher (NodeForwardMiddleware).
 */
export const NODE_READ_CONTROLLERS = [
  RegistrationsController,
  CallsController,
  SecurityEventsController,
  PjsipController,
  DiagnosticsController,
];

/**
 * The REST API (`/api/v1`, `src/api`): every controller, the viewer and admin guards, the error
 * filter. Queries read the stores and services of the layers below; commands go through control.
 */
@Module({
  imports: [ApiErrorsModule, StateModule, DetectorsModule, DiagnosticsModule, ControlModule, ClusterModule],
  controllers: [NodesController, AlertsController, ...NODE_READ_CONTROLLERS, ControlController],
  providers: [ViewerGuard, AdminGuard, UnreadableRequestAudit],
})
export class ApiModule implements NestModule {
  constructor(@Inject(PBXPULSE_CONFIG) private readonly config: PbxpulseConfig) {}

  /** Cluster mode only: a single daemon watches every node and never enters the forwarding path. */
  configure(consumer: MiddlewareConsumer): void {
    if (this.config.cluster) consumer.apply(NodeForwardMiddleware).forRoutes(...NODE_READ_CONTROLLERS);
  }
}
