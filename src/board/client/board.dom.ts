/**
 * The board renders in two steps: pure functions build a tree of `VNode`s from the data, and `toDom`
 * turns the tree into DOM nodes. Every value from the daemon is attacker-influenced (endpoint names,
 * user agents, SIP usernames), and `toDom` is the only place that touches the DOM for them: text
 * becomes text nodes and attribute values go through `setAttribute`, never through HTML parsing.
 */
export interface VNode {
  readonly tag: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: ReadonlyArray<VNode | string>;
}

/** `null`, `undefined` and `false` are left out, so a child or an attribute can be conditional. */
export type Child = VNode | string | number | null | undefined | false;
export type Attrs = Record<string, string | number | boolean | null | undefined>;

export function h(tag: string, attrs?: Attrs | null, ...children: Child[]): VNode {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    kept[name] = String(value);
  }
  const kids: Array<VNode | string> = [];
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    kids.push(typeof c === 'number' ? String(c) : c);
  }
  return { tag, attrs: kept, children: kids };
}

export function toDom(node: VNode | string, doc: Document): Node {
  if (typeof node === 'string') return doc.createTextNode(node);
  const e = doc.createElement(node.tag);
  for (const [name, value] of Object.entries(node.attrs)) e.setAttribute(name, value);
  for (const c of node.children) e.append(toDom(c, doc));
  return e;
}
