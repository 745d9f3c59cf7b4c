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
  NODE_WATCHED_ELSEWHERE: 409,
  CLUSTER_UNAVAILABLE: 503,
  // No route is meant to surface these; if one does, it is our bug, so a plain 500 (with its code).
  AMI_LOGIN_REFUSED: 500,
  ARI_PROTOCOL: 500,
  CONFIG_INVALID: 500,
  CONFIG_UNAVAILABLE: 500,
  CONFIG_SYNTAX: 500,
};

/**
 * One place that maps errors to HTTP: our typed errors by code, Nest's HttpExceptions as they are,
 * anything else as a generic 500 (logged with its stack, no internals in the body).
 */
@Catch()
export class ErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger(ErrorFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    if (exception instanceof PbxpulseError) {
      const status = HTTP_STATUS_BY_CODE[exception.code];
      if (exception instanceof RateLimitedError)
        res.setHeader('Retry-After', String(exception.retryAfterSeconds));
      res.status(status).json({ statusCode: status, code: exception.code, message: exception.message });
      return;
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const body = exception.getResponse();
      res.status(status).json(typeof body === 'string' ? { statusCode: status, message: body } : body);
      return;
    }
    const err = exception as Error;
    this.logger.error(`unhandled error: ${err?.message}`, err?.stack);
    res.status(500).json({ statusCode: 500, code: 'INTERNAL', message: 'internal error' });
  }
}
