import type { ChannelEvent, ChannelSnapshot } from '../../events/pbx-events';
import {
  emptyCallsState,
  endpointOfChannel,
  GONE_LIMIT,
  reduceChannelEvent,
  reduceResync,
  type CallDelta,
  type CallsState,
  type EndedCall,
} from './call.reducers';
import { listedFromCoreShowChannel } from '../../ami/ami.pjsip-records';
import {
  amiChannelEvents,
  ariCallMessages,
  ariChannelEvents,
  FIXTURE_CALLS,
  fixtureBytes,
  NODE,
  parseFrames,
} from './testing/call-events.fixtures';

function run(events: readonly ChannelEvent[], state: CallsState = emptyCallsState(NODE)) {
  const deltas: CallDelta[] = [];
  for (const e of events) {
    const t = reduceChannelEvent(state, e);
    state = t.state;
    deltas.push(...t.deltas);
  }
  return { state, deltas };
}

const ended = (deltas: readonly CallDelta[]): EndedCall[] =>
  deltas.flatMap((d) => (d.kind === 'call_ended' ? [d.call] : []));

/** Deltas reduced to what a client would see, times left out. */
function shape(deltas: readonly CallDelta[]) {
  return deltas.map((d) => {
    switch (d.kind) {
      case 'call_started':
        return `started ${d.key}`;
      case 'call_updated':
        return `updated ${d.call.call.key} ${d.call.channels.map((c) => `${c.uniqueid}:${c.state}`).join(',')}`;
      case 'channel_ended':
        return `channel_ended ${d.channel.uniqueid} ${d.channel.classification}${d.rtpTimeoutCulprit ? ' culprit' : ''}`;
      case 'call_ended':
        return `ended ${d.call.call.key} ${d.call.classification} cause=${d.call.cause}`;
      default: {
        const never: never = d;
        return never;
      }
    }
  });
}

const bytes = fixtureBytes();
const frames = parseFrames([bytes]);
const amiEvents = amiChannelEvents(frames);
const { normal, rtpTimeout } = FIXTURE_CALLS;

describe('recorded calls (test/fixtures/calls.ami)', () => {
  it('classifies the BYE-ended Echo call normal and the silent 2001 call rtp_timeout', () => {
    const { state, deltas } = run(amiEvents);
    const calls = ended(deltas);
    expect(calls.map((c) => [c.call.key, c.classification, c.cause, c.causeText])).toEqual([
      [normal.uniqueid, 'normal', 0, 'Unknown'],
      [rtpTimeout.uniqueid, 'rtp_timeout', 44, 'Requested channel not available'],
    ]);
    expect(calls[1].rtpTimeoutEndpoint).toBe('2001');
    expect(calls[0].rtpTimeoutEndpoint).toBeNull();
    const [n] = calls[0].channels;
    expect(n).toMatchObject({
      name: normal.name,
      endpoint: '2002',
      linkedid: normal.uniqueid,
      state: 'up',
      callerNum: '2002',
      context: 'internal',
      exten: '600',
      endedBy: 'hangup',
    });
    expect(n.answeredAt).not.toBeNull();
    // Everything ended: nothing left but the tombstones.
    expect(state.channels.size).toBe(0);
    expect(state.calls.size).toBe(0);
    expect([...state.gone]).toEqual([normal.uniqueid, rtpTimeout.uniqueid]);
  });

  it('derives, in order: started, updated (Ring), updated (Up), channel end, call end — per call', () => {
    expect(shape(run(amiEvents).deltas)).toEqual([
      `started ${normal.uniqueid}`,
      `updated ${normal.uniqueid} ${normal.uniqueid}:ring`,
      `updated ${normal.uniqueid} ${normal.uniqueid}:up`,
      `channel_ended ${normal.uniqueid} normal`,
      `ended ${normal.uniqueid} normal cause=0`,
      `started ${rtpTimeout.uniqueid}`,
      `updated ${rtpTimeout.uniqueid} ${rtpTimeout.uniqueid}:ring`,
      `updated ${rtpTimeout.uniqueid} ${rtpTimeout.uniqueid}:up`,
      `channel_ended ${rtpTimeout.uniqueid} rtp_timeout culprit`,
      `ended ${rtpTimeout.uniqueid} rtp_timeout cause=44`,
    ]);
  });

  it('derives the same at every chunk boundary of the recording', () => {
    const whole = shape(run(amiEvents).deltas);
    for (let cut = 1; cut < bytes.length; cut++) {
      const split = amiChannelEvents(parseFrames([bytes.subarray(0, cut), bytes.subarray(cut)]));
      const got = shape(run(split).deltas);
      if (got.join('\n') !== whole.join('\n')) throw new Error(`cut at ${cut} derived differently`);
    }
  });

  it('a CoreShowChannel item taken mid-call keeps the call; a later empty listing would end it as a ghost', () => {
    const item = frames.find((m) => m.fields.Event === 'CoreShowChannel');
    expect(item?.fields).toMatchObject({ Application: 'Echo', BridgeId: '', Duration: '00:00:01' });
    const listed = listedFromCoreShowChannel(item!, 50_000);
    expect(listed).toMatchObject({
      channel: { uniqueid: normal.uniqueid, linkedid: normal.uniqueid, state: 'up', name: normal.name },
      bridgeId: null,
      createdAt: 49_000,
    });
    const upToUp = amiEvents.slice(0, 2); // Newchannel, Newstate Up
    const during = run(upToUp).state;
    const same = reduceResync(during, [listed!], { requestedAt: 5000, ts: 5000 });
    expect(same.deltas).toEqual([]);
    expect(same.state).toBe(during);

    const gone = reduceResync(during, [], { requestedAt: 5000, ts: 6000 });
    const [call] = ended(gone.deltas);
    expect(call).toMatchObject({ classification: 'unknown', endedBy: 'resync', cause: null, endedAt: 6000 });
    expect(call.channels[0]).toMatchObject({ endedBy: 'resync', classification: 'unknown' });
    // The real Hangup arriving afterwards derives nothing.
    const after = run(amiEvents.slice(2), gone.state).deltas;
    expect(shape(after).filter((line) => line.includes(normal.uniqueid))).toEqual([]);
  });
});

