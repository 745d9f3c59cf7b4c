import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import type { Request } from 'express';
import type { Observable } from 'rxjs';
import { BadRequestError } from '../common/errors';

/** Accepted by every route: `?token=` is how a browser passes the viewer token (see token-auth.ts). */
export const ALWAYS_ACCEPTED_QUERY = ['token'] as const;

/** How many unknown names one message quotes, and how much of each (they are client input). */
const MAX_NAMED = 5;
const MAX_NAME_LENGTH = 40;

/**
 * The `@Query('name')` parameters of a handler, in declaration order. Read from the same route
 * metadata Nest binds arguments from (and @nestjs/swagger documents), so the accepted list cannot
 * drift from the handler signature. A whole-object `@Query()` contributes no name.
 */
export function declaredQueryParams(controller: object, handler: string): string[] {
  const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, handler) ?? {}) as Record<
    string,
    { index: number; data?: unknown }
  >;
  return Object.entries(args)
    .filter(([key, arg]) => key.startsWith(`${RouteParamtypes.QUERY}:`) && typeof arg.data === 'string')
    .sort(([, a], [, b]) => a.index - b.index)
    .map(([, arg]) => arg.data as string);
}

/** A BAD_REQUEST naming the query parameters outside `accepted` (plus `token`), or `undefined`. */
export function unknownQueryError(
  query: Record<string, unknown>,
  accepted: readonly string[],
): BadRequestError | undefined {
  const allowed = [...accepted, ...ALWAYS_ACCEPTED_QUERY.filter((t) => !accepted.includes(t))];
  const unknown = Object.keys(query).filter((k) => !allowed.includes(k));
  if (unknown.length === 0) return undefined;
  const named = unknown.slice(0, MAX_NAMED).map((k) => `'${k.slice(0, MAX_NAME_LENGTH)}'`);
  const more = unknown.length > MAX_NAMED ? ` (and ${unknown.length - MAX_NAMED} more)` : '';
  const noun = unknown.length === 1 ? 'parameter' : 'parameters';
  return new BadRequestError(
    `unknown query ${noun} ${named.join(', ')}${more}; accepted: ${allowed.join(', ')}`,
  );
}

/**
 * Refuses query parameters a route does not read with a 400, so a misspelt filter
 * (`?registred=true`) is not silently ignored. Runs after the guards: without a valid token the
 * answer stays 401. Apply with `@UseInterceptors(KnownQueryInterceptor)` on `/api` read controllers.
 */
@Injectable()
export class KnownQueryInterceptor implements NestInterceptor {
  private readonly acceptedByHandler = new WeakMap<object, string[]>();

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const error = unknownQueryError(
      context.switchToHttp().getRequest<Request>().query ?? {},
      this.accepted(context),
    );
    if (error) throw error;
    return next.handle();
  }

  private accepted(context: ExecutionContext): string[] {
    const handler = context.getHandler();
    let names = this.acceptedByHandler.get(handler);
    if (!names) {
      names = declaredQueryParams(context.getClass(), handler.name);
      this.acceptedByHandler.set(handler, names);
    }
    return names;
  }
}
