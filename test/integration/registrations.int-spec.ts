import { AMI_USED_EVENTS } from '../../src/ami/ami.normaliser';
import { AmiService } from '../../src/ami/ami.service';
import type { PbxEvent } from '../../src/events/pbx-events';
import { RegistrationStore } from '../../src/state/registrations/registration.store';
import type { PjsipObject } from '../../src/common/pbx.records';
import type { AorView, ContactView, EndpointView } from '../../src/state/registrations/registration.views';
import { expectEventually } from '../support/expect-eventually';
import { sandboxNodeYaml, startDaemon, type TestDaemon } from '../support/daemon';
import { SANDBOX, coreRestartNow, waitFullyBooted } from '../support/sandbox';
import { SipUdpClient } from '../support/sip/sip-udp-client';
import { SipWsClient } from '../support/sip/sip-ws-client';

/** What must survive a restart unchanged: the configuration side of endpoints and AORs. */
interface Identity {
  endpoints: Array<Pick<EndpointView, 'name' | 'aors' | 'auths' | 'authUsernames' | 'transport' | 'context'>>;
  aors: Array<Pick<AorView, 'name' | 'maxContacts' | 'removeExisting' | 'qualifyFrequency' | 'endpoints'>>;
}

/**
 * Live registration state against the sandbox Asterisk, with real REGISTERs from the test SIP clients.
 * Needs sandbox/asterisk/pjsip.conf with `minimum_expiration = 5` on AOR 2002 and
 * `contact_expiration_check_interval = 1` in [global] (the expiry test registers for 5 s).
 */
