/**
 * JsSIP (the SIP stack of browser softphones), run in Node over the sandbox's WebSocket SIP, against a
 * pbxpulse daemon: registration state with transport `ws`, a 401 loop over WebSocket and its clearing,
 * and AOR-not-found over WebSocket.
 *
 * The sandbox is shared with other test files: every client is stopped with an un-REGISTER, and the
 * assertions are about this file's own contacts and this daemon's fresh detectors.
 */
import type { Alert, AlertCleared } from '../../src/events/pbx-events';
import type { ContactView } from '../../src/state/registrations/registration.views';
import { sandboxNodeYaml, startDaemon, type TestDaemon } from '../support/daemon';
import { expectEventually } from '../support/expect-eventually';
import { SANDBOX } from '../support/sandbox';
import { JsSipNode, JsSipRegistrationError } from '../support/sip/jssip-node';

// The integration project's testTimeout does not apply under --selectProjects; each test here is bounded.
jest.setTimeout(20_000);

const WEBRTC = SANDBOX.endpoints.webrtc; // 1001, transport-ws
const AOR_MISMATCH = SANDBOX.endpoints.aorMismatch; // 1002, any transport, aors=1002-aor

/** Value of one exact series in Prometheus text, undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** The SIP status a JsSipNode REGISTER ended with: 2xx on success, the failure's status otherwise. */
async function registerStatus(phone: JsSipNode): Promise<number | null> {
  try {
    return (await phone.register()).status;
  } catch (err) {
    if (err instanceof JsSipRegistrationError) return err.status;
    throw err;
  }
}

