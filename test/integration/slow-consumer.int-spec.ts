import { AmiService } from '../../src/ami/ami.service';
import { labCli, labNodeYaml, labStart, labStop } from '../support/lab-asterisk';
import { labLoadConfig, loadEndpointNames, startLabLoad, type SipLoad } from '../support/lab-load';
import { startDaemon, type TestDaemon } from '../support/daemon';
import { compareWithCli, driftTotal, formatDrift } from '../support/drift';
import { expectEventually } from '../support/expect-eventually';

const ENDPOINTS = 300;
const NODE = 'lab';
const STALL_MS = 6000;

/** Sum of a counter family's samples for the node that contain `match`. */
function counter(metrics: string, name: string, match = ''): number {
  let sum = 0;
  for (const line of metrics.split('\n')) {
    if (line.startsWith(`${name}{`) && line.includes(`node="${NODE}"`) && line.includes(match)) {
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return sum;
}

/**
 * Asterisk closes an AMI session whose reader lets its writes wait longer than `writetimeout` (100 ms,
 * the lab's default). Here the daemon's event loop is blocked (a busy loop in the test, in the daemon's
 * process: no production hook) while Asterisk has far more to write to it than the socket buffers hold:
 * a SIPp registration burst plus the answers to a flood of endpoint reads (the kernel lets a loopback
 * receive buffer grow to tens of MB, more than a registration burst alone fills in seconds). The daemon
 * must notice the lost session, count it, reconnect, resync and end with exactly Asterisk's state.
 */
describe('a slow AMI consumer (our event loop stalled under a burst)', () => {
  let daemon: TestDaemon | undefined;
  let load: SipLoad | undefined;

  beforeAll(async () => {
    await labStart(labLoadConfig(ENDPOINTS));
  }, 60_000);

  afterAll(async () => {
    await load?.stop().catch(() => undefined);
    await daemon?.close();
    await labStop();
  }, 60_000);

  it('Asterisk drops the blocked session; the daemon counts it, reconnects, resyncs and matches the CLI', async () => {
    daemon = await startDaemon(labNodeYaml(NODE));
    await expectEventually(async () => expect((await daemon!.get('/health/ready')).status).toBe(200), 15_000);
    await expectEventually(
      () => expect(daemon!.events.some((e) => e.type === 'state.resynced' && e.link === 'ami')).toBe(true),
      15_000,
    );
    load = await startLabLoad({
      endpoints: ENDPOINTS,
      regRate: 1000,
      callRate: 20,
      callHoldMs: 1000,
      maxSeconds: 120,
    });
    await expectEventually(
      async () =>
        expect(counter((await daemon!.get('/metrics')).text, 'pbxpulse_ami_events_total')).toBeGreaterThan(
          2000,
        ),
      15_000,
      100,
    );

    // Asterisk answers each with ~150 headers plus the contacts: tens of MB to write in all.
    const conn = daemon.app.get(AmiService).connection(NODE);
    const names = loadEndpointNames(ENDPOINTS);
    const reads: Promise<unknown>[] = [];
    for (let round = 0; round < 20; round++) {
      for (const name of names) {
        reads.push(
          conn.listAction('PJSIPShowEndpoint', { Endpoint: name }, { timeoutMs: 60_000 }).catch(() => 0),
        );
      }
    }
    const stalledAt = Date.now();
    const until = stalledAt + STALL_MS;
    // The test hook: this process (the daemon's) does nothing else for a while.
    while (Date.now() < until) {
      // busy
    }

    await expectEventually(
      async () => {
        const m = (await daemon!.get('/metrics')).text;
        expect(
          counter(m, 'pbxpulse_ami_disconnects_total', 'reason="closed"') +
            counter(m, 'pbxpulse_ami_disconnects_total', 'reason="reset"'),
        ).toBeGreaterThanOrEqual(1);
      },
      20_000,
      100,
    );
    const lost = daemon.events.find(
      (e) =>
        e.type === 'node.connection_changed' && e.link === 'ami' && e.status === 'down' && e.ts >= stalledAt,
    );
    console.log(`after a ${STALL_MS} ms stall, Asterisk dropped the session: ${JSON.stringify(lost)}`);
    await Promise.all(reads);
    await expectEventually(
      () =>
        expect(
          daemon!.events.some((e) => e.type === 'state.resynced' && e.link === 'ami' && e.ts > stalledAt),
        ).toBe(true),
      20_000,
      100,
    );
    await expectEventually(async () => expect((await daemon!.get('/health/ready')).status).toBe(200), 10_000);
    await load.stop();
    load = undefined;
    // Nothing that happened while we were deaf is missing: the state equals Asterisk's.
    const report = await expectEventually(
      async () => {
        const r = await compareWithCli(labCli, daemon!.url, NODE);
        if (driftTotal(r) !== 0) throw new Error(formatDrift(r));
        return r;
      },
      20_000,
      500,
    );
    console.log(`after the resync: ${formatDrift(report)}`);
  }, 150_000);
});
