import { PbxpulseError } from '../common/errors';

/** A control action asked of a cluster daemon that does not watch the node: ask the node's watcher. */
export class NodeWatchedElsewhereError extends PbxpulseError {
  readonly code = 'NODE_WATCHED_ELSEWHERE';
  constructor(readonly node: string) {
    super(
      `node '${node}' is watched by another daemon of the cluster: send control actions to that daemon ` +
        '(GET /health/ready on each daemon lists the nodes it watches)',
    );
  }
}

/** Cluster mode, Redis unreachable: this daemon cannot prove it still holds the node, so it does not act. */
export class ClusterUnavailableError extends PbxpulseError {
  readonly code = 'CLUSTER_UNAVAILABLE';
  constructor(readonly node: string) {
    super(`cannot act on node '${node}' now: this daemon cannot confirm its lease in Redis; retry shortly`);
  }
}

/**
 * A read of a node watched elsewhere that could not be forwarded to the node's watcher: nobody holds
 * the node (takeover under way), the watcher does not answer, or Redis does not say who it is. Never
 * answered from this daemon's own (empty or stale) stores instead.
 */
export class NodeOwnerUnreachableError extends PbxpulseError {
  readonly code = 'NODE_OWNER_UNREACHABLE';
  constructor(
    readonly node: string,
    reason: string,
  ) {
    super(`node '${node}' cannot be read now: ${reason}; retry in a few seconds`);
  }
}
