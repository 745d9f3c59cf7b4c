import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { ClusterModule } from '../cluster/cluster.module';
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
 * The REST API (`/api/v1`, `src/api`): every controller, the viewer and admin guards, the error
 * filter. Queries read the stores and services of the layers below; commands go through control.
 */
@Module({
  imports: [ApiErrorsModule, StateModule, DetectorsModule, DiagnosticsModule, ControlModule, ClusterModule],
  controllers: [
    NodesController,
    RegistrationsController,
    CallsController,
    AlertsController,
    SecurityEventsController,
    PjsipController,
    DiagnosticsController,
    ControlController,
  ],
  providers: [ViewerGuard, AdminGuard, UnreadableRequestAudit],
})
export class ApiModule {}
