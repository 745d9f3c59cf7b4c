/**
 * Every code a `PbxpulseError` can carry. Closed on purpose: a new error class must add its code here,
 * and then the HTTP filter's `Record<ErrorCode, number>` stops compiling until the code has a status.
 */
export type ErrorCode =
  // common
  | 'NODE_NOT_FOUND'
  | 'BAD_REQUEST'
  | 'NODE_NOT_CONNECTED'
  // state
  | 'ENDPOINT_NOT_FOUND'
  // control
  | 'RATE_LIMITED'
  | 'RELOAD_FAILED'
  // ami
  | 'AMI_TIMEOUT'
  | 'AMI_CLOSED'
  | 'AMI_ACTION_ERROR'
  | 'AMI_LOGIN_REFUSED'
  // ari
  | 'ARI_TIMEOUT'
  | 'ARI_HTTP'
  | 'ARI_NOT_CONNECTED'
  | 'ARI_AUTH'
  | 'ARI_PROTOCOL'
  // cluster
  | 'NODE_WATCHED_ELSEWHERE'
  | 'CLUSTER_UNAVAILABLE'
  | 'NODE_OWNER_UNREACHABLE'
  // config
  | 'CONFIG_INVALID'
  | 'CONFIG_UNAVAILABLE'
  | 'CONFIG_SYNTAX'
  // http: refusals of the HTTP layer itself (token guards, routing, body parsing)
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'ROUTE_NOT_FOUND'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE';

/** Every error pbxpulse raises on purpose carries a stable code; the HTTP filter maps codes to statuses. */
export abstract class PbxpulseError extends Error {
  abstract readonly code: ErrorCode;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export class NodeNotFoundError extends PbxpulseError {
  readonly code = 'NODE_NOT_FOUND';
  constructor(readonly node: string) {
    super(`unknown node '${node}'`);
  }
}

export class BadRequestError extends PbxpulseError {
  readonly code = 'BAD_REQUEST';
}

export class NotConnectedError extends PbxpulseError {
  readonly code = 'NODE_NOT_CONNECTED';
}

/** No token, or not a token this daemon knows (or control disabled: no admin token configured). */
export class UnauthorizedError extends PbxpulseError {
  readonly code = 'UNAUTHORIZED';
}

/** A valid token whose role may not do this (the viewer token on a control route). */
export class ForbiddenError extends PbxpulseError {
  readonly code = 'FORBIDDEN';
}
