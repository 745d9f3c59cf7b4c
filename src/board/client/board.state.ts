import type {
  Alert,
  CallView,
  ContactView,
  EndpointView,
  SnapshotEndpoint,
  NodeView,
  ServerMessage,
} from './board.protocol';

/** Keys of per-node maps: node names and endpoint names may hold any printable character, not NUL. */
export const key = (node: string, name: string): string => node + '\u0000' + name;

/**
 * Everything the board shows from `GET api/v1/nodes`, the `/ws` stream and the contacts it reads. The
 * functions below never change a map they are given: they return new data sharing what did not change.
 */
export interface BoardData {
  readonly nodes: ReadonlyMap<string, NodeView>;
  readonly calls: ReadonlyMap<string, CallView>;
  readonly endpoints: ReadonlyMap<string, SnapshotEndpoint>;
  /** By endpoint key; an endpoint is absent until its node's contacts were read or a delta named them. */
  readonly contacts: ReadonlyMap<string, readonly ContactView[]>;
  readonly alerts: ReadonlyMap<string, Alert>;
}

export const EMPTY_DATA: BoardData = {
  nodes: new Map(),
  calls: new Map(),
  endpoints: new Map(),
  contacts: new Map(),
  alerts: new Map(),
};

function withEntry<V>(map: ReadonlyMap<string, V>, k: string, value: V | undefined): ReadonlyMap<string, V> {
  const next = new Map(map);
  if (value === undefined) next.delete(k);
  else next.set(k, value);
  return next;
}

/** The nodes as `GET api/v1/nodes` lists them, before (or besides) the stream's own. */
export function applyNodes(data: BoardData, nodes: readonly NodeView[]): BoardData {
  const next = new Map(data.nodes);
  for (const n of nodes) next.set(n.name, n);
  return { ...data, nodes: next };
}

/** One `/ws` message. Messages that show nothing (`hello`, `subscribed`, `state.resynced` …) change nothing. */
export function applyMessage(data: BoardData, m: ServerMessage): BoardData {
  switch (m.type) {
    case 'snapshot': {
      const endpoints = new Map(m.endpoints.map((e) => [key(e.node, e.name), e] as const));
      // Contacts of endpoints that are still there stay until they are read again: no flicker.
      const contacts = new Map([...data.contacts].filter(([k]) => endpoints.has(k)));
      return {
        nodes: new Map(m.nodes.map((n) => [n.name, n])),
        calls: new Map(m.calls.map((c) => [key(c.node, c.linkedid), c])),
        endpoints,
        contacts,
        alerts: new Map(m.alerts.map((a) => [a.id, a])),
      };
    }
    case 'call.updated': {
      const { supersedes, ...call } = m.data;
      const calls = new Map(data.calls);
      if (supersedes) calls.delete(key(m.node, supersedes));
      calls.set(key(m.node, call.linkedid), { ...call, node: m.node });
      return { ...data, calls };
    }
    case 'call.ended':
      return { ...data, calls: withEntry(data.calls, key(m.node, m.data.linkedid), undefined) };
    case 'call.quality': {
      // Coalesced RTCP figures of one channel: only for a call the board still shows.
      const k = key(m.node, m.data.linkedid);
      const call = data.calls.get(k);
      if (!call) return data;
      const channels = call.channels.map((c) =>
        c.uniqueid === m.data.uniqueid ? { ...c, quality: m.data.quality } : c,
      );
      return { ...data, calls: withEntry(data.calls, k, { ...call, channels, quality: m.data.callQuality }) };
    }
    case 'registration.changed': {
      const d = m.data;
      const k = key(m.node, d.endpoint);
      const old = data.endpoints.get(k);
      // Without a view the daemon does not know the endpoint's configuration: update a row, add none.
      if (!d.view && !old) return data;
      const view: SnapshotEndpoint = d.view
        ? { ...d.view, node: m.node }
        : { ...old!, registered: d.registered, contacts: d.contacts };
      return {
        ...data,
        endpoints: withEntry(data.endpoints, k, view),
        contacts: withEntry(data.contacts, k, d.contactList),
      };
    }
    case 'endpoint.updated':
      return applyEndpointUpdated(data, m.node, m.data);
    case 'alert.raised':
      return { ...data, alerts: withEntry(data.alerts, m.data.id, m.data) };
    case 'alert.cleared':
      return { ...data, alerts: withEntry(data.alerts, m.data.id, undefined) };
    case 'node.status':
      return m.data?.name ? { ...data, nodes: withEntry(data.nodes, m.data.name, m.data) } : data;
    case 'hello':
    case 'subscribed':
    case 'error':
    case 'state.resynced':
    case 'control.action':
      return data;
  }
}

/** `endpoint.updated`: upsert the row with its contacts, or remove both when the endpoint is gone. */
export function applyEndpointUpdated(
  data: BoardData,
  node: string,
  d: { endpoint: string; view: EndpointView | null; contactList: readonly ContactView[] },
): BoardData {
  const k = key(node, d.endpoint);
  if (!d.view) {
    if (!data.endpoints.has(k) && !data.contacts.has(k)) return data;
    return {
      ...data,
      endpoints: withEntry(data.endpoints, k, undefined),
      contacts: withEntry(data.contacts, k, undefined),
    };
  }
  return {
    ...data,
    endpoints: withEntry(data.endpoints, k, { ...d.view, node }),
    contacts: withEntry(data.contacts, k, d.contactList),
  };
}

/** The endpoint key whose contacts a message sets, so a slower REST read does not overwrite them. */
export function contactsTouchedBy(m: ServerMessage): string | null {
  if (m.type === 'endpoint.updated' || m.type === 'registration.changed') return key(m.node, m.data.endpoint);
  return null;
}

/**
 * The contacts `GET api/v1/nodes/{node}/contacts` answered: they replace the node's contacts, except
 * for endpoints in `newer` (a delta set theirs after the request left, so theirs are more recent).
 * Endpoints with no contact in the answer get an empty list: the board then knows they have none.
 */
export function applyContacts(
  data: BoardData,
  node: string,
  answer: readonly ContactView[],
  newer: ReadonlySet<string> = new Set(),
): BoardData {
  const next = new Map(data.contacts);
  for (const [k, e] of data.endpoints) {
    if (e.node === node && !newer.has(k)) next.set(k, []);
  }
  const grouped = new Map<string, ContactView[]>();
  for (const c of answer) {
    const k = key(node, c.endpoint);
    if (newer.has(k) || !data.endpoints.has(k)) continue;
    grouped.set(k, [...(grouped.get(k) ?? []), c]);
  }
  for (const [k, list] of grouped) next.set(k, list);
  return { ...data, contacts: next };
}

/** Whether a message may change the diagnostic findings (read over REST). */
export function affectsDiagnostics(m: ServerMessage): boolean {
  if (m.type === 'snapshot') return true;
  return (m.type === 'alert.raised' || m.type === 'alert.cleared') && m.data.type === 'diagnostic';
}
