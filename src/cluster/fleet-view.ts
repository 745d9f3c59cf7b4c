import type { Alert } from '../events/pbx-events';
import type { CallView, Delta, NodeView, Snapshot, SnapshotEndpoint } from '../gateway/gateway.protocol';

/** One node's part of a snapshot, as its watcher stores it in Redis with the last `seq` it includes. */
export interface NodePart {
  seq: number;
  node: NodeView | null;
  calls: CallView[];
  endpoints: SnapshotEndpoint[];
  alerts: Alert[];
}

interface NodeMirror {
  seq: number;
  view: NodeView | null;
  calls: Map<string, CallView>;
  endpoints: Map<string, SnapshotEndpoint>;
  alerts: Map<string, Alert>;
}

/**
 * The fleet as the `/ws` stream tells it: per node, the last stored part (`load`) with every later delta
 * applied (`apply`). A cluster daemon answers for the nodes it does not watch from here. Deltas carry
 * whole objects (upserts), so applying one twice is harmless. Mutable maps: one delta costs one map
 * operation whatever the size of the node.
 */
export class FleetView {
  private readonly nodes = new Map<string, NodeMirror>();

  constructor(private readonly names: readonly string[]) {
    for (const n of names) this.nodes.set(n, emptyMirror());
  }

  /** Replaces a node's mirror with its stored part (the deltas after `part.seq` are applied next). */
  load(node: string, part: NodePart): void {
    if (!this.nodes.has(node)) return;
    this.nodes.set(node, {
      seq: part.seq,
      view: part.node,
      calls: new Map(part.calls.map((c) => [c.linkedid, c])),
      endpoints: new Map(part.endpoints.map((e) => [e.name, e])),
      alerts: new Map(part.alerts.map((a) => [a.id, a])),
    });
  }

  apply(d: Delta): void {
    const m = this.nodes.get(d.node);
    if (!m || d.seq <= m.seq) return;
    m.seq = d.seq;
    switch (d.type) {
      case 'node.status':
        m.view = d.data;
        return;
      case 'call.updated': {
        const { supersedes, ...call } = d.data;
        if (supersedes) m.calls.delete(supersedes);
        m.calls.set(call.linkedid, { ...call, node: d.node });
        return;
      }
      case 'call.ended':
        m.calls.delete(d.data.linkedid);
        return;
      case 'call.quality': {
        const call = m.calls.get(d.data.linkedid);
        if (!call) return;
        const { uniqueid, quality, callQuality } = d.data;
        m.calls.set(call.linkedid, {
          ...call,
          quality: callQuality,
          channels: call.channels.map((c) => (c.uniqueid === uniqueid ? { ...c, quality } : c)),
        });
        return;
      }
      case 'endpoint.updated':
      case 'registration.changed':
        if (d.data.view) m.endpoints.set(d.data.endpoint, { ...d.data.view, node: d.node });
        else if (d.type === 'endpoint.updated') m.endpoints.delete(d.data.endpoint);
        return;
      case 'alert.raised':
        m.alerts.set(d.data.id, d.data);
        return;
      case 'alert.cleared':
        m.alerts.delete(d.data.id);
        return;
      case 'state.resynced':
      case 'control.action':
        return;
      default: {
        const never: never = d;
        return never;
      }
    }
  }

  /** A node's part as of the last delta applied. */
  part(node: string): NodePart | undefined {
    const m = this.nodes.get(node);
    if (!m) return undefined;
    return {
      seq: m.seq,
      node: m.view,
      calls: [...m.calls.values()],
      endpoints: [...m.endpoints.values()],
      alerts: [...m.alerts.values()],
    };
  }

  /**
   * `local` (this daemon's snapshot) for the nodes in `watched`, the mirror for the others, in
   * configuration order.
   */
  merge(local: Snapshot, watched: (node: string) => boolean): Snapshot {
    const out: Snapshot = { ...local, nodes: [], calls: [], endpoints: [], alerts: [] };
    const localNodes = new Map(local.nodes.map((n) => [n.name, n]));
    for (const name of this.names) {
      if (watched(name)) {
        const view = localNodes.get(name);
        if (view) out.nodes.push(view);
        continue;
      }
      const m = this.nodes.get(name);
      const fallback = localNodes.get(name);
      if (m?.view) out.nodes.push(m.view);
      else if (fallback) out.nodes.push(fallback);
      if (!m) continue;
      out.calls.push(...m.calls.values());
      out.endpoints.push(...m.endpoints.values());
      out.alerts.push(...m.alerts.values());
    }
    out.calls.push(...local.calls.filter((c) => watched(c.node)));
    out.endpoints.push(...local.endpoints.filter((e) => watched(e.node)));
    out.alerts.push(...local.alerts.filter((a) => watched(a.node)));
    return out;
  }
}

function emptyMirror(): NodeMirror {
  return { seq: 0, view: null, calls: new Map(), endpoints: new Map(), alerts: new Map() };
}
