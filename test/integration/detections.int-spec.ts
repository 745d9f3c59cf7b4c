/**
 * Detectors on the real sandbox Asterisk, driven by real SIP over UDP: 401 loops, AOR not found,
 * unknown-account scans and odd usernames, checked through the REST API, /metrics and the bus.
 *
 * The sandbox is shared with other tests: every assertion is about this daemon's own view (fresh
 * counters) and about traffic this file sends; nothing here restarts Asterisk.
 */
import { randomBytes } from 'node:crypto';
import { EventBus } from '../../src/events/event-bus';
import type { Alert, AlertCleared } from '../../src/events/pbx-events';
import { startDaemon, sandboxNodeYaml, type TestDaemon } from '../support/daemon';
import { expectEventually } from '../support/expect-eventually';
import { SANDBOX } from '../support/sandbox';
import { SipUdpClient } from '../support/sip/sip-udp-client';

jest.setTimeout(60_000);

const DESK = SANDBOX.endpoints.deskPhone; // 2001
const AOR_MISMATCH = SANDBOX.endpoints.aorMismatch; // 1002

interface SecurityEventJson {
  time: string;
  type: string;
  account: string;
  remote: { transport: string; address: string; port: number | null } | null;
  sessionId: string | null;
  reason?: string;
}

/** Value of one exact series in Prometheus text, undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/**
 * Lines of /metrics that a label leak would grow. The default Node.js process metrics are left out:
 * their series come and go with the process itself (`nodejs_active_resources{type=…}` follows open
 * sockets and timers, GC kinds appear after the first major GC), independently of any label value.
 */
function seriesLines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '' && !/^(# (HELP|TYPE) )?(process_|nodejs_)/.test(l));
}

