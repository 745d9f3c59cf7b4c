import { PbxpulseError } from '../../common/errors';

/** No PJSIP endpoint of that name on the node (as of the last resync). Mapped to HTTP 404. */
export class EndpointNotFoundError extends PbxpulseError {
  readonly code = 'ENDPOINT_NOT_FOUND';
  constructor(
    readonly node: string,
    readonly endpoint: string,
  ) {
    super(`unknown endpoint '${endpoint}' on node '${node}'`);
  }
}
