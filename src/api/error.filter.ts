import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { type ErrorCode, PbxpulseError } from '../common/errors';
import { RateLimitedError } from '../control/control.errors';

/**
 * Typed as a `Record` over the closed `ErrorCode` union, so a code without a status (or a status for
 * a code that no longer exists) does not compile.
 */
export const HTTP_STATUS_BY_CODE: Readonly<Record<ErrorCode, number>> = {
  NODE_NOT_FOUND: 404,
  ENDPOINT_NOT_FOUND: 404,
  BAD_REQUEST: 400,
  NODE_NOT_CONNECTED: 503,
  AMI_CLOSED: 503,
  ARI_NOT_CONNECTED: 503,
  ARI_AUTH: 502,
  AMI_TIMEOUT: 504,
  ARI_TIMEOUT: 504,
  AMI_ACTION_ERROR: 502,
  ARI_HTTP: 502,
  RATE_LIMITED: 429,
  RELOAD_FAILED: 502,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  ROUTE_NOT_FOUND: 404,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  NODE_WATCHED_ELSEWHERE: 409,
  CLUSTER_UNAVAILABLE: 503,
  NODE_OWNER_UNREACHABLE: 503,
  // No route is meant to surface these; if one does, it is our bug, so a plain 500 (with its code).
  AMI_LOGIN_REFUSED: 500,
  ARI_PROTOCOL: 500,
  CONFIG_INVALID: 500,
  CONFIG_UNAVAILABLE: 500,
  CONFIG_SYNTAX: 500,
};

/** The code of an error body: an `ErrorCode`, or `INTERNAL` for a 5xx that is not one of ours. */
export type HttpErrorCode = ErrorCode | 'INTERNAL';

/** The one body of every error answer, from every layer. */
export interface HttpErrorBody {
  statusCode: number;
  code: HttpErrorCode;
  message: string;
}

/**
 * Codes for refusals raised by Nest and Express rather than by our code (the unknown-route 404,
 * the body parser's 400/413/415, the router's 400 for an undecodable path). Another 4xx keeps its
 * status with `BAD_REQUEST`; another 5xx is `INTERNAL`.
 */
const CODE_BY_HTTP_STATUS: Readonly<Record<number, ErrorCode>> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'ROUTE_NOT_FOUND',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
};

export function codeForStatus(status: number): HttpErrorCode {
  return CODE_BY_HTTP_STATUS[status] ?? (status < 500 ? 'BAD_REQUEST' : 'INTERNAL');
}

/**
 * One place that maps errors to HTTP, always as `{statusCode, code, message}`: our typed errors by
 * code; Nest's HttpExceptions and the client errors of Express's body parser (http-errors with
 * `expose`) by status; anything else as a generic 500, logged with its stack, no internals in the body.
 * The one body passed through is terminus's health report (`/health/ready`'s 503): orchestrators and
 * the README read that shape, and it is a state, not a refused request.
 */
@Catch()
export class ErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger(ErrorFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const send = (body: HttpErrorBody): void => {
      res.status(body.statusCode).json(body);
    };
    if (exception instanceof PbxpulseError) {
      const status = HTTP_STATUS_BY_CODE[exception.code];
      if (exception instanceof RateLimitedError)
        res.setHeader('Retry-After', String(exception.retryAfterSeconds));
      send({ statusCode: status, code: exception.code, message: exception.message });
      return;
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const body = exception.getResponse();
      if (isHealthReport(body)) {
        res.status(status).json(body);
        return;
      }
      send({ statusCode: status, code: codeForStatus(status), message: messageOf(body, exception) });
      return;
    }
    if (isExposedClientError(exception)) {
      send({
        statusCode: exception.status,
        code: codeForStatus(exception.status),
        message: exception.message,
      });
      return;
    }
    const err = exception as Error;
    this.logger.error(`unhandled error: ${err?.message}`, err?.stack);
    send({ statusCode: 500, code: 'INTERNAL', message: 'internal error' });
  }
}

/** terminus's `HealthCheckResult` (`{status, info, error, details}`), thrown with the 503. */
function isHealthReport(body: unknown): boolean {
  const b = body as { status?: unknown; details?: unknown } | null;
  return typeof b === 'object' && b !== null && typeof b.status === 'string' && typeof b.details === 'object';
}

/** Nest's `{message, error, statusCode}` (message may be a list), or a plain string response. */
function messageOf(body: unknown, exception: HttpException): string {
  if (typeof body === 'string') return body;
  const message = (body as { message?: unknown } | null)?.message;
  if (typeof message === 'string') return message;
  if (Array.isArray(message)) return message.map(String).join('; ');
  return exception.message;
}

/**
 * An http-errors client error (Express's body parser: `request entity too large`, `unsupported
 * charset`): `expose` is set only for 4xx, whose message is written for the caller.
 */
function isExposedClientError(err: unknown): err is Error & { status: number } {
  const e = err as { status?: unknown; expose?: unknown } | null;
  return (
    err instanceof Error &&
    e?.expose === true &&
    typeof e.status === 'number' &&
    e.status >= 400 &&
    e.status < 500
  );
}
