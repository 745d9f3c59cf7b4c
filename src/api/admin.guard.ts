import {
  type CanActivate,
  type ExecutionContext,
  ForbiddenException,
  Inject,
  Injectable,
  Logger,
  UnauthorizedException,
} from '@nestjs/common';
import type { Request } from 'express';
import { PBXPULSE_CONFIG } from '../config/config.module';
import type { PbxpulseConfig } from '../config/config.types';
import { roleOf, tokenFrom } from './token-auth';

/**
 * Control routes: the admin token in `Authorization: Bearer` (not `?token=`, which ends up in access
 * logs). No admin token configured → every call 401 (control disabled); viewer token → 403.
 */
@Injectable()
export class AdminGuard implements CanActivate {
  private readonly logger = new Logger(AdminGuard.name);

  constructor(@Inject(PBXPULSE_CONFIG) private readonly config: PbxpulseConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<Request>();
    const what = `${req.method} ${req.path}`;
    if (!this.config.auth.adminToken) {
      this.logger.warn(`control: refused ${what}: control disabled (no auth.adminToken)`);
      throw new UnauthorizedException(
        'control is disabled until auth.adminToken is set in the configuration',
      );
    }
    const token = tokenFrom(req.headers.authorization, undefined);
    const role = roleOf(this.config.auth, token);
    if (role === 'admin') return true;
    if (role === 'viewer') {
      this.logger.warn(`control: refused ${what} for viewer: admin token required`);
      throw new ForbiddenException('the viewer token cannot control: the admin token is required');
    }
    this.logger.warn(`control: refused ${what}: ${token ? 'invalid token' : 'no token'}`);
    throw new UnauthorizedException('admin token required: send Authorization: Bearer <token>');
  }
}