describe('registrations against the sandbox Asterisk', () => {
  let daemon: TestDaemon;
  const clients: Array<SipUdpClient | SipWsClient> = [];
  const plain = SANDBOX.endpoints.plainPhone;
  const webrtc = SANDBOX.endpoints.webrtc;

  const udp = async (): Promise<SipUdpClient> => {
    const c = await SipUdpClient.open();
    clients.push(c);
    return c;
  };
  const ws = async (): Promise<SipWsClient> => {
    const c = await SipWsClient.open();
    clients.push(c);
    return c;
  };
  const detail = async (
    name: string,
  ): Promise<{ endpoint: { registered: boolean }; contacts: ContactView[] }> => {
    const res = await daemon.get(`/api/v1/nodes/pbx1/endpoints/${name}`);
    expect(res.status).toBe(200);
    return res.body;
  };
  const metrics = async (): Promise<string> => (await daemon.get('/metrics')).text;
  const changes = (endpoint: string): boolean[] =>
    daemon.events
      .filter(
        (e): e is Extract<PbxEvent, { type: 'registration.changed' }> => e.type === 'registration.changed',
      )
      .filter((e) => e.endpoint === endpoint)
      .map((e) => e.registered);
  const reconcile = (): Promise<number> => daemon.app.get(RegistrationStore).reconcile('pbx1');
  const resyncedCount = (): number =>
    daemon.events.filter((e) => e.type === 'state.resynced' && e.link === 'ami').length;

  /** The configuration side of /endpoints and /aors (registration counts and device states move). */
  const identity = async (): Promise<Identity> => {
    const endpoints: EndpointView[] = (await daemon.get('/api/v1/nodes/pbx1/endpoints')).body.endpoints;
    const aors: AorView[] = (await daemon.get('/api/v1/nodes/pbx1/aors')).body.aors;
    return {
      endpoints: endpoints.map(({ name, aors, auths, authUsernames, transport, context }) => ({
        name,
        aors,
        auths,
        authUsernames,
        transport,
        context,
      })),
      aors: aors.map(({ name, maxContacts, removeExisting, qualifyFrequency, endpoints }) => ({
        name,
        maxContacts,
        removeExisting,
        qualifyFrequency,
        endpoints,
      })),
    };
  };
  /** The same, read from Asterisk's PJSIP list and detail actions through the pjsip routes. */
  const asteriskIdentity = async (): Promise<Identity> => {
    const names = ((await daemon.get('/api/v1/nodes/pbx1/pjsip/endpoints')).body.endpoints as PjsipObject[])
      .map((e) => String(e.objectName))
      .sort();
    const details = await Promise.all(
      names.map(async (name) => (await daemon.get(`/api/v1/nodes/pbx1/pjsip/endpoints/${name}`)).body),
    );
    const aors = ((await daemon.get('/api/v1/nodes/pbx1/pjsip/aors')).body.aors as PjsipObject[]).sort(
      (a, b) => String(a.objectName).localeCompare(String(b.objectName)),
    );
    const csv = (v: PjsipObject[string] | undefined): string[] =>
      String(v ?? '')
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x.length > 0);
    const endpoints = details.map((d: { endpoint: PjsipObject; auths: PjsipObject[] }) => ({
      name: String(d.endpoint.objectName),
      aors: csv(d.endpoint.aors),
      auths: csv(d.endpoint.auth),
      authUsernames: d.auths.map((a) => String(a.username)),
      transport: d.endpoint.transport ? String(d.endpoint.transport) : null,
      context: d.endpoint.context ? String(d.endpoint.context) : null,
    }));
    return {
      endpoints,
      aors: aors.map((a) => ({
        name: String(a.objectName),
        maxContacts: Number(a.maxContacts),
        removeExisting: a.removeExisting === true,
        qualifyFrequency: Number(a.qualifyFrequency),
        endpoints: endpoints.filter((e) => e.aors.includes(String(a.objectName))).map((e) => e.name),
      })),
    };
  };

  beforeAll(async () => {
    await waitFullyBooted(30_000);
    daemon = await startDaemon(
      sandboxNodeYaml('pbx1'),
      'connections: { reconnectInitialDelayMs: 100, reconnectMaxDelayMs: 500 }',
    );
    await expectEventually(() => expect(resyncedCount()).toBe(1), 10_000);
    // These tests watch 2002 go from unregistered to registered: a contact another test file left behind
    // (a client that vanished without unREGISTER) must expire first (it lives at most its 60 s expiry).
    await expectEventually(
      async () => expect((await detail('2002')).endpoint.registered).toBe(false),
      70_000,
    );
  }, 90_000);

  afterEach(async () => {
    await Promise.allSettled(clients.splice(0).map((c) => c.close()));
  });

  afterAll(async () => {
    await daemon?.close();
  });

  it('lists the configured endpoints and AORs, with context and auth usernames', async () => {
    const { status, body } = await daemon.get('/api/v1/nodes/pbx1/endpoints');
    expect(status).toBe(200);
    expect(body.endpoints.map((e: { name: string }) => e.name)).toEqual(['1001', '1002', '2001', '2002']);
    expect(body.endpoints[1]).toMatchObject({
      name: '1002',
      aors: ['1002-aor'],
      auths: ['1002-auth'],
      authUsernames: ['1002'],
      transport: null,
      context: SANDBOX.context,
    });
    expect(JSON.stringify(body)).not.toContain('sandbox');
    const aors = (await daemon.get('/api/v1/nodes/pbx1/aors')).body.aors;
    expect(aors.find((a: { name: string }) => a.name === '1002-aor')).toMatchObject({
      endpoints: ['1002'],
      maxContacts: 5,
    });
    // Measured for the report: a full rebuild (4 list actions + one PJSIPShowEndpoint per endpoint).
    const started = process.hrtime.bigint();
    await daemon.app.get(RegistrationStore).resync('pbx1');
    console.log(`registration resync on the sandbox: ${Number(process.hrtime.bigint() - started) / 1e6} ms`);
  });

  it('asks Asterisk (AMI Filter) for the events it uses only: a REGISTER brings no TestEvent', async () => {
    const conn = daemon.app.get(AmiService).connection('pbx1');
    const seen: string[] = [];
    const forward = conn.onEvent;
    conn.onEvent = (msg) => {
      seen.push(msg.fields.Event);
      forward?.(msg);
    };
    try {
      const phone = await udp();
      expect((await phone.register({ user: plain.name, password: plain.password })).status).toBe(200);
      expect((await phone.unregister()).status).toBe(200);
      await expectEventually(() =>
        expect(seen.filter((e) => e === 'ContactStatus').length).toBeGreaterThan(1),
      );
    } finally {
      conn.onEvent = forward;
    }
    // Debian's Asterisk sends a TestEvent per registrar step to any session that reads `reporting`.
    const unused = seen.filter((e) => !(AMI_USED_EVENTS as readonly string[]).includes(e));
    expect(unused).toEqual([]);
    expect(seen).toEqual(expect.arrayContaining(['ChallengeSent', 'SuccessfulAuth', 'ContactStatus']));
  });

  it('UDP 2002: REGISTER shows up with its contact, filter and metrics; un-REGISTER takes it away', async () => {
    const phone = await udp();
    const reg = await phone.register({ user: plain.name, password: plain.password });
    expect(reg.status).toBe(200);

    const registered = await expectEventually(async () => {
      const d = await detail('2002');
      expect(d.endpoint).toMatchObject({ registered: true, contacts: 1 });
      const mine = d.contacts.find((c) => c.uri === reg.contactUri);
      // User agent, via and expiry come from the targeted PJSIPShowEndpoint after the event.
      expect(mine).toMatchObject({
        aor: '2002',
        endpoint: '2002',
        transport: 'udp',
        status: 'nonqualified',
        userAgent: 'pbxpulse-test/1',
        viaAddress: `127.0.0.1:${phone.localPort}`,
        callId: phone.registerCallId,
      });
      return mine!;
    }, 5000);
    const expiresIn = Date.parse(registered.expiresAt!) - Date.now();
    expect(expiresIn).toBeGreaterThan(30_000);
    expect(expiresIn).toBeLessThanOrEqual(61_000);

    const only = (await daemon.get('/api/v1/nodes/pbx1/endpoints?registered=true')).body.endpoints;
    expect(only.map((e: { name: string }) => e.name)).toContain('2002');
    expect(only.every((e: { registered: boolean }) => e.registered)).toBe(true);
    const not = (await daemon.get('/api/v1/nodes/pbx1/endpoints?registered=false')).body.endpoints;
    expect(not.map((e: { name: string }) => e.name)).not.toContain('2002');
    const text = await metrics();
    expect(text).toContain('pbxpulse_endpoint_registered{node="pbx1",endpoint="2002"} 1');
    expect(text).toMatch(/pbxpulse_contacts\{node="pbx1",status="nonqualified"\} [1-9]/);
    for (const s of ['reachable', 'unreachable', 'unknown']) {
      expect(text).toMatch(new RegExp(`pbxpulse_contacts\\{node="pbx1",status="${s}"\\} \\d+`));
    }
    expect(changes('2002').at(-1)).toBe(true);
    // Events kept the state exact: the reconciliation poll finds nothing to repair.
    expect(await reconcile()).toBe(0);

    expect((await phone.unregister()).status).toBe(200);
    await expectEventually(async () => {
      expect((await detail('2002')).endpoint).toMatchObject({ registered: false, contacts: 0 });
      expect(await metrics()).toContain('pbxpulse_endpoint_registered{node="pbx1",endpoint="2002"} 0');
      expect(changes('2002').slice(-2)).toEqual([true, false]);
    }, 5000);
  });

  it('WS 1001: transport ws, qualified Reachable with an RTT', async () => {
    const client = await ws();
    expect((await client.register({ user: webrtc.name, password: webrtc.password })).status).toBe(200);
    await expectEventually(async () => {
      const d = await detail('1001');
      expect(d.endpoint.registered).toBe(true);
      const mine = d.contacts.find((c) => c.callId === client.registerCallId);
      expect(mine).toMatchObject({ transport: 'ws', status: 'reachable', viaAddress: client.viaHost });
      expect(mine!.uri).toMatch(/;transport=ws/);
      expect(mine!.rttUsec).toBeGreaterThan(0);
    }, 5000);
    expect(await metrics()).toMatch(/pbxpulse_contact_rtt_seconds\{node="pbx1",endpoint="1001"\} [0-9.e-]+/);
    expect(await reconcile()).toBe(0);
  });

  it('expiry: a client that vanishes without un-REGISTER is unregistered once its 5 s expire', async () => {
    const phone = await udp();
    const reg = await phone.register({ user: plain.name, password: plain.password, expires: 5 });
    expect(reg.status).toBe(200);
    // Asterisk states the remaining time, which may already be 4.
    expect(reg.expires).toBeGreaterThanOrEqual(4);
    expect(reg.expires).toBeLessThanOrEqual(5);
    await expectEventually(async () => expect((await detail('2002')).endpoint.registered).toBe(true), 3000);
    const gone = Date.now();
    await phone.close({ graceful: false });
    await expectEventually(
      async () => {
        expect((await detail('2002')).endpoint.registered).toBe(false);
        expect(await metrics()).toContain('pbxpulse_endpoint_registered{node="pbx1",endpoint="2002"} 0');
      },
      10_000,
      100,
    );
    console.log(`registration expired and was reported ${Date.now() - gone} ms after the client vanished`);
    expect(changes('2002').at(-1)).toBe(false);
  });

  it('after core restart now, the contacts equal what Asterisk reports: no duplicate, no ghost', async () => {
    const phone = await udp();
    expect((await phone.register({ user: plain.name, password: plain.password })).status).toBe(200);
    const client = await ws();
    expect((await client.register({ user: webrtc.name, password: webrtc.password })).status).toBe(200);
    await expectEventually(async () => {
      const contacts: ContactView[] = (await daemon.get('/api/v1/nodes/pbx1/contacts')).body.contacts;
      expect(contacts.map((c) => c.endpoint)).toEqual(expect.arrayContaining(['1001', '2002']));
    }, 5000);

    const identityBefore = await identity();
    expect(identityBefore.endpoints.map((e) => e.name)).toEqual(['1001', '1002', '2001', '2002']);
    expect(await asteriskIdentity()).toEqual(identityBefore);

    const before = resyncedCount();
    await coreRestartNow();
    await waitFullyBooted(30_000);
    await expectEventually(() => expect(resyncedCount()).toBeGreaterThan(before), 15_000, 100);

    // Asterisk's own answer, read raw over the daemon's AMI connection (not through the store).
    const asterisk = async (): Promise<string[]> => {
      const list = await daemon.app
        .get(AmiService)
        .connection('pbx1')
        .listAction('PJSIPShowRegistrationInboundContactStatuses', {}, { errorMeansEmpty: true });
      return list.items
        .filter((m) => m.fields.Event === 'ContactStatusDetail')
        .map((m) => `${m.fields.AOR} ${m.fields.URI} ${m.fields.Status.toLowerCase()}`)
        .sort();
    };
    await expectEventually(
      async () => {
        const contacts: ContactView[] = (await daemon.get('/api/v1/nodes/pbx1/contacts')).body.contacts;
        const ours = contacts.map((c) => `${c.aor} ${c.uri} ${c.status}`).sort();
        expect(new Set(ours).size).toBe(ours.length);
        expect(ours).toEqual(await asterisk());
      },
      10_000,
      200,
    );
    // Same endpoints and AORs as before the restart, and as Asterisk lists them right now; checked before
    // any reconcile pass could repair what the resync got wrong.
    expect(await identity()).toEqual(identityBefore);
    expect(await asteriskIdentity()).toEqual(identityBefore);
    const up = daemon.events
      .filter((e) => e.type === 'node.connection_changed' && e.link === 'ami' && e.status === 'up')
      .at(-1);
    const resynced = daemon.events.filter((e) => e.type === 'state.resynced' && e.link === 'ami').at(-1);
    console.log(
      `after core restart: AMI up -> state.resynced in ${resynced!.ts - up!.ts} ms; contacts: ${(await asterisk()).join(' | ')}`,
    );
    expect(await reconcile()).toBe(0);
    // The WebSocket contact went with the connection (pruned on boot): the resync said so.
    expect(changes('1001').at(-1)).toBe(false);
    // The UDP phone's registration survived in astdb.
    expect((await detail('2002')).contacts.map((c) => c.uri)).toContain(phone.contactUri(plain.name));
  });

  it('errors: unknown node 404, bad ?registered 400 naming it, unknown endpoint 404', async () => {
    for (const path of ['endpoints', 'endpoints/2002', 'contacts', 'aors']) {
      const res = await daemon.get(`/api/v1/nodes/nope/${path}`);
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ code: 'NODE_NOT_FOUND' });
    }
    const bad = await daemon.get('/api/v1/nodes/pbx1/endpoints?registered=maybe');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'BAD_REQUEST' });
    expect(bad.body.message).toMatch(/'registered' must be 'true' or 'false'/);
    const unknown = await daemon.get('/api/v1/nodes/pbx1/endpoints/9999');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({
      code: 'ENDPOINT_NOT_FOUND',
      message: "unknown endpoint '9999' on node 'pbx1'",
    });
  });
});
