import type { CallView, ContactView, EndpointView, ServerMessage, SnapshotEndpoint } from './board.protocol';
import {
  affectsDiagnostics,
  applyContacts,
  applyEndpointUpdated,
  applyMessage,
  type BoardData,
  contactsTouchedBy,
  EMPTY_DATA,
  key,
} from './board.state';

const TS = '2026-01-01T10:00:00.000Z';

function view(name: string, over: Partial<EndpointView> = {}): EndpointView {
  return {
    name,
    aors: [name],
    auths: [name],
    authUsernames: [name],
    transport: 'transport-udp',
    context: 'internal',
    deviceState: 'UNAVAILABLE',
    reachable: null,
    registered: false,
    contacts: 0,
    ...over,
  };
}

function contact(endpoint: string, over: Partial<ContactView> = {}): ContactView {
  return {
    aor: endpoint,
    endpoint,
    uri: `sip:${endpoint}@192.0.2.10:5060`,
    status: 'reachable',
    rttUsec: 1200,
    userAgent: 'Phone/1.0',
    expiresAt: TS,
    viaAddress: '192.0.2.10:5060',
    transport: 'udp',
    callId: 'c1',
    ...over,
  };
}

const row = (node: string, v: EndpointView): SnapshotEndpoint => ({ ...v, node });

function dataWith(endpoints: SnapshotEndpoint[], contacts: Array<[string, ContactView[]]> = []): BoardData {
  return {
    ...EMPTY_DATA,
    endpoints: new Map(endpoints.map((e) => [key(e.node, e.name), e])),
    contacts: new Map(contacts),
  };
}

function endpointUpdated(
  node: string,
  endpoint: string,
  v: EndpointView | null,
  contactList: ContactView[],
): ServerMessage {
  return {
    type: 'endpoint.updated',
    seq: 7,
    node,
    ts: TS,
    data: { endpoint, view: v, contactList, changed: ['contacts'] },
  };
}

describe('applyEndpointUpdated', () => {
  it('adds a row the board did not have, with its contacts and the node of the delta', () => {
    const next = applyEndpointUpdated(EMPTY_DATA, 'pbx1', {
      endpoint: '2002',
      view: view('2002', { registered: true, contacts: 1, deviceState: 'NOT_INUSE' }),
      contactList: [contact('2002')],
    });
    expect(next.endpoints.get(key('pbx1', '2002'))).toEqual(
      row('pbx1', view('2002', { registered: true, contacts: 1, deviceState: 'NOT_INUSE' })),
    );
    expect(next.contacts.get(key('pbx1', '2002'))).toEqual([contact('2002')]);
  });

  it('replaces the row and the contacts: RTT, contact status and device state show at once', () => {
    const before = dataWith(
      [row('pbx1', view('2002', { registered: true, contacts: 1, deviceState: 'NOT_INUSE' }))],
      [[key('pbx1', '2002'), [contact('2002', { rttUsec: 1200 })]]],
    );
    const next = applyEndpointUpdated(before, 'pbx1', {
      endpoint: '2002',
      view: view('2002', { registered: true, contacts: 1, deviceState: 'INUSE', reachable: false }),
      contactList: [contact('2002', { status: 'unreachable', rttUsec: null })],
    });
    expect(next.endpoints.get(key('pbx1', '2002'))).toMatchObject({ deviceState: 'INUSE', reachable: false });
    expect(next.contacts.get(key('pbx1', '2002'))).toEqual([
      contact('2002', { status: 'unreachable', rttUsec: null }),
    ]);
  });

  it('removes the row and its contacts when the view is null (the endpoint is gone)', () => {
    const before = dataWith(
      [row('pbx1', view('2002')), row('pbx1', view('2003'))],
      [[key('pbx1', '2002'), [contact('2002')]]],
    );
    const next = applyEndpointUpdated(before, 'pbx1', { endpoint: '2002', view: null, contactList: [] });
    expect([...next.endpoints.keys()]).toEqual([key('pbx1', '2003')]);
    expect(next.contacts.has(key('pbx1', '2002'))).toBe(false);
  });

  it('keeps endpoints of the same name on other nodes apart', () => {
    const before = dataWith([row('pbx1', view('2002')), row('pbx2', view('2002'))]);
    const next = applyEndpointUpdated(before, 'pbx2', { endpoint: '2002', view: null, contactList: [] });
    expect([...next.endpoints.values()].map((e) => e.node)).toEqual(['pbx1']);
  });

  it('never changes the data it is given, and returns it unchanged for an unknown endpoint gone', () => {
    const before = dataWith([row('pbx1', view('2002'))], [[key('pbx1', '2002'), [contact('2002')]]]);
    const copy = { endpoints: new Map(before.endpoints), contacts: new Map(before.contacts) };
    applyEndpointUpdated(before, 'pbx1', {
      endpoint: '2002',
      view: view('2002', { deviceState: 'INUSE' }),
      contactList: [],
    });
    applyEndpointUpdated(before, 'pbx1', { endpoint: '2002', view: null, contactList: [] });
    expect(before.endpoints).toEqual(copy.endpoints);
    expect(before.contacts).toEqual(copy.contacts);
    expect(applyEndpointUpdated(before, 'pbx1', { endpoint: 'nobody', view: null, contactList: [] })).toBe(
      before,
    );
  });

  it('is what applyMessage does with an endpoint.updated delta', () => {
    const m = endpointUpdated('pbx1', '2002', view('2002', { deviceState: 'RINGING' }), [contact('2002')]);
    expect(applyMessage(EMPTY_DATA, m)).toEqual(
      applyEndpointUpdated(EMPTY_DATA, 'pbx1', {
        endpoint: '2002',
        view: view('2002', { deviceState: 'RINGING' }),
        contactList: [contact('2002')],
      }),
    );
  });
});

