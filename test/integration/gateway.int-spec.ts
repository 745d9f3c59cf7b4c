import { WebSocket } from 'ws';
import { expectEventually } from '../support/expect-eventually';
import { sandboxNodeYaml, startDaemon, type TestDaemon } from '../support/daemon';
import { SANDBOX, coreRestartNow, sandboxUp, waitFullyBooted } from '../support/sandbox';
import { SipUdpClient } from '../support/sip/sip-udp-client';

/** What a /ws viewer sees of real calls on the sandbox Asterisk. */
class Viewer {
  readonly messages: any[] = [];
  readonly ws: WebSocket;
  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.on('message', (raw: Buffer) => this.messages.push(JSON.parse(raw.toString())));
    this.ws.on('error', () => undefined);
  }
  /** endpoint.updated deltas of `endpoint`, from `from` on. */
  endpointDeltas(endpoint: string, from = 0): any[] {
    return this.messages
      .slice(from)
      .filter((m) => m.type === 'endpoint.updated' && m.data.endpoint === endpoint);
  }
  /** call.updated / call.ended deltas whose call has a channel of `endpoint`. */
  callDeltas(endpoint: string): any[] {
    return this.messages.filter(
      (m) =>
        (m.type === 'call.updated' || m.type === 'call.ended') &&
        m.data.channels.some((c: { endpoint: string | null }) => c.endpoint === endpoint),
    );
  }
}

