import { Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Application } from 'express';
import { AdminGuard } from './admin.guard';

/**
 * Express refuses some requests before any route runs: a body the JSON parser cannot read, a path
 * it cannot decode (`%FF`). Such a control call never reaches the guard or the service. Nest runs
 * module-init hooks after registering the routes and before its own error handler, so the Express
 * error handler added here sees such calls first and audits them (matched on the raw path).
 */
@Injectable()
export class UnreadableRequestAudit implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly guard: AdminGuard,
  ) {}

  onModuleInit(): void {
    const http = this.adapterHost.httpAdapter;
    if (http?.getType() !== 'express') return;
    http.getInstance<Application>().use(this.guard.unreadableRequest());
  }
}
