import { expectEventually } from '../../../test/support/expect-eventually';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type {
  AmiActionFields,
  AmiListOptions,
  AmiListResult,
  AmiMappedListOptions,
} from '../../ami/ami.connection';
import { AmiPjsip, type AmiActionLink } from '../../ami/ami.pjsip';
import {
  aorRecords,
  contactRecords,
  endpointDetailRecord,
  endpointRecords,
} from '../../ami/ami.pjsip-records';
import { AmiActionError, AmiConnectionClosedError } from '../../ami/ami.errors';
import type { AmiMessage } from '../../ami/ami.message';
import { AmiFrameParser } from '../../ami/ami.parser';
import type { PbxpulseConfig } from '../../config/config.types';
import { EventBus } from '../../events/event-bus';
import type { ContactStatusChanged, PbxEvent } from '../../events/pbx-events';
import { ResyncCoordinator } from '../resync.coordinator';
import { buildRegistrations } from './registration.snapshot';
import { RegistrationStore } from './registration.store';

/**
 * Recorded AMI bytes from the sandbox Asterisk 22.10:
 * - test/fixtures/login-and-lists.ami: nothing registered (see test/fixtures/README.md);
 * - test/fixtures/registered-contacts.ami: 2002 registered over UDP (not qualified) and
 *   1001 over WebSocket (qualified, Reachable) by the test SIP clients; sent, in order: Login (rec-1),
 *   PJSIPShowEndpoints (rec-2), PJSIPShowAors (rec-3), PJSIPShowAuths (rec-4),
 *   PJSIPShowRegistrationInboundContactStatuses (rec-5), PJSIPShowEndpoint 1001 (rec-6) and 2002
 *   (rec-7), PJSIPShowEndpoint nosuch (rec-8, answers Error), Logoff. Passwords scrubbed to xxxxxxxx.
 */
function recorded(path: string, actions: Record<string, string>): Map<string, AmiMessage[]> {
  const byId = new Map<string, AmiMessage[]>();
  const parser = new AmiFrameParser(1 << 20, {
    onMessage: (m) => {
      const id = m.fields.ActionID;
      if (id) byId.set(id, [...(byId.get(id) ?? []), m]);
    },
    onMalformed: (r) => {
      throw new Error(`malformed frame in ${path}: ${r}`);
    },
  });
  parser.push(readFileSync(path));
  const out = new Map<string, AmiMessage[]>();
  for (const [id, key] of Object.entries(actions)) out.set(key, byId.get(id) ?? []);
  return out;
}

const EMPTY = recorded(join(__dirname, '..', '..', '..', 'test', 'fixtures', 'login-and-lists.ami'), {
  'rec-2': 'PJSIPShowEndpoints',
  'rec-3': 'PJSIPShowAors',
  'rec-4': 'PJSIPShowRegistrationInboundContactStatuses',
  'rec-9': 'PJSIPShowEndpoint:1001',
  'rec-10': 'PJSIPShowEndpoint:1002',
});

const REGISTERED = recorded(
  join(__dirname, '..', '..', '..', 'test', 'fixtures', 'registered-contacts.ami'),
  {
    'rec-2': 'PJSIPShowEndpoints',
    'rec-3': 'PJSIPShowAors',
    'rec-4': 'PJSIPShowAuths',
    'rec-5': 'PJSIPShowRegistrationInboundContactStatuses',
    'rec-6': 'PJSIPShowEndpoint:1001',
    'rec-7': 'PJSIPShowEndpoint:2002',
    'rec-8': 'PJSIPShowEndpoint:nosuch',
  },
);

const URI_2002 = 'sip:2002@127.0.0.1:59047';
const URI_1001 = 'sip:1001@127.0.0.1:41044;transport=ws;x-ast-orig-host=82506d61c134.invalid:0';

/** A stand-in for `AmiConnection.listAction` that answers from recorded frames. */
class FakeAmi implements AmiActionLink {
  isUp = true;
  readonly calls: string[] = [];
  /** Recorded answers by `Action` or `Action:Endpoint`; a missing key answers like Asterisk's "not found". */
  answers: Map<string, AmiMessage[]>;
  /** While set, answers wait for it (to let events arrive while a list is in flight). */
  gate?: Promise<void>;
  /** Answer every action with this Error message. */
  errorMessage?: string;

