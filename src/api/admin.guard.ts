import {
  type CanActivate,
  type ExecutionContext,
  ForbiddenException,
  Inject,
  Injectable,
  Logger,
  SetMetadata,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { ErrorRequestHandler, Request } from 'express';
import { PBXPULSE_CONFIG } from '../config/config.module';
import type { PbxpulseConfig } from '../config/config.types';
import { type ControlAction, type RefusedCall, ControlService } from '../control/control.service';
import { roleOf, tokenFrom } from '../common/token-auth';

const CONTROL_ACTION = 'pbxpulse:control-action';

/** Names the control action of a route, so that the guard can audit a refusal of it. */
export const ControlRoute = (action: ControlAction): MethodDecorator & ClassDecorator =>
  SetMetadata(CONTROL_ACTION, action);

/**
 * Control routes: the admin token in `Authorization: Bearer` (not `?token=`, which ends up in access
 * logs). No admin token configured → every call 401 (control disabled); viewer token → 403. A
 * refusal is audited like any control call (log line, `control.action` delta, counter).
 */
@Injectable()
export class AdminGuard implements CanActivate {
  private readonly logger = new Logger(AdminGuard.name);

  constructor(
    @Inject(PBXPULSE_CONFIG) private readonly config: PbxpulseConfig,
    private readonly reflector: Reflector,
    private readonly control: ControlService,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<Request>();
    const action = this.reflector.getAllAndOverride<ControlAction | undefined>(CONTROL_ACTION, [
      context.getHandler(),
      context.getClass(),
    ]);
    this.authorize(req, action ? this.callOf(req, action) : undefined);
    return true;
  }

  /**
   * Express error handler for a control route whose body the JSON parser refused: the route (and
   * this guard) never runs then, so the call is checked and audited here. A caller without the admin
   * token still gets its 401/403; the admin gets the parser's 400, audited as `bad_request`.
   */
  unreadableBody(action: ControlAction): ErrorRequestHandler {
    return (err: unknown, req, _res, next) => {
      // Mounted with `app.use`, so it also sees sub-paths; only the route itself is a control call.
      if (req.method !== 'POST' || (req.path !== '/' && req.path !== '') || !isBodyParserError(err)) {
        next(err);
        return;
      }
      const call = { ...this.callOf(req, action), unreadableBody: true };
      try {
        this.authorize(req, call);
      } catch (refusal) {
        next(refusal);
        return;
      }
      this.control.refused(call, 'bad_request', 'admin', `unreadable body: ${err.type}`);
      next(err);
    };
  }

  /** Throws 401/403 unless the request carries the admin token; audits the refusal of `call`. */
  private authorize(req: Request, call: RefusedCall | undefined): void {
    const refuse = (result: 'unauthorized' | 'forbidden', by: 'viewer' | 'anonymous', reason: string) => {
      if (call) this.control.refused(call, result, by, reason);
      // Not a control route: nothing to count, but the refusal is still worth a line.
      else this.logger.warn(`control: refused ${req.method} ${req.path} for ${by}: ${result} (${reason})`);
    };
    if (!this.config.auth.adminToken) {
      refuse('unauthorized', 'anonymous', 'control disabled: no auth.adminToken');
      throw new UnauthorizedException(
        'control is disabled until auth.adminToken is set in the configuration',
      );
    }
    const token = tokenFrom(req.headers.authorization, undefined);
    const role = roleOf(this.config.auth, token);
    if (role === 'admin') return;
    if (role === 'viewer') {
      refuse('forbidden', 'viewer', 'admin token required');
      throw new ForbiddenException('the viewer token cannot control: the admin token is required');
    }
    refuse('unauthorized', 'anonymous', token ? 'invalid token' : 'no token');
    throw new UnauthorizedException('admin token required: send Authorization: Bearer <token>');
  }

  private callOf(req: Request, action: ControlAction): RefusedCall {
    const params = req.params as Record<string, string | undefined>;
    return { action, node: params.node ?? '', body: req.body as unknown, endpoint: params.name };
  }
}

/** body-parser's errors (http-errors with a fixed `type` such as `entity.parse.failed`). */
function isBodyParserError(err: unknown): err is Error & { type: string; status: number } {
  const e = err as { type?: unknown; status?: unknown } | null;
  return typeof e?.type === 'string' && typeof e.status === 'number' && e.status >= 400 && e.status < 500;
}