describe('the /ws stream of real calls', () => {
  let daemon: TestDaemon;
  let viewer: Viewer;
  const phones: SipUdpClient[] = [];

  beforeAll(async () => {
    await sandboxUp();
  });

  beforeEach(async () => {
    daemon = await startDaemon(sandboxNodeYaml('pbx1'));
    await expectEventually(async () => expect((await daemon.get('/health/ready')).status).toBe(200), 10_000);
    viewer = new Viewer(daemon.url.replace('http:', 'ws:') + '/ws');
    // Deltas may follow at once (a diagnosis of the sandbox raises an alert), so only the opening is fixed.
    await expectEventually(() =>
      expect(viewer.messages.slice(0, 2).map((m) => m.type)).toEqual(['hello', 'snapshot']),
    );
  });

  afterEach(async () => {
    viewer.ws.terminate();
    for (const p of phones.splice(0)) await p.close({ graceful: false });
    await daemon.close();
  });

  async function call(user: string, sendRtp: boolean) {
    const phone = await SipUdpClient.open();
    phones.push(phone);
    const c = await phone.call('600', { sendRtp, user, password: `pw${user}-sandbox` });
    expect(c.state).toBe('answered');
    return c;
  }

  it('an Echo call with RTP: created, up, then ended normal after the BYE; seq strictly increasing', async () => {
    const c = await call('2002', true);
    await expectEventually(() =>
      expect(viewer.callDeltas('2002').some((d) => d.type === 'call.updated' && d.data.state === 'up')).toBe(
        true,
      ),
    );
    await c.hangup();
    await expectEventually(() =>
      expect(viewer.callDeltas('2002').some((d) => d.type === 'call.ended')).toBe(true),
    );
    const ended = viewer.callDeltas('2002').find((d) => d.type === 'call.ended');
    expect(ended.data.classification).toBe('normal');
    // created → up → ended: the inbound channel is announced ringing (Asterisk's `Ring`) before it is answered.
    const deltas = viewer.callDeltas('2002');
    const created = deltas.find((d) => d.type === 'call.updated');
    const up = deltas.find((d) => d.type === 'call.updated' && d.data.state === 'up');
    expect(created.data.state).toBe('ring');
    expect(created.seq).toBeLessThan(up.seq);
    expect(up.seq).toBeLessThan(ended.seq);
    expect(ended.node).toBe('pbx1');
    const seqs = viewer.messages
      .filter((m) => m.type !== 'snapshot' && typeof m.seq === 'number')
      .map((m) => m.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    // The same call is never announced twice for one change although AMI and ARI both report it.
    const updates = viewer.callDeltas('2002').filter((d) => d.type === 'call.updated');
    const states = updates.map((d) => JSON.stringify(d.data));
    expect(new Set(states).size).toBe(states.length);
  });

  it('an answered call without RTP on 2001 (rtp_timeout=5): call.ended with rtp_timeout', async () => {
    const c = await call('2001', false);
    const ended = await c.ended;
    expect(ended.by).toBe('remote');
    await expectEventually(() =>
      expect(viewer.callDeltas('2001').some((d) => d.type === 'call.ended')).toBe(true),
    );
    const delta = viewer.callDeltas('2001').find((d) => d.type === 'call.ended');
    expect(delta.data).toMatchObject({
      classification: 'rtp_timeout',
      cause: 44,
      rtpTimeoutEndpoint: '2001',
    });
  });

  it('a REGISTER reaches viewers as endpoint.updated (contacts), then the qualify as rtt/reachability', async () => {
    const desk = SANDBOX.endpoints.deskPhone; // qualify_frequency=30: Asterisk qualifies the new contact
    const from = viewer.messages.length;
    const phone = await SipUdpClient.open();
    phones.push(phone);
    expect((await phone.register({ user: desk.name, password: desk.password })).status).toBe(200);
    const ours = (d: any) =>
      d.data.contactList.find((c: { callId: string | null; uri: string }) =>
        c.uri.includes(`:${phone.localPort}`),
      );
    const added = await expectEventually(() => {
      const d = viewer
        .endpointDeltas(desk.name, from)
        .find((m) => m.data.changed.includes('contacts') && ours(m));
      expect(d).toBeDefined();
      return d;
    }, 10_000);
    expect(added.node).toBe('pbx1');
    expect(added.data.view).toMatchObject({ name: desk.name, registered: true });
    expect(added.data.view.node).toBeUndefined();
    // The client answers Asterisk's OPTIONS: the contact turns reachable with a round trip.
    const qualified = await expectEventually(() => {
      const d = viewer
        .endpointDeltas(desk.name, from)
        .find((m) => m.data.changed.includes('rtt') && ours(m)?.status === 'reachable');
      expect(d).toBeDefined();
      return d;
    }, 15_000);
    expect(qualified.data.changed).toEqual(expect.arrayContaining(['rtt', 'reachability']));
    expect(ours(qualified).rttUsec).toBeGreaterThan(0);
    // Coalesced: never two endpoint.updated deltas of one endpoint within one flush interval.
    const times = viewer.endpointDeltas(desk.name, from).map((m) => Date.parse(m.ts));
    for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1]).toBeGreaterThanOrEqual(200);

    const before = viewer.messages.length;
    expect((await phone.unregister()).status).toBe(200);
    await expectEventually(() =>
      expect(
        viewer.endpointDeltas(desk.name, before).some((m) => m.data.changed.includes('contacts') && !ours(m)),
      ).toBe(true),
    );
  });

  it('a call makes its endpoint in use: endpoint.updated with device_state', async () => {
    const from = viewer.messages.length;
    const c = await call('2002', true);
    const inUse = await expectEventually(() => {
      const d = viewer
        .endpointDeltas('2002', from)
        .find((m) => m.data.changed.includes('device_state') && m.data.view?.deviceState === 'INUSE');
      expect(d).toBeDefined();
      return d;
    }, 10_000);
    expect(inUse).toMatchObject({ node: 'pbx1', data: { endpoint: '2002', view: { name: '2002' } } });
    const after = viewer.messages.length;
    await c.hangup();
    // Back to what it was: UNAVAILABLE for an unregistered 2002, NOT_INUSE for a registered one.
    await expectEventually(() =>
      expect(
        viewer
          .endpointDeltas('2002', after)
          .some((m) => m.data.changed.includes('device_state') && m.data.view?.deviceState !== 'INUSE'),
      ).toBe(true),
    );
  });

  it('Asterisk restart mid-call: the call ends, then state.resynced and a consistent snapshot', async () => {
    await call('2002', true);
    await expectEventually(() =>
      expect(viewer.callDeltas('2002').some((d) => d.type === 'call.updated' && d.data.state === 'up')).toBe(
        true,
      ),
    );
    const before = viewer.messages.length;
    await coreRestartNow();
    await waitFullyBooted(60_000);
    await expectEventually(() => {
      const after = viewer.messages.slice(before);
      const resynced = after.findIndex((m) => m.type === 'state.resynced' && m.data.link === 'ami');
      expect(resynced).toBeGreaterThanOrEqual(0);
      expect(after[resynced + 1]?.type).toBe('snapshot');
    }, 15_000);
    const after = viewer.messages.slice(before);
    expect(
      after.some((m) => m.type === 'call.ended' && m.data.channels.some((c: any) => c.endpoint === '2002')),
    ).toBe(true);
    const snapshots = after.filter((m) => m.type === 'snapshot');
    const last = snapshots[snapshots.length - 1];
    expect(
      last.calls.filter((c: any) => c.channels.some((ch: any) => ch.endpoint === '2002' && !ch.endedAt)),
    ).toEqual([]);
    expect(last.nodes[0]).toMatchObject({ name: 'pbx1' });
  });
});
