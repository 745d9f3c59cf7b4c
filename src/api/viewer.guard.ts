import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { PBXPULSE_CONFIG } from '../config/config.module';
import type { PbxpulseConfig } from '../config/config.types';
import { UnauthorizedError } from '../common/errors';
import { roleOf, tokenFrom } from '../common/token-auth';

/** Reads under `/api`: open unless a viewer token is configured; then the viewer or admin token is needed. */
@Injectable()
export class ViewerGuard implements CanActivate {
  constructor(@Inject(PBXPULSE_CONFIG) private readonly config: PbxpulseConfig) {}

  canActivate(context: ExecutionContext): boolean {
    if (!this.config.auth.viewerToken) return true;
    const req = context.switchToHttp().getRequest<Request>();
    const token = tokenFrom(req.headers.authorization, req.query.token);
    if (roleOf(this.config.auth, token)) return true;
    throw new UnauthorizedError('viewer or admin token required: send Authorization: Bearer <token>');
  }
}
