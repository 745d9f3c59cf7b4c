import { PbxpulseError } from '../common/errors';
import type { AmiMessage } from './ami.message';

/** No `Response` for an action within its timeout. */
export class AmiActionTimeoutError extends PbxpulseError {
  readonly code = 'AMI_TIMEOUT';
  constructor(
    readonly action: string,
    readonly timeoutMs: number,
  ) {
    super(`AMI action ${action} got no response within ${timeoutMs} ms`);
  }
}

/** The connection closed (or was never up) while the action was pending. */
export class AmiConnectionClosedError extends PbxpulseError {
  readonly code = 'AMI_CLOSED';
  constructor(
    readonly action: string,
    reason = 'connection closed',
  ) {
    super(`AMI action ${action} failed: ${reason}`);
  }
}

/** Asterisk answered `Response: Error`. */
export class AmiActionError extends PbxpulseError {
  readonly code = 'AMI_ACTION_ERROR';
  constructor(
    readonly action: string,
    readonly asteriskMessage: string,
    /**
     * List items that arrived before the Error: `PJSIPShowEndpoint` sends an endpoint's
     * `EndpointDetail` and then fails with "Unable to retrieve transport …" when it names a
     * transport that does not exist. Diagnoses need those items.
     */
    readonly partialItems: readonly AmiMessage[] = [],
  ) {
    super(`AMI action ${action} failed: ${asteriskMessage || 'Response: Error'}`);
  }
}

/** Asterisk refused the Login (wrong user or secret, or the user is not permitted from this address). */
export class AmiLoginError extends PbxpulseError {
  readonly code = 'AMI_LOGIN_REFUSED';
  constructor(
    readonly username: string,
    asteriskMessage: string,
  ) {
    super(`AMI login refused for user '${username}': ${asteriskMessage || 'Authentication failed'}`);
  }
}
