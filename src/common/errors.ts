/** Every error pbxpulse raises on purpose carries a stable code; the HTTP filter maps codes to statuses. */
export abstract class PbxpulseError extends Error {
  abstract readonly code: string;
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