  constructor(answers: Map<string, AmiMessage[]>) {
    this.answers = new Map(answers);
  }

  listAction(action: string, fields?: AmiActionFields, opts?: AmiListOptions): Promise<AmiListResult>;
  listAction<T>(
    action: string,
    fields: AmiActionFields,
    opts: AmiMappedListOptions<T>,
  ): Promise<AmiListResult<T>>;
  async listAction(
    action: string,
    fields: AmiActionFields = {},
    opts: AmiListOptions & { item?: (m: AmiMessage) => unknown } = {},
  ): Promise<AmiListResult<unknown>> {
    const key = action === 'PJSIPShowEndpoint' ? `${action}:${String(fields.Endpoint)}` : action;
    this.calls.push(key);
    if (!this.isUp) throw new AmiConnectionClosedError(action, 'not connected');
    await this.gate;
    const frames = this.answers.get(key);
    const error =
      this.errorMessage ??
      (frames ? frames[0].fields.Response === 'Error' && frames[0].fields.Message : 'No objects found');
    if (error) {
      if (!opts.errorMeansEmpty) throw new AmiActionError(action, error);
      return { response: { fields: { Response: 'Error', Message: error } }, items: [] };
    }
    const list = frames ?? [];
    const items = list.filter((m) => m.fields.Event !== undefined && m.fields.EventList !== 'Complete');
    return {
      response: list[0],
      items: opts.item ? items.map(opts.item).filter((r) => r !== undefined) : items,
      complete: list.find((m) => m.fields.EventList === 'Complete'),
    };
  }

  action(action: string): Promise<AmiMessage> {
    return Promise.reject(new AmiActionError(action, 'not recorded'));
  }

  /** Replace the items of one list, keeping the recorded response and completion frames. */
  setItems(key: string, edit: (items: AmiMessage[]) => AmiMessage[]): void {
    const frames = this.answers.get(key) ?? [];
    const items = frames.filter((m) => m.fields.Event !== undefined && m.fields.EventList !== 'Complete');
    const rest = frames.filter((m) => !items.includes(m));
    this.answers.set(key, [rest[0], ...edit(items), ...rest.slice(1)]);
  }
}

function setup(answers = REGISTERED, reconcileIntervalMs = 60_000) {
  const config = { state: { reconcileIntervalMs }, nodes: [{ name: 'pbx1' }] } as unknown as PbxpulseConfig;
  const bus = new EventBus();
  const published: PbxEvent[] = [];
  bus.subscribe((e) => published.push(e));
  const coordinator = new ResyncCoordinator(bus);
  const ami = new FakeAmi(answers);
  const pjsip = new AmiPjsip('pbx1', ami);
  const store = new RegistrationStore(config, bus, coordinator, { pjsip: () => pjsip });
  const of = <T extends PbxEvent['type']>(type: T) =>
    published.filter((e): e is Extract<PbxEvent, { type: T }> => e.type === type);
  return { bus, store, ami, coordinator, published, of };
}

function contactEvent(over: Partial<ContactStatusChanged>): ContactStatusChanged {
  return {
    type: 'contact.status_changed',
    node: 'pbx1',
    ts: Date.now(),
    source: 'ami',
    endpoint: '2002',
    aor: '2002',
    uri: URI_2002,
    status: 'nonqualified',
    ...over,
  };
}

