import type { ContactStatus, ContactStatusChanged, EventSource, PbxEvent } from '../../events/pbx-events';
import { type RegistrationInput, reduce, replaceState } from './registration.reducers';
import { contactViews, endpointViews } from './registration.selectors';
import {
  type ContactState,
  type EndpointState,
  EMPTY_REGISTRATIONS,
  type NodeRegistrations,
  contactTotal,
  findContact,
  registrations,
} from './registration.state';

const URI = 'sip:2002@127.0.0.1:40000';

function endpoint(name: string, over: Partial<EndpointState> = {}): EndpointState {
  return {
    name,
    aors: [name],
    auths: [`${name}-auth`],
    transport: 'transport-udp',
    transportProtocol: 'udp',
    context: 'internal',
    deviceState: 'UNAVAILABLE',
    reachable: false,
    ...over,
  };
}

function contact(aor: string, uri: string, over: Partial<ContactState> = {}): ContactState {
  return {
    aor,
    endpoint: aor,
    uri,
    status: 'nonqualified',
    rttUsec: null,
    userAgent: 'pbxpulse-test/1',
    expiresAt: '2026-11-23T12:00:00.000Z',
    viaAddress: '127.0.0.1:40000',
    callId: 'c1@test',
    ...over,
  };
}

function stateWith(endpoints: EndpointState[], contacts: ContactState[] = []): NodeRegistrations {
  return registrations({
    endpoints,
    aors: endpoints.flatMap((e) =>
      e.aors.map((a) => ({ name: a, maxContacts: 1, removeExisting: true, qualifyFrequency: 0 })),
    ),
    contacts,
  });
}

let ts = 1000;
function cs(
  status: ContactStatus,
  over: Partial<ContactStatusChanged> & { source?: EventSource } = {},
): ContactStatusChanged {
  return {
    type: 'contact.status_changed',
    node: 'pbx1',
    ts: ++ts,
    source: 'ami',
    endpoint: '2002',
    aor: '2002',
    uri: URI,
    status,
    ...over,
  };
}

/** Feed inputs in order; collect every derived event. */
function run(
  state: NodeRegistrations,
  inputs: RegistrationInput[],
): { state: NodeRegistrations; derived: PbxEvent[] } {
  const derived: PbxEvent[] = [];
  for (const input of inputs) {
    const r = reduce(state, input);
    state = r.state;
    derived.push(...r.derived);
  }
  return { state, derived };
}

