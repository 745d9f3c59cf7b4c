import { NodeNotFoundError } from '../common/errors';
import type { NodeStateStore } from '../state/node-state.store';

/** The `{node}` path parameter of a configured node, else a 404 (`NodeNotFoundError`). */
export function requireNode(state: NodeStateStore, node: string): string {
  if (!state.has(node)) throw new NodeNotFoundError(node);
  return node;
}
