import { WebSocket } from 'ws';
import { startDaemon, type TestDaemon } from '../support/daemon';
import { expectEventually } from '../support/expect-eventually';
import { LAB, labBaseConfig, labNodeYaml, labStart, labStop } from '../support/lab-asterisk';
import { UdpRelay } from '../support/udp-relay';

/**
 * A trunk that does not register: the lab's endpoint "prov" has an AOR with a permanent `contact=` on a
 * UDP relay that stands for the provider (it forwards the OPTIONS to the lab's own SIP port, which
 * answers them) and `qualify_frequency=1`. Closing the relay is the provider going away. The shared
 * sandbox is never touched.
 */

const base = labBaseConfig();
const UNREACHABLE_MS = 3000;
/** Short: the registration store reconciles several times while the trunk flips (the ghost check). */
const RECONCILE_MS = 2000;

function pjsip(relayPort: number): string {
  return [
    base['pjsip.conf'],
    // Short SIP timers: an unanswered OPTIONS times out after timer_b (3.2 s) instead of 32 s.
    '[system]',
    'type = system',
    'timer_t1 = 100',
    'timer_b = 3200',
    '',
    '[prov]',
    'type = endpoint',
    'transport = transport-udp',
    'context = internal',
    'disallow = all',
    'allow = ulaw',
    'aors = prov',
    '',
    '[prov]',
    'type = aor',
    `contact = sip:prov@127.0.0.1:${relayPort}`,
    'qualify_frequency = 1',
    'qualify_timeout = 1.0',
    '',
  ].join('\n');
}

describe('trunk reachability on the real lab Asterisk (permanent contact, qualify_frequency)', () => {
  let relay: UdpRelay;
  let relayPort: number;
  let daemon: TestDaemon;
  let ws: WebSocket;
  const messages: any[] = [];

  const trunk = async (): Promise<any> => {
    const { status, body } = await daemon.get('/api/v1/nodes/lab/trunks');
    expect(status).toBe(200);
    return body.trunks.find((t: any) => t.endpoint === 'prov');
  };
  const alerts = async (): Promise<any[]> =>
    (await daemon.get('/api/v1/alerts?type=trunk_unreachable')).body.alerts;
  const metrics = async (): Promise<string> => (await daemon.get('/metrics')).text;
  const wsAlerts = (type: string): any[] =>
    messages.filter((m) => m.type === type && m.data.type === 'trunk_unreachable');
  const noGhosts = async (): Promise<void> => {
    // No reconciliation repaired the trunk's contact (the counter is not asserted: the lab is shared, and
    // other registrations on it may be repaired meanwhile).
    const uri = `sip:prov@127.0.0.1:${relayPort}`;
    const repairs = daemon.events.filter((e) => e.type === 'state.repaired' && e.subject.includes(uri));
    expect(repairs).toEqual([]);
    // The permanent contact is no registration.
    const { body } = await daemon.get('/api/v1/nodes/lab/contacts');
    expect(JSON.stringify(body)).not.toContain(`127.0.0.1:${relayPort}`);
  };

  beforeAll(async () => {
    relay = new UdpRelay({
      host: LAB.host,
      get port() {
        return LAB.sipPort;
      },
    });
    relayPort = await relay.start();
    await labStart({ 'pjsip.conf': pjsip(relayPort) });
    daemon = await startDaemon(
      labNodeYaml('lab'),
      `detection: { trunkUnreachableMs: ${UNREACHABLE_MS} }\nstate: { reconcileIntervalMs: ${RECONCILE_MS} }`,
    );
    ws = new WebSocket(daemon.url.replace('http:', 'ws:') + '/ws');
    ws.on('message', (raw: Buffer) => messages.push(JSON.parse(raw.toString())));
    ws.on('error', () => undefined);
  }, 60_000);

  afterAll(async () => {
    ws?.terminate();
    await daemon?.close();
    await relay?.stop();
    await labStop();
  });

  it('shows the trunk reachable with its contact and a round trip, as gauge 1, no alert', async () => {
    const t = await expectEventually(async () => {
      const v = await trunk();
      expect(v).toMatchObject({ reachability: 'reachable' });
      expect(v.rttMs).toEqual(expect.any(Number));
      return v;
    }, 20_000);
    expect(t).toMatchObject({
      endpoint: 'prov',
      qualifyFrequency: 1,
      contacts: [{ aor: 'prov', uri: `sip:prov@127.0.0.1:${relayPort}`, status: 'reachable' }],
    });
    expect(t.rttMs).toBeGreaterThan(0);
    expect(t.rttMs).toBeLessThan(1000);
    expect(Number.isNaN(Date.parse(t.since))).toBe(false);
    const text = await metrics();
    expect(text).toContain('pbxpulse_trunk_reachable{node="lab",endpoint="prov"} 1');
    expect(text).toMatch(/pbxpulse_trunk_rtt_seconds\{node="lab",endpoint="prov"\} 0\.\d+/);
    // The URI is operator configuration: in the API, never a metric label.
    expect(text).not.toContain(String(relayPort));
    expect(await alerts()).toEqual([]);
    // Reconciliations have run meanwhile: the permanent contact was not taken for a ghost.
    await new Promise((r) => setTimeout(r, RECONCILE_MS + 500));
    await noGhosts();
  });

  it('provider gone: unreachable, then an alert after the threshold on the API and /ws; back: cleared', async () => {
    await relay.stop();
    const down = await expectEventually(async () => {
      const v = await trunk();
      expect(v).toMatchObject({ reachability: 'unreachable', rttMs: null });
      return v;
    }, 15_000);
    expect(down.contacts[0].status).toBe('unreachable');
    expect(await metrics()).toContain('pbxpulse_trunk_reachable{node="lab",endpoint="prov"} 0');
    const [alert] = await expectEventually(async () => {
      const list = await alerts();
      expect(list).toHaveLength(1);
      return list;
    }, 15_000);
    expect(alert).toMatchObject({
      id: 'trunk_unreachable:lab:prov',
      type: 'trunk_unreachable',
      node: 'lab',
      endpoint: 'prov',
      details: { contacts: [{ aor: 'prov', uri: `sip:prov@127.0.0.1:${relayPort}`, status: 'unreachable' }] },
    });
    expect(Date.parse(alert.lastSeen) - Date.parse(alert.since)).toBeGreaterThanOrEqual(UNREACHABLE_MS);
    expect(alert.message).toContain('prov');
    expect(alert.remedy).toContain('contact=');
    await expectEventually(() => expect(wsAlerts('alert.raised').map((m) => m.data.id)).toContain(alert.id));
    await noGhosts();

    await relay.start(relayPort);
    await expectEventually(
      async () => expect(await trunk()).toMatchObject({ reachability: 'reachable' }),
      15_000,
    );
    await expectEventually(async () => expect(await alerts()).toEqual([]));
    await expectEventually(() => expect(wsAlerts('alert.cleared').map((m) => m.data.id)).toContain(alert.id));
    await noGhosts();
  });

  it('after a restart of Asterisk the resync shows the trunk again and keeps it out of the registrations', async () => {
    await labStart({ 'pjsip.conf': pjsip(relayPort) });
    await expectEventually(async () => {
      const v = await trunk();
      expect(v).toMatchObject({
        reachability: 'reachable',
        contacts: [{ aor: 'prov', uri: `sip:prov@127.0.0.1:${relayPort}`, status: 'reachable' }],
      });
      expect(v.rttMs).toEqual(expect.any(Number));
    }, 30_000);
    await new Promise((r) => setTimeout(r, RECONCILE_MS + 500));
    await noGhosts();
    expect(await alerts()).toEqual([]);
  });
});
