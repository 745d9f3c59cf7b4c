import { PbxpulseError } from '../common/errors';

/** A second reload of a node within `control.reloadMinIntervalMs`; the HTTP filter adds `Retry-After`. */
export class RateLimitedError extends PbxpulseError {
  readonly code = 'RATE_LIMITED';
  constructor(
    readonly node: string,
    readonly retryAfterMs: number,
  ) {
    super(
      `node '${node}' was reloaded less than the minimum interval ago: retry in ${Math.ceil(retryAfterMs / 1000)} s`,
    );
  }

  /** Whole seconds for the `Retry-After` header (never 0: the window is still open). */
  get retryAfterSeconds(): number {
    return Math.max(1, Math.ceil(this.retryAfterMs / 1000));
  }
}

/** Asterisk refused the reload ("No such module", "A reload is in progress", …). */
export class ReloadFailedError extends PbxpulseError {
  readonly code = 'RELOAD_FAILED';
  constructor(
    readonly node: string,
    readonly module: string,
    reason: string,
  ) {
    super(`reload of ${module} on '${node}' failed: ${reason}`);
  }
}