describe('JsSIP over WebSocket against the sandbox Asterisk', () => {
  let daemon: TestDaemon;
  const phones: JsSipNode[] = [];

  const jssip = async (user: string, password: string): Promise<JsSipNode> => {
    const phone = await JsSipNode.start({ user, password });
    phones.push(phone);
    return phone;
  };
  const detail = async (
    name: string,
  ): Promise<{ endpoint: { registered: boolean; contacts: number }; contacts: ContactView[] }> => {
    const res = await daemon.get(`/api/v1/nodes/pbx1/endpoints/${name}`);
    expect(res.status).toBe(200);
    return res.body;
  };
  const metrics = async (): Promise<string> => (await daemon.get('/metrics')).text;
  const alerts = async (query = ''): Promise<Alert[]> =>
    ((await daemon.get(`/api/v1/alerts${query}`)).body as { alerts: Alert[] }).alerts;

  beforeAll(async () => {
    daemon = await startDaemon(sandboxNodeYaml('pbx1'));
    await expectEventually(async () => expect((await daemon.get('/health/ready')).status).toBe(200), 10_000);
    // Endpoints are known once the first AMI resync is done (pbxpulse_endpoint_registered lists them all).
    await expectEventually(async () => {
      expect(
        sample(await metrics(), `pbxpulse_endpoint_registered{node="pbx1",endpoint="${WEBRTC.name}"}`),
      ).toBeDefined();
    }, 10_000);
  });

  afterEach(async () => {
    await Promise.all(phones.splice(0).map((p) => p.stop()));
  });

  afterAll(async () => {
    await daemon?.close();
  });

  it('REGISTER 1001 over WS: registered with a ws contact; un-REGISTER removes it', async () => {
    const phone = await jssip(WEBRTC.name, WEBRTC.password);
    expect(await phone.register()).toEqual({ status: 200 });
    expect(phone.registered).toBe(true);

    const mine = await expectEventually(async () => {
      const d = await detail(WEBRTC.name);
      expect(d.endpoint.registered).toBe(true);
      const contact = d.contacts.find((c) => c.uri.startsWith(`sip:${phone.contactUser}@`));
      expect(contact).toMatchObject({
        endpoint: WEBRTC.name,
        aor: WEBRTC.aor,
        transport: 'ws',
        viaAddress: phone.viaHost,
        userAgent: 'pbxpulse-test JsSIP',
      });
      return contact!;
    });
    // Asterisk rewrites a WebSocket contact to the connection it came over.
    expect(mine.uri.startsWith(`sip:${phone.contactUser}@127.0.0.1:${phone.socket.localPort};`)).toBe(true);
    expect(mine.uri).toContain(';transport=ws');
    expect(mine.uri).toContain(`;x-ast-orig-host=${phone.viaHost}`);
    expect(await metrics()).toContain(
      `pbxpulse_endpoint_registered{node="pbx1",endpoint="${WEBRTC.name}"} 1`,
    );

    expect((await phone.unregister()).status).toBe(200);
    expect(phone.registered).toBe(false);
    await expectEventually(async () => {
      const d = await detail(WEBRTC.name);
      expect(d.contacts.filter((c) => c.uri.startsWith(`sip:${phone.contactUser}@`))).toEqual([]);
      // Another test file's leftover contact would keep 1001 registered; ours alone must not.
      expect(d.endpoint.registered).toBe(d.contacts.length > 0);
    });
  });

  it('a wrong password over WS, 5 times, is one 401 loop; a correct REGISTER clears it', async () => {
    const bad = await jssip(WEBRTC.name, 'not-the-password');
    for (let i = 0; i < 5; i++) {
      // JsSIP answers the first 401 with a digest; the wrong digest gets the final 401.
      expect(await registerStatus(bad)).toBe(401);
    }

    const loop = await expectEventually(async () => {
      const loops = (await alerts('?type=auth_loop')).filter((a) => a.endpoint === WEBRTC.name);
      expect(loops).toHaveLength(1);
      expect(loops[0].count).toBeGreaterThanOrEqual(5);
      return loops[0];
    });
    expect(loop).toMatchObject({
      id: `auth_loop:pbx1:${WEBRTC.name}:127.0.0.1`,
      node: 'pbx1',
      details: {
        transport: 'ws',
        remote: { transport: 'ws', address: '127.0.0.1', port: bad.socket.localPort },
      },
    });
    expect(loop.message).toMatch(new RegExp(`^${WEBRTC.name} from 127\\.0\\.0\\.1 \\(ws\\) failed digest`));
    await metrics(); // the scrape that creates an endpoint's failure series writes it at 0 (README, Metrics)
    let text = await metrics();
    expect(sample(text, `pbxpulse_auth_loop_active{node="pbx1",endpoint="${WEBRTC.name}"}`)).toBe(1);
    expect(
      sample(
        text,
        `pbxpulse_registration_failures_total{node="pbx1",endpoint="${WEBRTC.name}",reason="auth_failed"}`,
      ),
    ).toBeGreaterThanOrEqual(5);
    expect((await detail(WEBRTC.name)) as unknown).toMatchObject({ authLoop: { id: loop.id } });

    // A fixed device: a new connection (new source port, same IP) with the right password.
    const good = await jssip(WEBRTC.name, WEBRTC.password);
    expect(await good.register()).toEqual({ status: 200 });
    await expectEventually(async () => {
      expect((await alerts('?type=auth_loop')).filter((a) => a.endpoint === WEBRTC.name)).toEqual([]);
    });
    text = await metrics();
    expect(sample(text, `pbxpulse_auth_loop_active{node="pbx1",endpoint="${WEBRTC.name}"}`)).toBe(0);
    const cleared = daemon.events.filter(
      (e): e is AlertCleared => e.type === 'alert.cleared' && e.alert.id === loop.id,
    );
    expect(cleared.map((e) => e.reason)).toEqual(['success']);
  });

  it('REGISTER 1002 over WS with the right password: 404, aor_not_found from a ws source', async () => {
    const phone = await jssip(AOR_MISMATCH.name, AOR_MISMATCH.password);
    expect(await registerStatus(phone)).toBe(404);
    expect(phone.registered).toBe(false);

    const alert = await expectEventually(async () => {
      const found = (await alerts('?type=aor_not_found')).find((a) => a.endpoint === AOR_MISMATCH.name);
      expect(found).toBeDefined();
      return found!;
    });
    expect(alert).toMatchObject({
      id: `aor_not_found:pbx1:${AOR_MISMATCH.name}`,
      details: {
        configuredAors: [AOR_MISMATCH.aor],
        remote: { transport: 'ws', address: '127.0.0.1', port: phone.socket.localPort },
      },
    });
    expect(alert.message).toContain(`no AOR named ${AOR_MISMATCH.name}`);
    await metrics(); // the scrape that creates an endpoint's failure series writes it at 0 (README, Metrics)
    expect(
      sample(await metrics(), `pbxpulse_aor_not_found_total{node="pbx1",endpoint="${AOR_MISMATCH.name}"}`),
    ).toBeGreaterThanOrEqual(1);
  });
});