describe('resync from the recorded list actions', () => {
  it('builds endpoints, AORs and no contacts from a sandbox with nothing registered', () => {
    const get = (k: string) => EMPTY.get(k) ?? [];
    const state = buildRegistrations({
      endpoints: endpointRecords(get('PJSIPShowEndpoints')),
      aors: aorRecords(get('PJSIPShowAors')),
      contacts: contactRecords(get('PJSIPShowRegistrationInboundContactStatuses')),
      details: new Map([
        ['1001', endpointDetailRecord(get('PJSIPShowEndpoint:1001'))],
        ['1002', endpointDetailRecord(get('PJSIPShowEndpoint:1002'))],
      ]),
    });
    expect([...state.endpoints.values()].sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      {
        name: '1001',
        aors: ['1001'],
        auths: ['1001-auth'],
        transport: 'transport-ws',
        transportProtocol: 'ws',
        context: 'internal',
        deviceState: 'UNAVAILABLE',
        reachable: false,
      },
      {
        name: '1002',
        aors: ['1002-aor'],
        auths: ['1002-auth'],
        transport: null,
        transportProtocol: null,
        context: 'internal',
        deviceState: 'UNAVAILABLE',
        reachable: false,
      },
      expect.objectContaining({ name: '2001', transport: 'transport-udp', context: null }),
      expect.objectContaining({ name: '2002', aors: ['2002'] }),
    ]);
    expect([...state.aors.values()]).toEqual([
      { name: '1001', maxContacts: 5, removeExisting: true, qualifyFrequency: 30, contacts: [] },
      { name: '1002-aor', maxContacts: 5, removeExisting: true, qualifyFrequency: 0, contacts: [] },
      { name: '2001', maxContacts: 1, removeExisting: true, qualifyFrequency: 30, contacts: [] },
      { name: '2002', maxContacts: 1, removeExisting: true, qualifyFrequency: 0, contacts: [] },
    ]);
    expect(state.contacts.size).toBe(0);
    expect([...state.endpoints.keys()].sort()).toEqual(['1001', '1002', '2001', '2002']);
  });

  it('reads the endpoint detail: context, transport protocol, contacts', () => {
    const detail = endpointDetailRecord(REGISTERED.get('PJSIPShowEndpoint:1001') ?? []);
    expect(detail).toEqual({
      context: 'internal',
      transportProtocol: 'ws',
      contacts: [
        {
          aor: '1001',
          uri: URI_1001,
          endpoint: '1001',
          status: 'reachable',
          rttUsec: 1610,
          userAgent: 'pbxpulse-test/1',
          expiresAt: new Date(1795434038 * 1000).toISOString(),
          viaAddress: '82506d61c134.invalid',
          callId: '1463dd91e7dfb61ca243d538@pbxpulse-test',
        },
      ],
    });
  });

  it('resync through the coordinator: counts, views, state.resynced, and no secret anywhere', async () => {
    const t = setup();
    const counts = await t.coordinator.resync('pbx1', 'ami');
    expect(counts).toEqual({ endpoints: 4, aors: 4, contacts: 2 });
    expect(t.of('state.resynced')).toEqual([expect.objectContaining({ counts })]);
    // The first build has no "before": no registration.changed.
    expect(t.of('registration.changed')).toEqual([]);
    // Context comes from one PJSIPShowEndpoint per endpoint.
    expect(t.ami.calls.filter((c) => c.startsWith('PJSIPShowEndpoint:')).sort()).toEqual([
      'PJSIPShowEndpoint:1001',
      'PJSIPShowEndpoint:1002',
      'PJSIPShowEndpoint:2001',
      'PJSIPShowEndpoint:2002',
    ]);

    expect(t.store.endpoint('pbx1', '2002')).toEqual({
      name: '2002',
      aors: ['2002'],
      auths: ['2002-auth'],
      authUsernames: ['2002'],
      transport: 'transport-udp',
      context: 'internal',
      deviceState: 'NOT_INUSE',
      reachable: true,
      registered: true,
      contacts: 1,
    });
    expect(t.store.endpoint('pbx1', '2001')).toMatchObject({
      registered: false,
      contacts: 0,
      reachable: false,
    });
    expect(t.store.contacts('pbx1', '2002')).toEqual([
      {
        aor: '2002',
        endpoint: '2002',
        uri: URI_2002,
        status: 'nonqualified',
        rttUsec: null,
        userAgent: 'pbxpulse-test/1',
        expiresAt: '2026-11-23T11:40:38.000Z',
        viaAddress: '127.0.0.1:59047',
        transport: 'udp',
        callId: 'f9a83015ef8a6bd8d11bf093@pbxpulse-test',
      },
    ]);
    expect(t.store.contacts('pbx1', '1001')).toEqual([
      expect.objectContaining({ status: 'reachable', rttUsec: 1610, transport: 'ws' }),
    ]);
    expect(t.store.aor('pbx1', '2002')).toEqual({
      name: '2002',
      maxContacts: 1,
      removeExisting: true,
      qualifyFrequency: 0,
      contacts: 1,
      endpoints: ['2002'],
    });
    expect(t.store.isKnownEndpoint('pbx1', '1002')).toBe(true);
    expect(t.store.isKnownEndpoint('pbx1', '1002-aor')).toBe(false);

    // Password / Md5Cred are in AuthList and AuthDetail: never stored, never returned.
    const everything = JSON.stringify({
      endpoints: t.store.endpoints('pbx1'),
      contacts: t.store.contacts('pbx1'),
      aors: t.store.aors('pbx1'),
      state: [...t.store.state('pbx1').auths.values(), ...t.store.state('pbx1').endpoints.values()],
    });
    expect(everything).not.toMatch(/xxxxxxxx|password|md5/i);
    expect([...t.store.state('pbx1').auths.values()][0]).toEqual({
      name: '1001-auth',
      username: '1001',
      realm: '',
      authType: 'userpass',
    });
  });

  it('reads the lists again on FullyBooted after a resync: a login during boot saw device states Invalid', async () => {
    const t = setup();
    // Boot of a first connection: nothing loaded yet, the coordinator's resync is the one read.
    t.bus.publish({ type: 'node.booted', node: 'pbx1', ts: 1, source: 'ami' });
    expect(t.ami.calls.filter((c) => c === 'PJSIPShowEndpoints')).toEqual([]);
    await t.store.resync('pbx1');
    t.bus.publish({ type: 'node.booted', node: 'pbx1', ts: 2, source: 'ami' });
    await expectEventually(() =>
      expect(t.ami.calls.filter((c) => c === 'PJSIPShowEndpoints')).toHaveLength(2),
    );
  });

  it('tries a failed resync again after 5 s, then 10 s, not a whole reconciliation interval later', async () => {
    jest.useFakeTimers();
    const t = setup();
    await t.store.resync('pbx1');
    // An overloaded Asterisk: the lists fail (here refused; in a storm, timed out).
    t.ami.errorMessage = 'Permission denied';
    await expect(t.store.resync('pbx1')).rejects.toThrow('Permission denied');
    t.ami.calls.length = 0;
    const lists = () => t.ami.calls.filter((c) => c === 'PJSIPShowEndpoints').length;
    await jest.advanceTimersByTimeAsync(4900);
    expect(lists()).toBe(0);
    await jest.advanceTimersByTimeAsync(200);
    expect(lists()).toBe(1); // failed again: the next try doubles the wait
    t.ami.errorMessage = undefined;
    await jest.advanceTimersByTimeAsync(9800);
    expect(lists()).toBe(1);
    await jest.advanceTimersByTimeAsync(300);
    expect(lists()).toBe(2); // a full resync, which succeeds
    expect(t.ami.calls).toContain('PJSIPShowAuths');
    t.ami.calls.length = 0;
    // Rebuilt: back to the reconciliation interval (60 s).
    await jest.advanceTimersByTimeAsync(59_000);
    expect(lists()).toBe(0);
    await jest.advanceTimersByTimeAsync(1_500);
    expect(lists()).toBe(1);
    t.store.onModuleDestroy();
    jest.useRealTimers();
  });

  it('a reconnect to a running Asterisk reads the lists once: its FullyBooted precedes the resync', async () => {
    const t = setup();
    await t.store.resync('pbx1');
    const connection = (status: 'up' | 'down') =>
      t.bus.publish({
        type: 'node.connection_changed',
        node: 'pbx1',
        link: 'ami',
        status,
        previous: status === 'up' ? 'down' : 'up',
        ts: 3,
        source: 'ami',
      });
    connection('down');
    connection('up');
    // Asterisk greets every login with FullyBooted, before the after-connect hooks have run.
    t.bus.publish({ type: 'node.booted', node: 'pbx1', ts: 4, source: 'ami' });
    await t.store.resync('pbx1');
    await new Promise((r) => setTimeout(r, 50));
    expect(t.ami.calls.filter((c) => c === 'PJSIPShowEndpoints')).toHaveLength(2);
  });

  it('an empty PBX answers Error for its lists: that is empty, not a failure', async () => {
    const t = setup(new Map());
    t.ami.errorMessage = 'No endpoints found';
    expect(await t.store.resync('pbx1')).toEqual({ endpoints: 0, aors: 0, contacts: 0 });
  });

  it('any other Error (Permission denied) fails the resync and keeps the state', async () => {
    const t = setup();
    await t.store.resync('pbx1');
    const before = t.store.state('pbx1');
    t.ami.errorMessage = 'Permission denied';
    await expect(t.store.resync('pbx1')).rejects.toThrow(/Permission denied/);
    await expect(t.store.reconcile('pbx1')).rejects.toThrow(/Permission denied/);
    expect(t.store.state('pbx1')).toBe(before);
    expect(t.of('state.repaired')).toEqual([]);
  });

  it('keeps the events that arrive while the lists are in flight (journal re-applied on top)', async () => {
    const t = setup();
    let release!: () => void;
    t.ami.gate = new Promise((r) => (release = r));
    const pending = t.store.resync('pbx1');
    // Events from here on arrive after the list actions went out.
    while (t.ami.calls.length === 0) await new Promise((r) => setImmediate(r));
    // The lists (produced before these events) show 2002 registered and no 2001 contact.
    t.bus.publish(contactEvent({ status: 'removed' }));
    t.bus.publish(contactEvent({ endpoint: '2001', aor: '2001', uri: 'sip:2001@127.0.0.1:7000' }));
    t.bus.publish(
      contactEvent({ endpoint: '1001', aor: '1001', uri: 'sip:1001@127.0.0.1:7001;transport=ws' }),
    );
    t.bus.publish({
      type: 'device.state_changed',
      node: 'pbx1',
      ts: 1,
      source: 'ami',
      device: 'PJSIP/1001',
      state: 'INUSE',
    });
    release();
    expect(await pending).toEqual({ endpoints: 4, aors: 4, contacts: 3 });
    expect(t.store.contacts('pbx1').map((c) => c.uri)).toEqual([
      URI_1001,
      'sip:1001@127.0.0.1:7001;transport=ws',
      'sip:2001@127.0.0.1:7000',
    ]);
    expect(t.store.endpoint('pbx1', '1001')).toMatchObject({ deviceState: 'INUSE', contacts: 2 });
    expect(t.store.aor('pbx1', '1001')?.contacts).toBe(2);
  });
});

