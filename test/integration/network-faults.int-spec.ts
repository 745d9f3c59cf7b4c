import { AmiConnectionClosedError } from '../../src/ami/ami.errors';
import { AmiService } from '../../src/ami/ami.service';
import { AriRequestTimeoutError } from '../../src/ari/ari.errors';
import { AriService } from '../../src/ari/ari.service';
import type { LinkKind, PbxEvent } from '../../src/events/pbx-events';
import { sandboxNodeYaml, startDaemon, type TestDaemon } from '../support/daemon';
import { expectEventually } from '../support/expect-eventually';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy';
import { SANDBOX } from '../support/sandbox';

/** The liveness budget of this daemon (`connections.keepaliveIntervalMs`). */
const KEEPALIVE_MS = 1500;
const CONNECT_TIMEOUT_MS = 2000;
const ACTION_TIMEOUT_MS = 3000;
/** Timer and event-loop slack on a loaded 2-core machine. */
const SLACK_MS = 600;
const NODE = 'pbx1';

/**
 * Network faults between the daemon and the real sandbox Asterisk, through a TCP proxy in this process
 * (one for AMI, one for the HTTP server that carries ARI): each is noticed within its budget, the link
 * goes down, reconnects and resyncs, and nothing the daemon asked for waits past its timeout.
 */
