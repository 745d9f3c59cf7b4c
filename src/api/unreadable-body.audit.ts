import { Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Application } from 'express';
import { AdminGuard } from './admin.guard';
import { CONTROL_ROUTES } from './control.controller';

/**
 * The JSON body parser runs before any route: a control call whose body it refuses never reaches the
 * guard or the service. Nest runs module-init hooks after registering the routes and before its own
 * error handler, so the Express error handlers added here see such calls first and audit them.
 */
@Injectable()
export class UnreadableBodyAudit implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly guard: AdminGuard,
  ) {}

  onModuleInit(): void {
    const http = this.adapterHost.httpAdapter;
    if (http?.getType() !== 'express') return;
    const app = http.getInstance<Application>();
    for (const action of ['reload', 'qualify'] as const) {
      app.use(CONTROL_ROUTES[action], this.guard.unreadableBody(action));
    }
  }
}