describe('both links', () => {
  const ariEvents = [
    ...ariChannelEvents(ariCallMessages(normal, 'normal')),
    ...ariChannelEvents(ariCallMessages(rtpTimeout, 'rtp_timeout'), 2000),
  ];

  it('ARI alone gives the same calls and classifications (linkedid falls back to the uniqueid)', () => {
    const { deltas } = run(ariEvents);
    expect(ended(deltas).map((c) => [c.call.key, c.classification, c.cause])).toEqual([
      [normal.uniqueid, 'normal', 0],
      [rtpTimeout.uniqueid, 'rtp_timeout', 44],
    ]);
    expect(ended(deltas)[0].channels[0].linkedid).toBeNull();
  });

  it.each([
    ['AMI first', (ami: ChannelEvent[], ari: ChannelEvent[]) => [...ami, ...ari]],
    ['ARI first', (ami: ChannelEvent[], ari: ChannelEvent[]) => [...ari, ...ami]],
    ['alternating', (ami: ChannelEvent[], ari: ChannelEvent[]) => interleave(ami, ari)],
    ['ARI lagging by 3', (ami: ChannelEvent[], ari: ChannelEvent[]) => interleave(ami, ari, 3)],
    ['ARI leading by 1', (ami: ChannelEvent[], ari: ChannelEvent[]) => interleave(ari, ami, 1)],
  ])('a call reported by both links derives once (%s)', (_label, order) => {
    for (const [call, end] of [
      [normal, 'normal'],
      [rtpTimeout, 'rtp_timeout'],
    ] as const) {
      const ami = amiEvents.filter((e) => uniqueidOf(e) === call.uniqueid);
      const ari = ariChannelEvents(ariCallMessages(call, end));
      const alone = shape(run(ami).deltas);
      expect(shape(run(order(ami, ari)).deltas)).toEqual(alone);
    }
  });

  it('a duplicate (same state, same caller) derives nothing', () => {
    const created = amiEvents[0];
    const first = run([created]);
    const again = reduceChannelEvent(first.state, { ...created, source: 'ari', ts: created.ts + 5 });
    expect(again.deltas).toEqual([]);
    expect(again.state).toBe(first.state);
  });

  it('a hangup for an unknown or already-ended channel derives nothing', () => {
    const hangup = amiEvents.find((e) => e.type === 'channel.hung_up')!;
    expect(reduceChannelEvent(emptyCallsState(NODE), hangup).deltas).toEqual([]);
    const { state } = run(amiEvents);
    const again = reduceChannelEvent(state, hangup);
    expect(again.deltas).toEqual([]);
    expect(again.state).toBe(state);
  });

  it('a late snapshot from the slower link does not bring an ended channel back', () => {
    const { state } = run(amiEvents);
    const lateUp = ariChannelEvents(ariCallMessages(normal, 'normal'))[1];
    expect(reduceChannelEvent(state, lateUp).deltas).toEqual([]);
  });

  it('a lagging Ring snapshot does not move an Up channel back', () => {
    const [created, up] = amiEvents;
    const { state } = run([created, up]);
    const lateRing = ariChannelEvents(ariCallMessages(normal, 'normal'))[0];
    const t = reduceChannelEvent(state, lateRing);
    expect(t.deltas).toEqual([]);
    expect(t.state.channels.get(normal.uniqueid)?.state).toBe('up');
  });
});

