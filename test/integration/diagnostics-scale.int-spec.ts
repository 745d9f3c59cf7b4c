/**
 * Diagnoses on the sandbox's 10k-endpoint profile (bench/support/scale-pbx.ts): a pjsip.conf of 30,000
 * sections, whose whole `GetConfig` answer is several MB (over the AMI frame limit: it used to time out
 * and fail every diagnosis), and 10,000 `PJSIPShowEndpoint` reads. The real daemon, in this process,
 * must complete a diagnosis with every endpoint, report its duration in the API and in /metrics, and
 * read the configured transports. The event loop's longest block during the diagnosis is measured and
 * printed, not asserted: on a shared 2-core machine a GC pause or a neighbour's benchmark moves it.
 *
 * Takes the scale lock (one scale PBX at a time on the machine, never during a benchmark), so it may
 * first wait for a running benchmark to end.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { holdScaleLock, type ScaleLock } from '../../bench/support/scale-lock';
import { type ScalePbx, scaleNodeYaml, startScalePbx } from '../../bench/support/scale-pbx';
import { DiagnosticsService } from '../../src/health/diagnostics/diagnostics.service';
import { PjsipShowService } from '../../src/health/pjsip/pjsip-show.service';
import { startDaemon, type TestDaemon } from '../support/daemon';
import { expectEventually } from '../support/expect-eventually';

const ENDPOINTS = 10_000;
const NODE = 'scale';

describe(`diagnostics on a ${ENDPOINTS}-endpoint PBX`, () => {
  let lock: ScaleLock | undefined;
  let pbx: ScalePbx | undefined;
  let daemon: TestDaemon | undefined;

  beforeAll(async () => {
    lock = await holdScaleLock();
    if (lock.waitedMs > 1000) console.log(`waited ${lock.waitedMs} ms for the scale lock`);
    pbx = await startScalePbx(ENDPOINTS);
    daemon = await startDaemon(scaleNodeYaml(pbx, NODE));
    // The first diagnosis runs by itself after the AMI resync.
    await expectEventually(
      () =>
        expect(
          daemon!.app
            .get(DiagnosticsService)
            .cached()
            .map((c) => c.node),
        ).toContain(NODE),
      60_000,
    );
  }, 16 * 60_000);

  afterAll(async () => {
    await daemon?.close();
    await pbx?.stop();
    await lock?.release();
  });

  it('completes with every endpoint, its duration in the API and in /metrics, and the configured transports', async () => {
    const first = daemon!.app.get(DiagnosticsService).cached()[0].result;
    expect(first.endpoints).toBe(ENDPOINTS);

    // A second diagnosis, on a daemon that has finished its resync, with the event loop watched.
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const result = await daemon!.app.get(DiagnosticsService).refresh(NODE);
    loop.disable();

    expect(result.endpoints).toBe(ENDPOINTS);
    expect(Number.isInteger(result.durationMs)).toBe(true);
    expect(result.durationMs).toBeGreaterThan(0);

    const api = await daemon!.get(`/api/v1/nodes/${NODE}/diagnostics`);
    expect(api.status).toBe(200);
    expect(api.body).toMatchObject({
      endpoints: ENDPOINTS,
      durationMs: result.durationMs,
      computedAt: result.computedAt,
    });

    const metrics = await daemon!.get('/metrics');
    const m = new RegExp(`^pbxpulse_diagnostics_duration_seconds\\{node="${NODE}"\\} (\\S+)$`, 'm').exec(
      metrics.text,
    );
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeCloseTo(result.durationMs / 1000, 6);

    // pjsip.conf's transports, read from the 30,000-section file: both, and no RESTART_REQUIRED.
    const configured = await daemon!.app.get(PjsipShowService).configuredTransports(NODE);
    expect(configured?.map((t) => `${t.name}/${t.protocol}`).sort()).toEqual([
      'transport-udp/udp',
      'transport-ws/ws',
    ]);
    expect(result.findings.filter((f) => f.code === 'RESTART_REQUIRED')).toEqual([]);

    const byCode: Record<string, number> = {};
    for (const f of result.findings) byCode[f.code] = (byCode[f.code] ?? 0) + 1;
    console.log(
      [
        `diagnosis of ${result.endpoints} endpoints: ${result.durationMs} ms (first one, during the resync: ${first.durationMs} ms)`,
        `event loop during it: longest block ${(loop.max / 1e6).toFixed(1)} ms, p99 ${(loop.percentile(99) / 1e6).toFixed(1)} ms, mean ${(loop.mean / 1e6).toFixed(1)} ms (monitorEventLoopDelay, 10 ms resolution)`,
        `findings: ${JSON.stringify(byCode)}`,
        `scale PBX boot: ${pbx!.bootMs} ms`,
      ].join('\n'),
    );
  }, 60_000);
});