describe('reconciliation', () => {
  async function resynced() {
    const t = setup();
    await t.store.resync('pbx1');
    t.published.length = 0;
    return t;
  }

  it('repairs a ghost, a missing contact and a stale status; counts each as state.repaired', async () => {
    const t = await resynced();
    t.ami.setItems('PJSIPShowRegistrationInboundContactStatuses', (items) => [
      // 1001 went Unreachable (event lost), 2002 expired (event lost), 2001 registered (event lost).
      { fields: { ...items[0].fields, Status: 'Unreachable', RoundtripUsec: 'N/A' } },
      { fields: { ...items[1].fields, AOR: '2001', EndpointName: '2001', URI: 'sip:2001@127.0.0.1:7000' } },
    ]);
    expect(await t.store.reconcile('pbx1')).toBe(3);
    expect(
      t
        .of('state.repaired')
        .map((e) => e.kind)
        .sort(),
    ).toEqual(['contact_ghost', 'contact_missing', 'contact_status']);
    expect(t.of('state.repaired')[0]).toMatchObject({ node: 'pbx1', source: 'daemon' });
    expect(t.of('registration.changed').map((e) => [e.endpoint, e.registered])).toEqual([
      ['2001', true],
      ['2002', false],
    ]);
    expect(t.store.contacts('pbx1').map((c) => [c.endpoint, c.status])).toEqual([
      ['1001', 'unreachable'],
      ['2001', 'nonqualified'],
    ]);
    // Endpoint details are not re-read by the poll: context is carried over.
    expect(t.ami.calls.filter((c) => c.startsWith('PJSIPShowEndpoint:')).length).toBe(4);
    expect(t.store.endpoint('pbx1', '1001')?.context).toBe('internal');
    // A second poll finds nothing more.
    expect(await t.store.reconcile('pbx1')).toBe(0);
  });

  it('refreshes RTT and expiry without calling it a repair', async () => {
    const t = await resynced();
    t.ami.setItems('PJSIPShowRegistrationInboundContactStatuses', (items) => [
      { fields: { ...items[0].fields, RoundtripUsec: '4321', RegExpire: '1795435000' } },
      items[1],
    ]);
    expect(await t.store.reconcile('pbx1')).toBe(0);
    expect(t.of('state.repaired')).toEqual([]);
    expect(t.store.contacts('pbx1', '1001')[0]).toMatchObject({
      rttUsec: 4321,
      expiresAt: new Date(1795435000 * 1000).toISOString(),
    });
  });

  it('repairs endpoints and AORs that changed without an event; reads the detail of a new endpoint', async () => {
    const t = await resynced();
    t.ami.setItems('PJSIPShowEndpoints', (items) => [
      ...items.filter((m) => m.fields.ObjectName !== '2001'),
      { fields: { ...items[0].fields, ObjectName: '3001', Aor: '3001', Auths: '' } },
    ]);
    t.ami.setItems('PJSIPShowAors', (items) =>
      items.map((m) => (m.fields.ObjectName === '2002' ? { fields: { ...m.fields, MaxContacts: '3' } } : m)),
    );
    expect(await t.store.reconcile('pbx1')).toBe(3);
    expect(
      t
        .of('state.repaired')
        .map((e) => `${e.kind} ${e.subject}`)
        .sort(),
    ).toEqual(['aor_changed 2002', 'endpoint_ghost 2001', 'endpoint_missing 3001']);
    expect(t.ami.calls).toContain('PJSIPShowEndpoint:3001');
  });

  it('does nothing while AMI is down', async () => {
    const t = await resynced();
    t.ami.isUp = false;
    t.ami.calls.length = 0;
    expect(await t.store.reconcile('pbx1')).toBe(0);
    expect(t.ami.calls).toEqual([]);
  });
});

