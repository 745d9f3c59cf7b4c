import { PbxpulseError } from '../common/errors';

/**
 * Errors raised by `AriConnection.request`. Every message names the node, the method and the path,
 * never the password or the Authorization header.
 */

/** A REST call got no complete answer within its timeout (connect + headers + body). */
export class AriRequestTimeoutError extends PbxpulseError {
  readonly code = 'ARI_TIMEOUT';
  constructor(
    readonly node: string,
    readonly method: string,
    readonly path: string,
    readonly timeoutMs: number,
  ) {
    super(`ARI ${method} ${path} on node '${node}' timed out after ${timeoutMs} ms`);
  }
}

/** Asterisk answered with a non-2xx status other than 401. `asteriskMessage` is ARI's `{"message": …}`. */
export class AriHttpError extends PbxpulseError {
  readonly code = 'ARI_HTTP';
  constructor(
    readonly node: string,
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly asteriskMessage?: string,
  ) {
    super(
      `ARI ${method} ${path} on node '${node}' failed with HTTP ${status}` +
        (asteriskMessage ? `: ${asteriskMessage}` : ''),
    );
  }
}

/** ARI could not be reached (refused, reset, DNS …) or the connection has been stopped. */
export class AriNotConnectedError extends PbxpulseError {
  readonly code = 'ARI_NOT_CONNECTED';
  constructor(
    readonly node: string,
    readonly reason: string,
  ) {
    super(`ARI on node '${node}' is not reachable: ${reason}`);
  }
}

/** Asterisk rejected the ARI credentials (HTTP 401). */
export class AriAuthError extends PbxpulseError {
  readonly code = 'ARI_AUTH';
  constructor(
    readonly node: string,
    readonly username: string,
  ) {
    super(ariAuthFailedText(username));
  }
}

/** Asterisk answered 2xx with a body that is not the JSON we rely on. */
export class AriProtocolError extends PbxpulseError {
  readonly code = 'ARI_PROTOCOL';
  constructor(
    readonly node: string,
    readonly method: string,
    readonly path: string,
    readonly detail: string,
  ) {
    super(`ARI ${method} ${path} on node '${node}' returned an unexpected response: ${detail}`);
  }
}

/** The one wording for a 401, shared by REST errors and the link's `lastError`. */
export function ariAuthFailedText(username: string): string {
  return `ARI authentication failed (401) for user '${username}'`;
}