// ----------------------------------------------------------------------------------- synthetic calls

let clock = 0;
function snap(uniqueid: string, over: Partial<ChannelSnapshot> = {}): ChannelSnapshot {
  return {
    uniqueid,
    name: `PJSIP/${uniqueid.split('.')[1]}-0000000${uniqueid.slice(-1)}`,
    state: 'ring',
    ...over,
  };
}
const base = (source: 'ami' | 'ari' = 'ami') => ({ node: NODE, ts: (clock += 10), source });
const created = (c: ChannelSnapshot, source: 'ami' | 'ari' = 'ami'): ChannelEvent => ({
  ...base(source),
  type: 'channel.created',
  channel: c,
});
const updated = (c: ChannelSnapshot, source: 'ami' | 'ari' = 'ami'): ChannelEvent => ({
  ...base(source),
  type: 'channel.updated',
  channel: c,
});
const dialed = (
  callerId: string,
  peer: ChannelSnapshot,
  dialStatus = '',
  source: 'ami' | 'ari' = 'ami',
): ChannelEvent => ({
  ...base(source),
  type: 'channel.dialed',
  callerId,
  peer,
  dialStatus,
});
const request = (uniqueid: string, soft: boolean, cause?: number): ChannelEvent => ({
  ...base(),
  type: 'channel.hangup_requested',
  uniqueid,
  soft,
  cause,
});
const bridged = (
  uniqueid: string,
  bridgeId: string,
  entered: boolean,
  source: 'ami' | 'ari' = 'ami',
): ChannelEvent => ({
  ...base(source),
  type: 'channel.bridged',
  uniqueid,
  bridgeId,
  entered,
});
const hungUp = (
  c: ChannelSnapshot,
  cause: number,
  causeText = '',
  source: 'ami' | 'ari' = 'ami',
): ChannelEvent => ({
  ...base(source),
  type: 'channel.hung_up',
  channel: c,
  cause,
  causeText,
});

// Names: the caller is PJSIP/2001-…, the peer PJSIP/2002-… (as in the sandbox Dial calls).
const A = '100.1';
const B = '100.2';
const caller = (over: Partial<ChannelSnapshot> = {}) =>
  snap(A, { name: 'PJSIP/2001-00000001', linkedid: A, callerNum: '2001', ...over });
const peer = (over: Partial<ChannelSnapshot> = {}) =>
  snap(B, { name: 'PJSIP/2002-00000002', linkedid: A, state: 'down', ...over });