describe('events, enrichment, reloads and timers', () => {
  afterEach(() => jest.useRealTimers());

  it('drops the other link\'s late copy: AMI "created, removed" then ARI "created, removed" leaves no ghost', async () => {
    const t = setup();
    await t.store.resync('pbx1');
    const uri = 'sip:2001@127.0.0.1:9000';
    const ev = (status: 'nonqualified' | 'removed', source: 'ami' | 'ari') =>
      contactEvent({ endpoint: '2001', aor: '2001', uri, status, source });
    t.bus.publish(ev('nonqualified', 'ami'));
    t.bus.publish(ev('removed', 'ami'));
    t.bus.publish(ev('nonqualified', 'ari'));
    expect(t.store.contacts('pbx1', '2001')).toEqual([]);
    t.bus.publish(ev('removed', 'ari'));
    expect(t.of('registration.changed').map((e) => e.registered)).toEqual([true, false]);
    // A real new registration later on is applied from whichever link is first.
    t.bus.publish(ev('nonqualified', 'ari'));
    t.bus.publish(ev('nonqualified', 'ami'));
    expect(t.store.contacts('pbx1', '2001')).toHaveLength(1);
    expect(t.of('registration.changed').map((e) => e.registered)).toEqual([true, false, true]);
    t.store.onModuleDestroy();
  });

  it('keeps a permanent contact= (AorList names it, no registration list does) out of the contacts: no ghost', async () => {
    const t = setup(REGISTERED, 60_000);
    const trunkUri = 'sip:prov@203.0.113.5:5060';
    t.ami.setItems('PJSIPShowAors', (items) =>
      items.map((m) =>
        m.fields.ObjectName === '2001'
          ? { fields: { ...m.fields, Contacts: `2001/${trunkUri}`, MaxContacts: '0' } }
          : m,
      ),
    );
    await t.store.resync('pbx1');
    expect(t.store.state('pbx1').aors.get('2001')?.staticContacts).toEqual([trunkUri]);
    // A registered contact listed by AorList is not taken for a permanent one.
    expect(t.store.state('pbx1').aors.get('1001')?.staticContacts).toBeUndefined();
    t.bus.publish(
      contactEvent({ endpoint: '2001', aor: '2001', uri: trunkUri, status: 'reachable', rttUsec: 900 }),
    );
    t.bus.publish(contactEvent({ endpoint: '2001', aor: '2001', uri: trunkUri, status: 'unreachable' }));
    expect(t.store.contacts('pbx1', '2001')).toEqual([]);
    expect(await t.store.reconcile('pbx1')).toBe(0);
    expect(t.of('state.repaired')).toEqual([]);
    expect(t.of('registration.changed')).toEqual([]);
    t.store.onModuleDestroy();
  });

  it('enriches a contact first seen through an event with one PJSIPShowEndpoint per endpoint', async () => {
    jest.useFakeTimers();
    const t = setup();
    // Build the state from lists with no contacts, then let the contact arrive as events.
    t.ami.setItems('PJSIPShowRegistrationInboundContactStatuses', () => []);
    // AorList names registered contacts too: nothing registered means none there either.
    t.ami.setItems('PJSIPShowAors', (items) => items.map((m) => ({ fields: { ...m.fields, Contacts: '' } })));
    await t.store.resync('pbx1');
    t.ami.calls.length = 0;
    t.bus.publish(contactEvent({ status: 'nonqualified' }));
    t.bus.publish(contactEvent({ status: 'nonqualified', source: 'ari' }));
    expect(t.store.contacts('pbx1', '2002')[0]).toMatchObject({ userAgent: null, expiresAt: null });
    await jest.advanceTimersByTimeAsync(500);
    expect(t.ami.calls).toEqual(['PJSIPShowEndpoint:2002']);
    expect(t.store.contacts('pbx1', '2002')[0]).toMatchObject({
      userAgent: 'pbxpulse-test/1',
      viaAddress: '127.0.0.1:59047',
      expiresAt: '2026-11-23T11:40:38.000Z',
    });
    t.store.onModuleDestroy();
  });

  it("a status published right after the contact's removal (Asterisk after a boot) is dropped unless Asterisk lists the contact", async () => {
    jest.useFakeTimers();
    const t = setup();
    t.ami.setItems('PJSIPShowRegistrationInboundContactStatuses', () => []);
    // The recorded AorList still names 2002's contact while the registration list is empty, as when a
    // device registers between the two reads: on a phone's AOR (max_contacts 1) that is no permanent
    // contact, so its events still count.
    await t.store.resync('pbx1');
    const listed = contactEvent({ status: 'nonqualified' }).uri; // in the recorded PJSIPShowEndpoint:2002
    const gone = 'sip:2002-old@127.0.0.1:5999';
    const ev = (uri: string, status: 'nonqualified' | 'removed') => contactEvent({ uri, status });
    // A REGISTER replaced `gone` (remove_existing); then the stale status of `gone` arrives.
    t.bus.publish(ev(gone, 'nonqualified'));
    t.bus.publish(ev(gone, 'removed'));
    t.bus.publish(ev(gone, 'nonqualified'));
    // And a contact that really came back (same URI re-registered) is listed by Asterisk: it stays.
    t.bus.publish(ev(listed, 'nonqualified'));
    t.bus.publish(ev(listed, 'removed'));
    t.bus.publish(ev(listed, 'nonqualified'));
    expect(
      t.store
        .contacts('pbx1', '2002')
        .map((c) => c.uri)
        .sort(),
    ).toEqual([gone, listed].sort());
    await jest.advanceTimersByTimeAsync(500);
    expect(t.ami.calls).toContain('PJSIPShowEndpoint:2002');
    expect(t.store.contacts('pbx1', '2002').map((c) => c.uri)).toEqual([listed]);
    t.store.onModuleDestroy();
  });

  it('enriches a registration storm at most 4 endpoints per 200 ms; a reconciliation settles the rest', async () => {
    jest.useFakeTimers();
    const t = setup();
    const names = Array.from({ length: 30 }, (_, i) => `e${3000 + i}`);
    t.ami.setItems('PJSIPShowEndpoints', (items) => [
      ...items,
      ...names.map((n) => ({
        fields: {
          Event: 'EndpointList',
          ObjectType: 'endpoint',
          ObjectName: n,
          Aor: n,
          DeviceState: 'Unavailable',
        },
      })),
    ]);
    t.ami.setItems('PJSIPShowRegistrationInboundContactStatuses', () => []);
    await t.store.resync('pbx1');
    t.ami.calls.length = 0;
    const enriched = () => t.ami.calls.filter((c) => c.startsWith('PJSIPShowEndpoint:'));
    for (const n of names)
      t.bus.publish(contactEvent({ endpoint: n, aor: n, uri: `sip:${n}@127.0.0.1:5060` }));

    await jest.advanceTimersByTimeAsync(210);
    expect(enriched()).toEqual(names.slice(0, 4).map((n) => `PJSIPShowEndpoint:${n}`));
    await jest.advanceTimersByTimeAsync(200);
    expect(enriched()).toHaveLength(8);
    // The reconciliation reads every contact (user agent and expiry included): the backlog is dropped.
    await t.store.reconcile('pbx1');
    const after = enriched().length;
    await jest.advanceTimersByTimeAsync(5000);
    expect(enriched()).toHaveLength(after);
    expect(after).toBeLessThan(names.length);
    t.store.onModuleDestroy();
  });

  it('re-reads endpoints, AORs and auths after a res_pjsip (or All) reload, not after other modules', async () => {
    jest.useFakeTimers();
    const t = setup();
    await t.store.resync('pbx1');
    const reload = (module: string) =>
      t.bus.publish({ type: 'module.reloaded', node: 'pbx1', ts: 1, source: 'ami', module, status: '0' });
    t.ami.calls.length = 0;
    reload('res_musiconhold.so');
    await jest.advanceTimersByTimeAsync(1000);
    expect(t.ami.calls).toEqual([]);

    t.ami.setItems('PJSIPShowEndpoints', (items) =>
      items.map((m) =>
        m.fields.ObjectName === '2002' ? { fields: { ...m.fields, Aor: '2002,2002-b' } } : m,
      ),
    );
    reload('res_pjsip.so');
    reload('All');
    await jest.advanceTimersByTimeAsync(1000);
    expect(t.ami.calls.filter((c) => !c.startsWith('PJSIPShowEndpoint:')).sort()).toEqual([
      'PJSIPShowAors',
      'PJSIPShowAuths',
      'PJSIPShowEndpoints',
    ]);
    expect(t.store.endpoint('pbx1', '2002')?.aors).toEqual(['2002', '2002-b']);
    // Contacts were not re-read (and stay); a reload is not a repair.
    expect(t.store.contacts('pbx1')).toHaveLength(2);
    expect(t.of('state.repaired')).toEqual([]);
    t.store.onModuleDestroy();
  });

  it('polls every reconcileIntervalMs while AMI is up, stops when it drops, clears timers on destroy', async () => {
    jest.useFakeTimers();
    const t = setup(REGISTERED, 1000);
    await t.store.resync('pbx1');
    const polls = () => t.ami.calls.filter((c) => c === 'PJSIPShowRegistrationInboundContactStatuses').length;
    expect(polls()).toBe(1);
    await jest.advanceTimersByTimeAsync(2100);
    expect(polls()).toBe(3);

    t.ami.isUp = false;
    t.bus.publish({
      type: 'node.connection_changed',
      node: 'pbx1',
      ts: 1,
      source: 'ami',
      link: 'ami',
      status: 'down',
      previous: 'up',
    });
    await jest.advanceTimersByTimeAsync(5000);
    expect(polls()).toBe(3);

    t.ami.isUp = true;
    await t.store.resync('pbx1');
    expect(jest.getTimerCount()).toBe(1);
    t.store.onModuleDestroy();
    expect(jest.getTimerCount()).toBe(0);
  });

  it('a failed resync is retried by the next poll tick', async () => {
    jest.useFakeTimers();
    const t = setup(REGISTERED, 1000);
    t.ami.errorMessage = 'Timeout';
    await expect(t.store.resync('pbx1')).rejects.toThrow(/Timeout/);
    expect(t.store.endpoints('pbx1')).toEqual([]);
    t.ami.errorMessage = undefined;
    await jest.advanceTimersByTimeAsync(1100);
    expect(t.store.endpoints('pbx1')).toHaveLength(4);
    // It was a rebuild, not a reconciliation: nothing counts as repaired.
    expect(t.of('state.repaired')).toEqual([]);
    t.store.onModuleDestroy();
  });

  it('unknown node: readers answer empty, rebuilds reject with NodeNotFoundError', async () => {
    const t = setup();
    expect(t.store.endpoints('nope')).toEqual([]);
    expect(t.store.endpoint('nope', '2002')).toBeUndefined();
    await expect(t.store.resync('nope')).rejects.toMatchObject({ code: 'NODE_NOT_FOUND' });
  });
});
