import { AmiService } from '../../src/ami/ami.service';
import { labCli, labNodeYaml, labStart, labStop } from '../support/lab-asterisk';
import { labLoadConfig, startLabLoad, type SipLoad } from '../support/lab-load';
import { startDaemon, type TestDaemon } from '../support/daemon';
import { formatDrift } from '../support/drift';
import { expectEventually } from '../support/expect-eventually';
import { restartCycle, type RestartOutcome } from '../support/restart-cycle';

const ENDPOINTS = 200;
const RESTARTS = 10;
const NODE = 'lab';

/**
 * Asterisk restarts while SIPp keeps registering and calling (the lab Asterisk, 200 UDP endpoints,
 * 50 REGISTER/s, each with a new Contact that replaces the old one, 3 calls/s of 1.5 s to Echo): after each, the daemon, with its default connection settings,
 * is ready within 5 s of Asterisk being fully booted, and its endpoints, contacts and channels equal
 * what Asterisk's CLI lists (0 ghosts, 0 missing). The 100-restart run is `bench/restarts.bench.ts`.
 */
describe('Asterisk restarts under SIP load', () => {
  const files = labLoadConfig(ENDPOINTS);
  let daemon: TestDaemon | undefined;
  let load: SipLoad | undefined;

  beforeAll(async () => {
    await labStart(files);
  }, 60_000);

  afterAll(async () => {
    await load?.stop().catch(() => undefined);
    await daemon?.close();
    await labStop();
  }, 60_000);

  it(`${RESTARTS} restarts (one a stop and a start 5 s later): ready within 5 s of the boot, 0 drift after each`, async () => {
    daemon = await startDaemon(labNodeYaml(NODE));
    await expectEventually(async () => expect((await daemon!.get('/health/ready')).status).toBe(200), 15_000);
    load = await startLabLoad({
      endpoints: ENDPOINTS,
      regRate: 50,
      callRate: 3,
      callHoldMs: 1500,
      maxSeconds: 600,
    });
    // Every endpoint registered once before the first restart.
    await expectEventually(
      async () => {
        const { body } = await daemon!.get(`/api/v1/nodes/${NODE}/endpoints?registered=true`);
        expect(body.endpoints.length).toBeGreaterThanOrEqual(ENDPOINTS);
      },
      15_000,
      250,
    );

    const outcomes: RestartOutcome[] = [];
    for (let i = 0; i < RESTARTS; i++) {
      const kind = i === RESTARTS / 2 ? 'stop-start' : 'restart';
      const o = await restartCycle({
        url: daemon.url,
        node: NODE,
        kind,
        cli: labCli,
        downMs: 5000,
        stopStart: async (ms) => {
          await labStop();
          await new Promise((r) => setTimeout(r, ms));
          await labStart(files);
        },
      });
      outcomes.push(o);
      console.log(
        `#${i + 1} ${kind}: ready ${o.readyMs} ms after boot, matched the CLI ${o.settleMs} ms later: ${formatDrift(o.drift)}`,
      );
      for (const key of [...o.drift.contacts.examples.ghosts, ...o.drift.contacts.examples.missing]) {
        // What the daemon was told about that AOR: the first thing to read when this fails.
        const aor = key.split(' ')[0];
        const seen = daemon.events.filter((e) => 'aor' in e && e.aor === aor).slice(-12);
        console.log(`events of AOR ${aor}:\n${seen.map((e) => JSON.stringify(e)).join('\n')}`);
        const conn = daemon.app.get(AmiService).connection(NODE);
        const detail = await conn.listAction('PJSIPShowEndpoint', { Endpoint: aor }).catch((e: Error) => e);
        const statuses = await conn
          .listAction('PJSIPShowRegistrationInboundContactStatuses', {}, { errorMeansEmpty: true })
          .catch((e: Error) => e);
        const uris = (r: unknown) =>
          r instanceof Error
            ? r.message
            : (r as { items: { fields: Record<string, string> }[] }).items
                .filter((m) => m.fields.AOR === aor && m.fields.URI)
                .map((m) => `${m.fields.Event} ${m.fields.URI} ${m.fields.Status}`)
                .join(', ');
        console.log(`AMI now: PJSIPShowEndpoint ${uris(detail)}; inbound statuses ${uris(statuses)}`);
      }
      expect({ restart: i + 1, readyMs: o.readyMs < 5000, drift: o.driftTotal }).toEqual({
        restart: i + 1,
        readyMs: true,
        drift: 0,
      });
    }
    const sipp = await load.stop();
    load = undefined;
    const worst = Math.max(...outcomes.map((o) => o.readyMs));
    console.log(
      `worst ready-after-boot ${worst} ms over ${RESTARTS} restarts; SIPp: ${sipp.register.final.successful} registrations, ${sipp.calls.final.successful} calls completed (${sipp.calls.final.failed} cut by the restarts)`,
    );
    // The load was real: registrations and calls went through between the restarts.
    expect(sipp.register.final.successful).toBeGreaterThan(ENDPOINTS);
    expect(sipp.calls.final.successful).toBeGreaterThan(0);
  }, 300_000);
});