describe('classification of measured Dial outcomes (synthetic events in the observed order)', () => {
  it('busy: the peer answers 486 → HangupRequest 17, DialEnd BUSY, Hangup 17 on both legs', () => {
    const { deltas } = run([
      created(caller()),
      created(peer()),
      dialed(A, peer()),
      request(B, false, 17),
      dialed(A, peer(), 'BUSY'),
      hungUp(peer(), 17, 'User busy'),
      request(A, true, 16),
      hungUp(caller(), 17, 'User busy'),
    ]);
    const [call] = ended(deltas);
    expect(call).toMatchObject({ classification: 'busy', cause: 17, causeText: 'User busy' });
    expect(call.channels.map((c) => c.uniqueid)).toEqual([A, B]);
    expect(deltas.filter((d) => d.kind === 'call_started')).toHaveLength(1);
  });

  it('no_answer: the caller CANCELs a ringing call → 127 with HangupRequest 127 / DialStatus CANCEL', () => {
    const { deltas } = run([
      created(caller()),
      created(peer()),
      dialed(A, peer()),
      updated(peer({ state: 'ringing' })),
      request(A, false, 127),
      dialed(A, peer({ state: 'ringing' }), 'CANCEL'),
      request(A, true, 16),
      hungUp(caller(), 127, 'Interworking, unspecified'),
      hungUp(peer({ state: 'ringing' }), 127, 'Interworking, unspecified'),
    ]);
    const [call] = ended(deltas);
    expect(call).toMatchObject({ classification: 'no_answer', cause: 127 });
    expect(call.channels.map((c) => c.classification)).toEqual(['no_answer', 'no_answer']);
  });

  it('failed: Dial to an endpoint without contacts ends the caller with 3 (no peer channel)', () => {
    const { deltas } = run([
      created(caller()),
      request(A, true, 16),
      hungUp(caller(), 3, 'No route to destination'),
    ]);
    expect(ended(deltas)[0]).toMatchObject({ classification: 'failed', cause: 3 });
  });

  it('no_answer: Dial timed out (peer 19), rejected: 603 (21)', () => {
    const timeout = run([created(caller()), created(peer()), hungUp(peer(), 19), hungUp(caller(), 16)]);
    expect(ended(timeout.deltas)[0].classification).toBe('no_answer');
    const declined = run([created(caller()), created(peer()), hungUp(peer(), 21), hungUp(caller(), 21)]);
    expect(ended(declined.deltas)[0].classification).toBe('rejected');
  });

  it('rtp_timeout on a bridged call: only the first channel is the culprit, the peer ends with 44 too', () => {
    const { deltas } = run([
      created(caller()),
      created(peer()),
      updated(peer({ state: 'up' })),
      updated(caller({ state: 'up' })),
      bridged(A, 'br-1', true),
      bridged(B, 'br-1', true),
      request(B, true, 1),
      hungUp(peer({ state: 'up' }), 44, 'Requested channel not available'),
      request(A, true, 16),
      hungUp(caller({ state: 'up' }), 44, 'Requested channel not available'),
    ]);
    const culprits = deltas.flatMap((d) =>
      d.kind === 'channel_ended' && d.rtpTimeoutCulprit ? [d.channel.uniqueid] : [],
    );
    expect(culprits).toEqual([B]);
    const [call] = ended(deltas);
    expect(call).toMatchObject({ classification: 'rtp_timeout', rtpTimeoutEndpoint: '2002', cause: 44 });
    expect(call.channels.map((c) => c.classification)).toEqual(['rtp_timeout', 'rtp_timeout']);
  });

  it('cause 44 without the soft DEV flag is failed, and DEV + 44 on a never-answered channel is not rtp_timeout', () => {
    const noFlag = run([created(caller({ state: 'up' })), hungUp(caller({ state: 'up' }), 44)]);
    expect(ended(noFlag.deltas)[0].classification).toBe('failed');
    const ringing = run([created(caller()), request(A, true, 1), hungUp(caller(), 44)]);
    expect(ended(ringing.deltas)[0].classification).toBe('failed');
  });
});

describe('grouping', () => {
  it('a peer known from ARI only joins its caller through the Dial event, and is counted once', () => {
    const ariCaller = caller({ linkedid: undefined });
    const ariPeer = peer({ linkedid: undefined });
    const { state, deltas } = run([
      created(ariCaller, 'ari'),
      created(ariPeer, 'ari'), // provisional: a Down leg without linkedid
      dialed(A, ariPeer, '', 'ari'),
    ]);
    expect([...state.calls.keys()]).toEqual([A]);
    expect(state.calls.get(A)?.channelIds).toEqual([A, B]);
    expect(deltas.filter((d) => d.kind === 'call_started').map((d) => d.kind)).toHaveLength(1);
    const moved = deltas.find((d) => d.kind === 'call_updated' && d.supersedes !== null);
    expect(moved).toMatchObject({ supersedes: B });
  });

  it("when AMI later supplies the linkedid, the channel moves into the right call (ARI's ChannelCreated won the race)", () => {
    const { state, deltas } = run([
      created(caller()),
      created(peer({ linkedid: undefined }), 'ari'),
      created(peer()), // AMI Newchannel: Linkedid = caller's
    ]);
    expect([...state.calls.keys()]).toEqual([A]);
    expect(state.calls.get(A)?.channelIds).toEqual([A, B]);
    expect(deltas.filter((d) => d.kind === 'call_started')).toHaveLength(1);
    expect(deltas.at(-1)).toMatchObject({ kind: 'call_updated', supersedes: B });
  });

  it('a provisional call that never joins another is counted when it shows a state, or when it ends', () => {
    const orig = snap('200.1', { name: 'PJSIP/2002-00000009', state: 'down' });
    const ringing = run([created(orig, 'ari'), updated({ ...orig, state: 'ringing' }, 'ari')]);
    expect(ringing.deltas.filter((d) => d.kind === 'call_started')).toHaveLength(1);
    const dead = run([created(orig, 'ari'), hungUp(orig, 34, '', 'ari')]);
    expect(dead.deltas.map((d) => d.kind)).toEqual([
      'call_updated',
      'call_started',
      'channel_ended',
      'call_ended',
    ]);
  });

  it('bridge enter/leave are visible; a late duplicate enter of a left bridge is ignored', () => {
    const { state, deltas } = run([
      created(caller({ state: 'up' })),
      bridged(A, 'br-9', true),
      bridged(A, 'br-9', true, 'ari'),
      bridged(A, 'br-9', false),
      bridged(A, 'br-9', true, 'ari'), // the slower link's enter, after AMI's leave
      bridged(A, 'br-9', false, 'ari'),
    ]);
    expect(state.channels.get(A)?.bridgeId).toBeNull();
    const bridges = deltas.flatMap((d) => (d.kind === 'call_updated' ? [d.call.channels[0].bridgeId] : []));
    expect(bridges).toEqual([null, 'br-9', null]);
  });

  it('remembers at most GONE_LIMIT ended channels', () => {
    let state = emptyCallsState(NODE);
    for (let i = 0; i < GONE_LIMIT + 10; i++) {
      const c = snap(`300.${i}`, {
        name: `PJSIP/2001-${i.toString(16).padStart(8, '0')}`,
        linkedid: `300.${i}`,
      });
      state = reduceChannelEvent(reduceChannelEvent(state, created(c)).state, hungUp(c, 16)).state;
    }
    expect(state.gone.size).toBe(GONE_LIMIT);
    expect(state.gone.has('300.0')).toBe(false);
    expect(state.gone.has(`300.${GONE_LIMIT + 9}`)).toBe(true);
  });
});

