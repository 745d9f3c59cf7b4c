import { type ExecutionContext, createParamDecorator } from '@nestjs/common';
import type { Request } from 'express';
import { NON_JSON_BODY } from '../control/control-body';

/**
 * The request body as the JSON parser read it: `undefined` when there is none, `NON_JSON_BODY` when
 * there is one that is not `application/json`. Express's JSON parser skips other media types and
 * leaves `req.body` unset, which would otherwise read as "no body".
 */
export function jsonBodyOf(req: Request): unknown {
  const length = req.headers['content-length'];
  const hasBody = req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
  if (!hasBody) return undefined;
  if (!req.is('application/json')) return NON_JSON_BODY;
  return req.body as unknown;
}

/** `@JsonBody()`: the handler's body through `jsonBodyOf` (instead of `@Body()`). */
export const JsonBody = createParamDecorator((_data: unknown, ctx: ExecutionContext): unknown =>
  jsonBodyOf(ctx.switchToHttp().getRequest<Request>()),
);