describe('registration reducers', () => {
  const base = stateWith([
    endpoint('2002'),
    endpoint('1001', { transport: 'transport-ws', transportProtocol: 'ws' }),
  ]);

  it('creates a contact from its first event and derives registration.changed (0 -> 1)', () => {
    const { state, derived } = run(base, [cs('nonqualified')]);
    expect(findContact(state, '2002', URI)).toEqual({
      aor: '2002',
      endpoint: '2002',
      uri: URI,
      status: 'nonqualified',
      rttUsec: null,
      userAgent: null,
      expiresAt: null,
      viaAddress: null,
      callId: null,
    });
    expect(derived).toEqual([
      {
        type: 'registration.changed',
        node: 'pbx1',
        ts: expect.any(Number),
        source: 'daemon',
        endpoint: '2002',
        registered: true,
        contacts: 1,
      },
    ]);
    expect(contactTotal(base)).toBe(0);
  });

  it('updates status and RTT without deriving anything, and drops the RTT when no longer reachable', () => {
    let { state, derived } = run(base, [cs('nonqualified'), cs('reachable', { rttUsec: 1183 })]);
    expect(derived.map((e) => e.type)).toEqual(['registration.changed']);
    expect(findContact(state, '2002', URI)).toMatchObject({ status: 'reachable', rttUsec: 1183 });
    ({ state, derived } = run(state, [cs('unreachable')]));
    expect(derived).toEqual([]);
    expect(findContact(state, '2002', URI)).toMatchObject({
      status: 'unreachable',
      rttUsec: null,
    });
  });

  it('removes a contact and derives registration.changed (1 -> 0); removing an unknown one is a no-op', () => {
    const { state: one } = run(base, [cs('nonqualified')]);
    const { state, derived } = run(one, [cs('removed')]);
    expect(contactTotal(state)).toBe(0);
    expect(derived).toEqual([expect.objectContaining({ endpoint: '2002', registered: false, contacts: 0 })]);
    const again = reduce(state, cs('removed'));
    expect(again.state).toBe(state);
    expect(again.derived).toEqual([]);
  });

  it("is idempotent: the other link's copy changes nothing (same object) and derives nothing", () => {
    const first = reduce(base, cs('reachable', { rttUsec: 900 }));
    for (const copy of [
      cs('reachable', { rttUsec: 900, source: 'ari' }),
      cs('reachable', { rttUsec: 950, source: 'ari' }),
      cs('reachable', { source: 'ari' }),
    ]) {
      const second = reduce(first.state, copy);
      expect(second.state).toBe(first.state);
      expect(second.derived).toEqual([]);
    }
    const device = {
      type: 'device.state_changed',
      node: 'pbx1',
      ts: 1,
      source: 'ami',
      device: 'PJSIP/2002',
      state: 'NOT_INUSE',
    } as const;
    const d1 = reduce(base, device);
    expect(d1.state.endpoints.get('2002')?.deviceState).toBe('NOT_INUSE');
    expect(reduce(d1.state, { ...device, source: 'ari' }).state).toBe(d1.state);
    const reach = {
      type: 'endpoint.reachability_changed',
      node: 'pbx1',
      ts: 1,
      source: 'ari',
      endpoint: '2002',
      reachable: true,
    } as const;
    const r1 = reduce(base, reach);
    expect(r1.state.endpoints.get('2002')?.reachable).toBe(true);
    expect(reduce(r1.state, { ...reach, source: 'ami' }).state).toBe(r1.state);
  });

  it('a second contact, and its removal, do not flip the registration', () => {
    const other = 'sip:2002@127.0.0.1:40001';
    const { derived } = run(base, [
      cs('nonqualified'),
      cs('nonqualified', { uri: other }),
      cs('removed', { uri: other }),
    ]);
    expect(derived.filter((e) => e.type === 'registration.changed')).toHaveLength(1);
  });

  it('an AOR shared by two endpoints: one contact, both registered, N events from Asterisk change nothing more', () => {
    const shared = stateWith([endpoint('a', { aors: ['shared'] }), endpoint('b', { aors: ['shared'] })]);
    const ev = (ep: string, status: ContactStatus) => cs(status, { endpoint: ep, aor: 'shared' });
    const { state, derived } = run(shared, [ev('a', 'nonqualified'), ev('b', 'nonqualified')]);
    expect(contactTotal(state)).toBe(1);
    expect(findContact(state, 'shared', URI)?.endpoint).toBe('a');
    expect(derived.map((e) => (e.type === 'registration.changed' ? e.endpoint : '')).sort()).toEqual([
      'a',
      'b',
    ]);
    expect(endpointViews(state).map((e) => [e.name, e.registered, e.contacts])).toEqual([
      ['a', true, 1],
      ['b', true, 1],
    ]);
    expect(contactViews(state, 'b')).toHaveLength(1);
  });

  it('ignores endpoint events for endpoints Asterisk does not have', () => {
    const r = reduce(base, {
      type: 'device.state_changed',
      node: 'pbx1',
      ts: 1,
      source: 'ami',
      device: 'PJSIP/9999',
      state: 'INUSE',
    });
    expect(r.state).toBe(base);
  });

  it('keeps a contact of an unknown endpoint (it exists in Asterisk) but derives no event for it', () => {
    const r = reduce(base, cs('nonqualified', { endpoint: 'ghost', aor: 'ghost' }));
    expect(contactTotal(r.state)).toBe(1);
    expect(r.derived).toEqual([]);
  });

  it('enrichment adds user agent, expiry, via and Call-ID to contacts it has, never creates one', () => {
    const { state } = run(base, [cs('reachable', { rttUsec: 800 })]);
    const detail = {
      aor: '2002',
      uri: URI,
      endpoint: '2002',
      status: 'reachable' as const,
      rttUsec: 1200,
      userAgent: 'pbxpulse-test/1',
      expiresAt: '2026-11-23T12:00:00.000Z',
      viaAddress: '127.0.0.1:40000',
      callId: 'c1@test',
    };
    const enriched = reduce(state, {
      type: 'contacts.enriched',
      node: 'pbx1',
      ts: 1,
      contacts: [detail, { ...detail, uri: 'sip:other@1.2.3.4' }],
    });
    expect(contactTotal(enriched.state)).toBe(1);
    expect(findContact(enriched.state, '2002', URI)).toEqual({ ...detail });
    expect(enriched.derived).toEqual([]);
    // Applying the same details again changes nothing.
    expect(
      reduce(enriched.state, { type: 'contacts.enriched', node: 'pbx1', ts: 2, contacts: [detail] }).state,
    ).toBe(enriched.state);
  });
});