describe('resync', () => {
  it('creates listed channels, ends ghosts, keeps channels first seen after the request', () => {
    const ghost = caller();
    const fresh = snap('400.7', { name: 'PJSIP/2002-00000007', linkedid: '400.7' });
    clock = 1000;
    let state = run([created(ghost)]).state; // createdAt 1010
    clock = 3000;
    state = run([created(fresh)], state).state; // createdAt 3010, after the request
    const listed = snap('400.5', { name: 'PJSIP/2001-00000005', linkedid: '400.5', state: 'up' });
    const t = reduceResync(state, [{ channel: listed, bridgeId: 'br-1', createdAt: 500 }], {
      requestedAt: 2000,
      ts: 4000,
    });
    expect([...t.state.calls.keys()].sort()).toEqual(['400.5', '400.7']);
    expect(t.state.channels.get('400.5')).toMatchObject({
      bridgeId: 'br-1',
      createdAt: 500,
      answeredAt: 4000,
    });
    expect(ended(t.deltas).map((c) => [c.call.key, c.classification, c.endedBy])).toEqual([
      [A, 'unknown', 'resync'],
    ]);
    // Running the same listing again changes nothing (the AMI and ARI steps never end a channel twice).
    const again = reduceResync(t.state, [{ channel: listed, bridgeId: 'br-1', createdAt: 500 }], {
      requestedAt: 2000,
      ts: 4500,
    });
    expect(again.deltas).toEqual([]);
  });
});

describe('endpointOfChannel', () => {
  it.each([
    ['PJSIP/2001-00000003', '2001'],
    ['PJSIP/my-phone-0000000a', 'my-phone'],
    ['PJSIP/1001-1a2b3c4d5', '1001'],
    ['Local/600@internal-00000001;1', null],
    ['PJSIP/nosuffix', null],
  ])('%s → %s', (name, endpoint) => {
    expect(endpointOfChannel(name)).toBe(endpoint);
  });
});

function uniqueidOf(e: ChannelEvent): string {
  switch (e.type) {
    case 'channel.created':
    case 'channel.updated':
    case 'channel.hung_up':
      return e.channel.uniqueid;
    case 'channel.dialed':
      return e.peer.uniqueid;
    case 'channel.bridged':
    case 'channel.hangup_requested':
      return e.uniqueid;
    default: {
      const never: never = e;
      return never;
    }
  }
}

/** b's events interleaved with a's, b starting `lag` events late. */
function interleave<T>(a: readonly T[], b: readonly T[], lag = 0): T[] {
  const out: T[] = [];
  let j = 0;
  a.forEach((x, i) => {
    out.push(x);
    if (i >= lag && j < b.length) out.push(b[j++]);
  });
  return [...out, ...b.slice(j)];
}