describe('network faults between pbxpulse and Asterisk', () => {
  let ami: FaultProxy;
  let ari: FaultProxy;
  let daemon: TestDaemon;

  beforeEach(async () => {
    ami = await startFaultProxy({ host: SANDBOX.amiHost, port: SANDBOX.amiPort });
    ari = await startFaultProxy({ host: SANDBOX.host, port: SANDBOX.httpPort });
    daemon = await startDaemon(
      sandboxNodeYaml(NODE, { amiPort: ami.port, ariUrl: `http://127.0.0.1:${ari.port}` }),
      `connections: { keepaliveIntervalMs: ${KEEPALIVE_MS}, connectTimeoutMs: ${CONNECT_TIMEOUT_MS}, actionTimeoutMs: ${ACTION_TIMEOUT_MS}, reconnectInitialDelayMs: 100, reconnectMaxDelayMs: 500 }`,
    );
    await expectEventually(async () => expect((await daemon.get('/health/ready')).status).toBe(200), 10_000);
    await expectEventually(() => expect(resyncs(0)).toEqual(new Set(['ami', 'ari'])), 10_000);
  });

  afterEach(async () => {
    await daemon.close();
    await ami.close();
    await ari.close();
  });

  /** Time of the first `link` status change to `status` at or after `since`. */
  const transition = (link: LinkKind, status: 'up' | 'down', since: number) =>
    expectEventually(
      () => {
        const e = daemon.events.find(
          (ev): ev is Extract<PbxEvent, { type: 'node.connection_changed' }> =>
            ev.type === 'node.connection_changed' &&
            ev.link === link &&
            ev.status === status &&
            ev.ts >= since,
        );
        if (!e) throw new Error(`no ${link} ${status} since ${since}`);
        return e;
      },
      KEEPALIVE_MS + CONNECT_TIMEOUT_MS * 3,
      20,
    );
  const resyncs = (since: number): Set<string> =>
    new Set(
      daemon.events
        .filter((e) => e.type === 'state.resynced' && e.ts >= since)
        .map((e) => (e as { link: string }).link),
    );
  /** The links that were cut are back and resynced, and the node is ready. */
  const recovered = async (since: number, links: LinkKind[] = ['ami', 'ari']): Promise<void> => {
    await expectEventually(() => expect(resyncs(since)).toEqual(new Set(links)), 10_000);
    await expectEventually(async () => expect((await daemon.get('/health/ready')).status).toBe(200), 5000);
  };
  const amiConn = () => daemon.app.get(AmiService).connection(NODE);
  const ariConn = () => daemon.app.get(AriService).connection(NODE);

  it('a stall (sockets open, no byte moves) is detected within the keepalive on both links; pending work fails fast', async () => {
    const t0 = Date.now();
    ami.stall();
    ari.stall();
    // Sent into the stall: must not wait for its own 10 s timeout once the link is known dead.
    const action = amiConn()
      .action('CoreStatus', {}, { timeoutMs: 10_000 })
      .then(
        () => 'answered',
        (err: Error) => err,
      );
    const request = ariConn()
      .request('GET', '/asterisk/info')
      .then(
        () => 'answered',
        (err: Error) => err,
      );
    const amiDown = await transition('ami', 'down', t0);
    const ariDown = await transition('ari', 'down', t0);
    console.log(`stall detected: AMI after ${amiDown.ts - t0} ms, ARI after ${ariDown.ts - t0} ms`);
    expect(amiDown.ts - t0).toBeLessThanOrEqual(KEEPALIVE_MS + SLACK_MS);
    expect(ariDown.ts - t0).toBeLessThanOrEqual(KEEPALIVE_MS + SLACK_MS);
    expect(amiDown.error).toMatch(/^nothing received from Asterisk for \d+ ms \(keepalive\)$/);
    expect(ariDown.error).toMatch(/^keepalive timeout: nothing received for \d+ ms$/);

    const actionOutcome = await action;
    expect(actionOutcome).toBeInstanceOf(AmiConnectionClosedError);
    // The REST call rode a stalled keep-alive HTTP connection: its own budget ends it.
    const requestOutcome = await request;
    expect(requestOutcome).toBeInstanceOf(AriRequestTimeoutError);
    expect(Date.now() - t0).toBeLessThanOrEqual(ACTION_TIMEOUT_MS + SLACK_MS);
    expect((await daemon.get('/health/ready')).status).toBe(200); // reconnected through fresh sockets
    await recovered(t0);
  });

  it('a half-open link (the far side vanished without FIN) is detected within the keepalive and replaced', async () => {
    const t0 = Date.now();
    const accepted = { ami: ami.accepted, ari: ari.accepted };
    ami.halfOpen();
    ari.halfOpen();
    const amiDown = await transition('ami', 'down', t0);
    const ariDown = await transition('ari', 'down', t0);
    console.log(`half-open detected: AMI after ${amiDown.ts - t0} ms, ARI after ${ariDown.ts - t0} ms`);
    expect(amiDown.ts - t0).toBeLessThanOrEqual(KEEPALIVE_MS + SLACK_MS);
    expect(ariDown.ts - t0).toBeLessThanOrEqual(KEEPALIVE_MS + SLACK_MS);
    await recovered(t0);
    expect(ami.accepted).toBeGreaterThan(accepted.ami);
    expect(ari.accepted).toBeGreaterThan(accepted.ari);
  });

  it('a reset in the middle of a frame drops the link at once, loses no later frame, and resyncs', async () => {
    const t0 = Date.now();
    const cut = Promise.all([ami.resetMidFrame(), ari.resetMidFrame()]);
    // A large AMI response (cut in half by the reset); the ARI side is cut on its next frame (the pong
    // of the keepalive probe, a third of the keepalive later, or an event).
    const action = amiConn()
      .action('Command', { Command: 'core show help' })
      .then(
        () => 'answered',
        (err: Error) => err,
      );
    await cut;
    expect(await action).toBeInstanceOf(AmiConnectionClosedError);
    const amiDown = await transition('ami', 'down', t0);
    const ariDown = await transition('ari', 'down', t0);
    expect(amiDown.error).toMatch(/reset|closed/);
    expect(ariDown.ts - t0).toBeLessThanOrEqual(KEEPALIVE_MS + SLACK_MS);
    await recovered(t0);
    // The half frame was thrown away with its socket: the next session parses cleanly.
    const res = await amiConn().action('Command', { Command: 'core show version' });
    expect(res.fields.Response).toBe('Success');
  });

  it('an AMI greeting that never comes: each attempt ends at the connect timeout, readiness 503 says why, then recovers', async () => {
    ami.acceptMode = 'blackhole';
    const t0 = Date.now();
    ami.halfOpen();
    await transition('ami', 'down', t0);
    const attempts = ami.accepted;
    await expectEventually(
      async () => {
        const ready = await daemon.get('/health/ready');
        expect(ready.status).toBe(503);
        expect(ready.body.error[`node:${NODE}`].amiError).toBe(
          `connect and login timed out after ${CONNECT_TIMEOUT_MS} ms`,
        );
      },
      KEEPALIVE_MS + CONNECT_TIMEOUT_MS + 1000,
      50,
    );
    // It keeps trying (a new TCP connection per attempt), never stuck on one silent socket.
    await expectEventually(() => expect(ami.accepted).toBeGreaterThan(attempts + 1), CONNECT_TIMEOUT_MS * 3);
    expect(ami.open).toBeLessThanOrEqual(2);
    const healed = Date.now();
    ami.acceptMode = 'forward';
    const up = await transition('ami', 'up', healed);
    expect(up.ts - healed).toBeLessThanOrEqual(CONNECT_TIMEOUT_MS + 500 + SLACK_MS);
    await recovered(healed, ['ami']);
  });

  it('ARI HTTP that hangs: REST calls end at their timeout, the WebSocket upgrade at the connect timeout, then recovers', async () => {
    ari.acceptMode = 'blackhole';
    ari.stall();
    const t0 = Date.now();
    const outcome = await ariConn()
      .request('GET', '/asterisk/info')
      .then(
        () => 'answered',
        (err: Error) => err,
      );
    expect(outcome).toBeInstanceOf(AriRequestTimeoutError);
    expect(Date.now() - t0).toBeLessThanOrEqual(ACTION_TIMEOUT_MS + SLACK_MS);
    await transition('ari', 'down', t0);
    await expectEventually(
      async () => {
        const ready = await daemon.get('/health/ready');
        expect(ready.status).toBe(503);
        expect(ready.body.error[`node:${NODE}`].ariError).toBe(
          `connect timeout after ${CONNECT_TIMEOUT_MS} ms`,
        );
      },
      CONNECT_TIMEOUT_MS * 2 + 1000,
      50,
    );
    const healed = Date.now();
    ari.acceptMode = 'forward';
    ari.resume();
    await transition('ari', 'up', healed);
    await recovered(healed, ['ari']);
    const info = await ariConn().getAsteriskInfo();
    expect(info.version).toMatch(/^22\./);
  });
});