describe('replaceState', () => {
  const at = { node: 'pbx1', ts: 5 };

  it('derives no registration.changed on the first build (no "before")', () => {
    const next = stateWith([endpoint('2002')], [contact('2002', URI)]);
    expect(replaceState(EMPTY_REGISTRATIONS, next, { ...at, repairs: false }).derived).toEqual([]);
  });

  it('after a resync, derives registration.changed for endpoints whose registration flipped, no repairs', () => {
    const prev = stateWith([endpoint('2002'), endpoint('2001')], [contact('2002', URI)]);
    const next = stateWith([endpoint('2002'), endpoint('2001')], [contact('2001', 'sip:2001@127.0.0.1:5')]);
    const { derived } = replaceState(prev, next, { ...at, repairs: false });
    expect(derived.map((e) => e.type === 'registration.changed' && [e.endpoint, e.registered])).toEqual([
      ['2001', true],
      ['2002', false],
    ]);
  });

  it('reconciliation: one state.repaired per stale fact; RTT, expiry and user agent refreshes are not repairs', () => {
    const kept = contact('1001', 'sip:1001@x;transport=ws', { status: 'reachable', rttUsec: 1000 });
    const prev = stateWith(
      [endpoint('1001'), endpoint('2002'), endpoint('old')],
      [kept, contact('2002', URI, { status: 'reachable', rttUsec: 5 }), contact('old', 'sip:old@1.2.3.4')],
    );
    const next = stateWith(
      [endpoint('1001'), endpoint('2002', { deviceState: 'NOT_INUSE' }), endpoint('new')],
      [
        { ...kept, rttUsec: 2000, expiresAt: '2030-01-01T00:00:00.000Z', userAgent: 'other' },
        contact('2002', URI, { status: 'unreachable' }),
        contact('new', 'sip:new@5.6.7.8'),
      ],
    );
    const { state, derived } = replaceState(prev, next, { ...at, repairs: true });
    expect(state).toBe(next);
    const repairs = derived
      .filter((e) => e.type === 'state.repaired')
      .map((e) => e.kind)
      .sort();
    expect(repairs).toEqual([
      'aor_ghost',
      'aor_missing',
      'contact_ghost',
      'contact_missing',
      'contact_status',
      'device_state',
      'endpoint_ghost',
      'endpoint_missing',
    ]);
    // 'old' and 'new' are not in both states: no registration.changed for them.
    expect(derived.filter((e) => e.type === 'registration.changed')).toEqual([]);
  });

  it('reconciliation of an unchanged state derives nothing', () => {
    const prev = stateWith([endpoint('2002')], [contact('2002', URI)]);
    const next = stateWith([endpoint('2002')], [contact('2002', URI)]);
    expect(replaceState(prev, next, { ...at, repairs: true }).derived).toEqual([]);
  });

  it('reports an endpoint whose aors changed, and an AOR whose settings changed', () => {
    const prev = stateWith([endpoint('2002')]);
    const next: NodeRegistrations = {
      ...stateWith([endpoint('2002', { aors: ['2002', 'extra'] })]),
      aors: new Map([
        ['2002', { name: '2002', maxContacts: 5, removeExisting: true, qualifyFrequency: 0 }],
        ['extra', { name: 'extra', maxContacts: 1, removeExisting: true, qualifyFrequency: 0 }],
      ]),
    };
    const kinds = replaceState(prev, next, { ...at, repairs: true })
      .derived.map((e) => (e.type === 'state.repaired' ? e.kind : e.type))
      .sort();
    expect(kinds).toEqual(['aor_changed', 'aor_missing', 'endpoint_changed']);
  });
});
