import type { Alert } from '../events/pbx-events';
import { GatewayHub, type UnsequencedDelta } from '../gateway/gateway.hub';
import type { CallView, Delta, NodeView, Snapshot } from '../gateway/gateway.protocol';
import { offlineConfig } from '../../test/support/daemon';
import { FleetView } from './fleet-view';

const T = '2026-12-06T23:00:00.000Z';

function node(name: string, status: 'up' | 'down'): NodeView {
  const link = { status, since: T, lastError: null };
  return {
    name,
    ami: link,
    ari: link,
    asterisk: { version: null, startupTime: null, lastReloadTime: null },
    lastResync: { ami: null, ari: null },
  };
}

function call(n: string, linkedid: string): CallView {
  return {
    linkedid,
    node: n,
    startedAt: T,
    answeredAt: null,
    state: 'Up',
    channels: [],
  } as unknown as CallView;
}

function alert(n: string, id: string): Alert {
  return {
    id,
    node: n,
    type: 'aor_not_found',
    endpoint: 'e',
    since: T,
    lastSeen: T,
    count: 1,
  } as unknown as Alert;
}

const delta = (seq: number, d: Omit<Delta, 'seq' | 'ts'>): Delta => ({ ...d, seq, ts: T }) as Delta;

describe('FleetView', () => {
  it('applies deltas after a loaded part, skipping those the part already has', () => {
    const view = new FleetView(['a', 'b']);
    view.load('b', { seq: 10, node: node('b', 'down'), calls: [call('b', 'c1')], endpoints: [], alerts: [] });
    view.apply(
      delta(9, { type: 'call.ended', node: 'b', data: { ...call('b', 'c1'), endedAt: T } } as never),
    );
    expect(view.part('b')?.calls.map((c) => c.linkedid)).toEqual(['c1']);
    view.apply(delta(11, { type: 'node.status', node: 'b', data: node('b', 'up') }));
    view.apply(
      delta(12, { type: 'call.updated', node: 'b', data: { ...call('b', 'c2'), supersedes: 'c1' } }),
    );
    view.apply(delta(13, { type: 'alert.raised', node: 'b', data: alert('b', 'x') }));
    view.apply(delta(14, { type: 'alert.raised', node: 'b', data: alert('b', 'y') }));
    view.apply(
      delta(15, { type: 'alert.cleared', node: 'b', data: { ...alert('b', 'x'), clearedBecause: 'quiet' } }),
    );
    const part = view.part('b')!;
    expect(part.seq).toBe(15);
    expect(part.node?.ami.status).toBe('up');
    expect(part.calls.map((c) => c.linkedid)).toEqual(['c2']);
    expect(part.alerts.map((a) => a.id)).toEqual(['y']);
  });

  it("keeps a mirrored call's channel quality current from call.quality deltas", () => {
    const view = new FleetView(['b']);
    const ch = { uniqueid: 'u1', quality: null };
    view.apply(
      delta(1, { type: 'call.updated', node: 'b', data: { ...call('b', 'c1'), channels: [ch] } as never }),
    );
    const quality = { mos: 4.1 };
    view.apply(
      delta(2, {
        type: 'call.quality',
        node: 'b',
        data: { linkedid: 'c1', uniqueid: 'u1', endpoint: null, quality, callQuality: { mos: 4.1 } },
      } as never),
    );
    view.apply(
      delta(3, {
        type: 'call.quality',
        node: 'b',
        data: { linkedid: 'gone', uniqueid: 'u9', endpoint: null, quality, callQuality: null },
      } as never),
    );
    const [c] = view.part('b')!.calls;
    expect(c.quality).toEqual({ mos: 4.1 });
    expect(c.channels[0].quality).toEqual(quality);
    expect(view.part('b')!.calls).toHaveLength(1);
  });

  it("merges: this daemon's state for the nodes it watches, the mirror for the others, in config order", () => {
    const view = new FleetView(['a', 'b']);
    view.apply(delta(1, { type: 'node.status', node: 'b', data: node('b', 'up') }));
    view.apply(delta(2, { type: 'call.updated', node: 'b', data: call('b', 'cb') }));
    view.apply(delta(3, { type: 'call.updated', node: 'a', data: call('a', 'stale') }));
    const local: Snapshot = {
      type: 'snapshot',
      seq: 3,
      nodes: [node('a', 'up'), node('b', 'down')],
      calls: [call('a', 'ca')],
      endpoints: [],
      alerts: [alert('b', 'local-of-b')],
    };
    const merged = view.merge(local, (n) => n === 'a');
    expect(merged.seq).toBe(3);
    expect(merged.nodes.map((n) => [n.name, n.ami.status])).toEqual([
      ['a', 'up'],
      ['b', 'up'],
    ]);
    expect(merged.calls.map((c) => c.linkedid).sort()).toEqual(['ca', 'cb']);
    expect(merged.alerts).toEqual([]);
  });
});

describe('GatewayHub with a fleet relay', () => {
  it('hands published deltas to the relay and fans out what comes back, in fleet order', () => {
    const hub = new GatewayHub(offlineConfig());
    const sent: UnsequencedDelta[] = [];
    hub.useRelay({ send: (d) => sent.push(d), snapshot: (s) => ({ ...s, nodes: [] }) }, []);
    const seen: number[] = [];
    hub.listen((d) => seen.push(d.seq));
    const returned = hub.publish('node.status', 'a', node('a', 'up'));
    expect(returned.seq).toBe(0);
    expect(sent.map((d) => d.type)).toEqual(['node.status']);
    expect(seen).toEqual([]);
    hub.ingest(delta(5, { type: 'node.status', node: 'a', data: node('a', 'up') }));
    hub.ingest(delta(4, { type: 'node.status', node: 'a', data: node('a', 'up') }));
    hub.ingest(delta(9, { type: 'node.status', node: 'b', data: node('b', 'up') }));
    expect(seen).toEqual([5, 9]);
    expect(hub.currentSeq).toBe(9);
    // Gaps in the fleet numbering (another daemon's dropped delta) still resume right.
    expect(hub.since(5)?.map((d) => d.seq)).toEqual([9]);
    expect(hub.since(6)?.map((d) => d.seq)).toEqual([9]);
    expect(hub.since(4)?.map((d) => d.seq)).toEqual([5, 9]);
    expect(hub.snapshot().nodes).toEqual([]);
  });
});