describe('detections on the sandbox Asterisk', () => {
  let daemon: TestDaemon;

  const metrics = async (): Promise<string> => (await daemon.get('/metrics')).text;
  const alerts = async (query = ''): Promise<Alert[]> =>
    ((await daemon.get(`/api/v1/alerts${query}`)).body as { alerts: Alert[] }).alerts;

  beforeAll(async () => {
    daemon = await startDaemon(sandboxNodeYaml('pbx1'));
    // Endpoints are known once the first AMI resync is done (pbxpulse_endpoint_registered lists them all).
    await expectEventually(async () => {
      const text = await metrics();
      expect(sample(text, `pbxpulse_endpoint_registered{node="pbx1",endpoint="${DESK.name}"}`)).toBe(0);
      expect(
        sample(
          text,
          'pbxpulse_registration_failures_total{node="pbx1",endpoint="<unknown>",reason="unknown_account"}',
        ),
      ).toBe(0);
    }, 20_000);
  });

  afterAll(async () => {
    await daemon?.close();
  });

  it('a wrong password retried 5 times is one 401 loop; a correct REGISTER clears it', async () => {
    const phone = await SipUdpClient.open();
    try {
      for (let i = 0; i < 5; i++) {
        const res = await phone.register({ user: DESK.name, password: 'not-the-password' });
        // Each register() answers one challenge: 401, then a final 401 for the wrong digest.
        expect(res).toMatchObject({ status: 401, attempts: 2 });
      }

      const loop = await expectEventually(async () => {
        const loops = (await alerts('?type=auth_loop')).filter((a) => a.endpoint === DESK.name);
        expect(loops).toHaveLength(1);
        expect(loops[0].count).toBeGreaterThanOrEqual(5);
        return loops[0];
      });
      expect(loop).toMatchObject({
        id: `auth_loop:pbx1:${DESK.name}:127.0.0.1`,
        node: 'pbx1',
        details: {
          transport: 'udp',
          remote: { transport: 'udp', address: '127.0.0.1', port: phone.localPort },
        },
      });
      expect(loop.message).toMatch(
        new RegExp(
          `^${DESK.name} from 127\\.0\\.0\\.1 \\(udp\\) failed digest authentication \\d+ times in `,
        ),
      );
      expect(loop.remedy).toContain(`${DESK.name}-auth`);
      await metrics(); // the scrape that creates an endpoint's failure series writes it at 0 (README, Metrics)
      let text = await metrics();
      expect(
        sample(
          text,
          `pbxpulse_registration_failures_total{node="pbx1",endpoint="${DESK.name}",reason="auth_failed"}`,
        ),
      ).toBeGreaterThanOrEqual(5);
      expect(sample(text, `pbxpulse_auth_loop_active{node="pbx1",endpoint="${DESK.name}"}`)).toBe(1);
      expect(
        sample(text, `pbxpulse_auth_loops_total{node="pbx1",endpoint="${DESK.name}"}`),
      ).toBeGreaterThanOrEqual(1);
      // The endpoint detail route (registration module) carries the detectors' contribution.
      const detail = await daemon.get(`/api/v1/nodes/pbx1/endpoints/${DESK.name}`);
      expect(detail.status).toBe(200);
      expect(detail.body).toMatchObject({ authLoop: { id: loop.id }, aorNotFound: null });
      expect((detail.body as { recentAuthEvents: SecurityEventJson[] }).recentAuthEvents[0]).toMatchObject({
        type: 'auth.challenge_failed',
        account: DESK.name,
      });

      const ok = await phone.register({ user: DESK.name, password: DESK.password });
      expect(ok.status).toBe(200);
      await expectEventually(async () => {
        expect((await alerts('?type=auth_loop')).filter((a) => a.endpoint === DESK.name)).toEqual([]);
      });
      text = await metrics();
      expect(sample(text, `pbxpulse_auth_loop_active{node="pbx1",endpoint="${DESK.name}"}`)).toBe(0);
      const cleared = daemon.events.filter(
        (e): e is AlertCleared => e.type === 'alert.cleared' && e.alert.id === loop.id,
      );
      expect(cleared.map((e) => e.reason)).toEqual(['success']);
    } finally {
      await phone.close(); // unregisters 2001
    }
  });

  it('REGISTER 1002 with the right password: 404, counted, explained from aors=1002-aor', async () => {
    const phone = await SipUdpClient.open();
    try {
      const res = await phone.register({ user: AOR_MISMATCH.name, password: AOR_MISMATCH.password });
      expect(res.status).toBe(404);
      await expectEventually(async () => {
        expect(
          sample(
            await metrics(),
            `pbxpulse_aor_not_found_total{node="pbx1",endpoint="${AOR_MISMATCH.name}"}`,
          ),
        ).toBe(1);
      });
      const [alert] = await alerts(`?type=aor_not_found`);
      expect(alert).toMatchObject({
        id: `aor_not_found:pbx1:${AOR_MISMATCH.name}`,
        endpoint: AOR_MISMATCH.name,
        count: 1,
        details: {
          configuredAors: [AOR_MISMATCH.aor],
          existingAors: [AOR_MISMATCH.aor],
          authUsernames: [AOR_MISMATCH.name],
          remote: { transport: 'udp', address: '127.0.0.1', port: phone.localPort },
        },
      });
      expect(alert.message).toContain('aors=1002-aor');
      expect(alert.message).toContain('no AOR named 1002');
      expect(alert.remedy).toContain('[1002]\ntype=aor');
      expect(
        sample(
          await metrics(),
          `pbxpulse_registration_failures_total{node="pbx1",endpoint="${AOR_MISMATCH.name}",reason="aor_not_found"}`,
        ),
      ).toBeGreaterThanOrEqual(1);
    } finally {
      await phone.close();
    }
  });

  it('200 REGISTERs with random unknown usernames: counted under <unknown>, no new series', async () => {
    const before = seriesLines(await metrics());
    const clients = await Promise.all(Array.from({ length: 20 }, () => SipUdpClient.open()));
    const usernames: string[] = [];
    try {
      await Promise.all(
        clients.map(async (client) => {
          for (let i = 0; i < 10; i++) {
            const user = `scan-${randomBytes(6).toString('hex')}`;
            usernames.push(user);
            const res = await client.register({ user, password: 'guess' });
            expect(res.status).toBe(401);
          }
        }),
      );
    } finally {
      await Promise.all(clients.map((c) => c.close({ graceful: false })));
    }
    expect(usernames).toHaveLength(200);

    const series =
      'pbxpulse_registration_failures_total{node="pbx1",endpoint="<unknown>",reason="unknown_account"}';
    const text = await expectEventually(async () => {
      const t = await metrics();
      expect(sample(t, series)).toBeGreaterThanOrEqual(200);
      return t;
    }, 10_000);
    expect(seriesLines(text)).toHaveLength(before.length);
    expect(text.includes('scan-')).toBe(false);

    const { status, body } = await daemon.get('/api/v1/nodes/pbx1/unknown-accounts');
    expect(status).toBe(200);
    const [top] = (
      body as { offenders: Array<{ address: string; attempts: number; distinctUsernames: number }> }
    ).offenders;
    expect(top.address).toBe('127.0.0.1');
    expect(top.attempts).toBeGreaterThanOrEqual(200);
    expect(top.distinctUsernames).toBe(100); // counting stops at 100
  });

  it('odd usernames over real SIP are listed as sent and break nothing', async () => {
    // A raw quote or non-ASCII character in a SIP URI is a parse error: PJSIP drops the request
    // without a response or an event. Percent-encoded, PJSIP unescapes them and Asterisk reports the
    // decoded username in InvalidAccountID.
    const odd = ['"a\\"b"', 'zoë電話', `long-${'x'.repeat(300)}`];
    const phone = await SipUdpClient.open();
    try {
      for (const user of odd) {
        const res = await phone.register({ user: encodeURIComponent(user), password: 'x' });
        expect(res.status).toBe(401);
      }
    } finally {
      await phone.close({ graceful: false });
    }
    const events = await expectEventually(async () => {
      const res = await daemon.get('/api/v1/nodes/pbx1/security-events?type=account_unknown&limit=1000');
      expect(res.status).toBe(200);
      const list = (res.body as { events: SecurityEventJson[] }).events;
      const accounts = new Set(list.map((e) => e.account));
      expect(accounts.has('"a\\"b"')).toBe(true);
      expect(accounts.has('zoë電話')).toBe(true);
      // Asterisk itself cuts the username it reports (to 36 characters in 22: a UUID-sized buffer).
      const long = list.find((e) => e.account.startsWith('long-xxx'))?.account ?? '';
      expect(odd[2].startsWith(long) && long.length > 8 && long.length <= 256).toBe(true);
      return list;
    });
    expect(events.find((e) => e.account === 'zoë電話')).toMatchObject({
      type: 'auth.account_unknown',
      remote: { transport: 'udp', address: '127.0.0.1' },
      sessionId: expect.any(String),
    });
    const since = new Date(Date.now() - 60_000).toISOString();
    expect(
      (await daemon.get(`/api/v1/nodes/pbx1/security-events?since=${since}&type=auth.challenge_failed`))
        .status,
    ).toBe(200);
    const text = await metrics();
    expect(text.includes('zoë')).toBe(false);
    expect(text.includes('a\\"b')).toBe(false);
    expect(daemon.app.get(EventBus).consumerFailures).toBe(0);
    expect((await daemon.get('/health/live')).status).toBe(200);
  });
});
