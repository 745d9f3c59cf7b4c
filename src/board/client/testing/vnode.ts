import type { VNode } from '../board.dom';

/** What `textContent` of the DOM made from `node` would be. */
export function textOf(node: VNode | string): string {
  return typeof node === 'string' ? node : node.children.map(textOf).join('');
}

/** Every element of the tree (itself included) that `match` accepts, in document order. */
export function findAll(node: VNode | string, match: (n: VNode) => boolean): VNode[] {
  if (typeof node === 'string') return [];
  const below = node.children.flatMap((c) => findAll(c, match));
  return match(node) ? [node, ...below] : below;
}

export function byTestId(nodes: VNode | readonly VNode[], testid: string): VNode[] {
  const list: readonly VNode[] = Array.isArray(nodes) ? nodes : [nodes as VNode];
  return list.flatMap((n) => findAll(n, (x) => x.attrs['data-testid'] === testid));
}
