import {
  type CanActivate,
  type ExecutionContext,
  Inject,
  Injectable,
  Logger,
  SetMetadata,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { ErrorRequestHandler, Request } from 'express';
import { PBXPULSE_CONFIG } from '../config/config.module';
import type { PbxpulseConfig } from '../config/config.types';
import { type ControlAction, type RefusedCall, ControlService } from '../control/control.service';
import { ForbiddenError, UnauthorizedError } from '../common/errors';
import { roleOf, tokenFrom } from '../common/token-auth';
import { CONTROL_ROUTES } from './control.routes';
import { jsonBodyOf } from './json-body';

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
   * Express error handler for a control call that Express refused before routing it: a body the
   * parser refused (bad JSON, too large, unsupported charset) or a path it cannot decode (`%FF`).
   * The route (and this guard) never runs then, so the call is checked and audited here, matched on
   * the raw path. A caller without the admin token still gets its 401/403; the admin gets Express's
   * 400/413/415, audited as `bad_request`. Anything else passes on untouched.
   */
  unreadableRequest(): ErrorRequestHandler {
    return (err: unknown, req, _res, next) => {
      const call = req.method === 'POST' ? controlCallOf(req.path) : undefined;
      const refusal = call ? requestErrorOf(err) : undefined;
      if (!call || !refusal) {
        next(err);
        return;
      }
      try {
        this.authorize(req, call);
      } catch (denied) {
        next(denied);
        return;
      }
      this.control.refused(call, 'bad_request', 'admin', refusal);
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
      throw new UnauthorizedError('control is disabled until auth.adminToken is set in the configuration');
    }
    const token = tokenFrom(req.headers.authorization, undefined);
    const role = roleOf(this.config.auth, token);
    if (role === 'admin') return;
    if (role === 'viewer') {
      refuse('forbidden', 'viewer', 'admin token required');
      throw new ForbiddenError('the viewer token cannot control: the admin token is required');
    }
    refuse('unauthorized', 'anonymous', token ? 'invalid token' : 'no token');
    throw new UnauthorizedError('admin token required: send Authorization: Bearer <token>');
  }

  private callOf(req: Request, action: ControlAction): RefusedCall {
    const params = req.params as Record<string, string | undefined>;
    return { action, node: params.node ?? '', body: jsonBodyOf(req), endpoint: params.name };
  }
}

/** A control route as a pattern over the raw (undecoded) path: `:param` is one segment. */
function rawPattern(route: string): RegExp {
  const source = route.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:\w+/g, '([^/]*)');
  // Express matches routes case-insensitively and with an optional trailing slash.
  return new RegExp(`^${source}/?$`, 'i');
}

const RAW_CONTROL_PATTERNS = (Object.keys(CONTROL_ROUTES) as ControlAction[]).map(
  (action) => [action, rawPattern(CONTROL_ROUTES[action])] as const,
);

/** The control call a raw request path names, with its parameters decoded where they can be. */
export function controlCallOf(rawPath: string): RefusedCall | undefined {
  for (const [action, pattern] of RAW_CONTROL_PATTERNS) {
    const m = pattern.exec(rawPath);
    if (!m) continue;
    const call: RefusedCall = { action, node: decodedOrRaw(m[1]), unreadableBody: true };
    if (action === 'qualify') call.endpoint = decodedOrRaw(m[2]);
    return call;
  }
  return undefined;
}

function decodedOrRaw(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * The audit reason of a client error Express raised before routing: body-parser's http-errors carry
 * a fixed `type` (`entity.parse.failed`, `entity.too.large`, `charset.unsupported`); the router's
 * undecodable parameter is a `URIError` with status 400. Fixed texts only, never caller input.
 */
function requestErrorOf(err: unknown): string | undefined {
  const e = err as { type?: unknown; status?: unknown } | null;
  if (typeof e?.status !== 'number' || e.status < 400 || e.status >= 500) return undefined;
  if (err instanceof URIError) return 'undecodable path';
  if (typeof e.type === 'string' && /^[a-z.]{1,40}$/.test(e.type)) return `unreadable body: ${e.type}`;
  return undefined;
}