describe('applyMessage', () => {
  it('a snapshot replaces everything, and keeps the contacts of endpoints still listed until reread', () => {
    const before = dataWith(
      [row('pbx1', view('2002')), row('pbx1', view('gone'))],
      [
        [key('pbx1', '2002'), [contact('2002')]],
        [key('pbx1', 'gone'), [contact('gone')]],
      ],
    );
    const next = applyMessage(before, {
      type: 'snapshot',
      seq: 3,
      nodes: [],
      calls: [],
      endpoints: [row('pbx1', view('2002')), row('pbx1', view('2003'))],
      alerts: [],
    });
    expect([...next.endpoints.keys()]).toEqual([key('pbx1', '2002'), key('pbx1', '2003')]);
    expect([...next.contacts.keys()]).toEqual([key('pbx1', '2002')]);
  });

  it('registration.changed without a view updates a known row and adds none', () => {
    const before = dataWith([row('pbx1', view('2002'))]);
    const m = (endpoint: string): ServerMessage => ({
      type: 'registration.changed',
      seq: 4,
      node: 'pbx1',
      ts: TS,
      data: { endpoint, registered: true, contacts: 1, view: null, contactList: [contact(endpoint)] },
    });
    const next = applyMessage(before, m('2002'));
    expect(next.endpoints.get(key('pbx1', '2002'))).toMatchObject({ registered: true, contacts: 1 });
    expect(next.contacts.get(key('pbx1', '2002'))).toEqual([contact('2002')]);
    expect(applyMessage(before, m('stranger'))).toBe(before);
  });

  it('call.quality updates the channel and the call it belongs to, and ignores a call no longer shown', () => {
    const channel = { uniqueid: '1.1', endpoint: '2002' } as CallView['channels'][number];
    const shown: CallView = {
      linkedid: '1.0',
      node: 'pbx1',
      startedAt: TS,
      answeredAt: TS,
      state: 'up',
      channels: [channel],
      quality: null,
    };
    const before: BoardData = { ...EMPTY_DATA, calls: new Map([[key('pbx1', '1.0'), shown]]) };
    const quality = { mos: 4.2 } as NonNullable<CallView['channels'][number]['quality']>;
    const m = (linkedid: string): ServerMessage => ({
      type: 'call.quality',
      seq: 9,
      node: 'pbx1',
      ts: TS,
      data: {
        linkedid,
        uniqueid: '1.1',
        endpoint: '2002',
        quality,
        callQuality: { mos: 4.2, jitterMs: 3, lossFraction: 0, rttMs: null },
      },
    });
    const next = applyMessage(before, m('1.0')).calls.get(key('pbx1', '1.0'));
    expect(next?.quality?.mos).toBe(4.2);
    expect(next?.channels[0].quality).toBe(quality);
    expect(applyMessage(before, m('gone'))).toBe(before);
  });

  it('messages that show nothing return the same data', () => {
    const before = dataWith([row('pbx1', view('2002'))]);
    expect(applyMessage(before, { type: 'hello', protocol: 1 })).toBe(before);
    expect(
      applyMessage(before, {
        type: 'state.resynced',
        seq: 1,
        node: 'pbx1',
        ts: TS,
        data: { link: 'ami', counts: {} },
      }),
    ).toBe(before);
  });
});

describe('applyContacts (GET contacts after a snapshot)', () => {
  it('groups the answer by endpoint and gives known endpoints without a contact an empty list', () => {
    const before = dataWith([
      row('pbx1', view('2002')),
      row('pbx1', view('2003')),
      row('pbx2', view('2002')),
    ]);
    const next = applyContacts(before, 'pbx1', [contact('2002'), contact('2002', { uri: 'sip:2002@b' })]);
    expect(next.contacts.get(key('pbx1', '2002'))).toHaveLength(2);
    expect(next.contacts.get(key('pbx1', '2003'))).toEqual([]);
    expect(next.contacts.has(key('pbx2', '2002'))).toBe(false);
  });

  it('does not overwrite contacts a delta set after the request left', () => {
    const fromDelta = [contact('2002', { status: 'unreachable' })];
    const before = dataWith([row('pbx1', view('2002'))], [[key('pbx1', '2002'), fromDelta]]);
    const newer = new Set([contactsTouchedBy(endpointUpdated('pbx1', '2002', view('2002'), fromDelta))!]);
    const next = applyContacts(before, 'pbx1', [contact('2002', { status: 'reachable' })], newer);
    expect(next.contacts.get(key('pbx1', '2002'))).toBe(fromDelta);
  });
});

describe('affectsDiagnostics', () => {
  it('a snapshot and diagnostic alerts do, other alerts do not', () => {
    const alert = (type: 'diagnostic' | 'auth_loop'): ServerMessage => ({
      type: 'alert.raised',
      seq: 1,
      node: 'pbx1',
      ts: TS,
      data: {
        id: `${type}:pbx1:2002`,
        type,
        node: 'pbx1',
        endpoint: '2002',
        since: TS,
        lastSeen: TS,
        count: 1,
        message: 'm',
        remedy: 'r',
        details: {},
      },
    });
    expect(affectsDiagnostics(alert('diagnostic'))).toBe(true);
    expect(affectsDiagnostics(alert('auth_loop'))).toBe(false);
  });
});
