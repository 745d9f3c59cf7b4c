/* eslint-disable no-console -- a benchmark reports on stdout */
/**
 * The engine of `npm run soak` and of the restart benchmark: the real daemon in its own process watching
 * its own Asterisk (the scale profile, bench/support/scale-pbx.ts: free ports, nothing shared with the
 * sandbox or the lab, so no test lock is held), SIPp registering and calling all along, Asterisk
 * restarted (`core restart now`, and now and then `core stop now` + a start after 5–60 s), and after each
 * restart: the daemon's readiness after the boot and its drift against Asterisk's CLI. Every minute the
 * daemon's heap (after a full GC through its inspector), RSS and event-loop lag p99 (prom-client's,
 * over the minute since the previous scrape) are sampled; the report gives their slope.
 */
import { compareWithCli, driftTotal, formatDrift, type DriftReport } from '../../test/support/drift';
import { startSipLoad } from '../../test/support/lab-load';
import { restartCycle, type RestartOutcome } from '../../test/support/restart-cycle';
import { startDaemonProcess, type DaemonProcess } from './daemon-process';
import { scaleDaemonYaml, startScalePbx, type ScalePbx } from './scale-pbx';
import { assertSipp } from './sipp';

const NODE = 'scale';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface SoakOptions {
  /** Stop after this long … */
  minutes: number;
  /** … or after this many restarts, whichever comes first. */
  maxRestarts: number;
  /** Pause between the end of one restart cycle and the next restart. */
  restartEveryS: number;
  /** Every n-th restart is a `core stop now` + start after a random 5–60 s (0: never). */
  stopStartEvery: number;
  endpoints: number;
  regRate: number;
  callRate: number;
  callHoldMs: number;
  /** Sample heap, RSS and lag this often. */
  sampleEveryS: number;
}

export interface Sample {
  atMin: number;
  heapBytes: number;
  rssBytes: number;
  lagP99Ms: number;
}

export interface SoakReport {
  samples: Sample[];
  restarts: RestartOutcome[];
  finalDrift: DriftReport;
  heapSlopeKbPerMin: number;
  rssSlopeKbPerMin: number;
}

/** Least-squares slope of y over x. */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

async function scrape(url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(30_000) });
  return res.text();
}

function gauge(text: string, name: string): number {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

async function sample(daemon: DaemonProcess, t0: number): Promise<Sample> {
  await daemon.collectGarbage();
  const text = await scrape(daemon.url);
  return {
    atMin: (Date.now() - t0) / 60_000,
    heapBytes: gauge(text, 'nodejs_heap_size_used_bytes'),
    rssBytes: daemon.rssBytes(),
    lagP99Ms: gauge(text, 'nodejs_eventloop_lag_p99_seconds') * 1000,
  };
}

const mb = (b: number): string => `${(b / 1024 / 1024).toFixed(1)} MB`;

export async function soak(o: SoakOptions): Promise<SoakReport> {
  assertSipp();
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error('the soak needs root (its Asterisk runs in the sandbox chroot)');
  }
  let pbx: ScalePbx | undefined;
  let daemon: DaemonProcess | undefined;
  try {
    pbx = await startScalePbx(o.endpoints);
    const p = pbx;
    console.log(`PBX: ${o.endpoints} endpoints, booted in ${pbx.bootMs} ms (SIP 127.0.0.1:${pbx.sipPort})`);
    daemon = await startDaemonProcess({ config: (port) => scaleDaemonYaml(p, port), inspector: true });
    const d = daemon;
    console.log(`daemon pid ${daemon.pid} ready in ${daemon.startMs} ms; log ${daemon.logPath}`);
    const load = await startSipLoad({
      target: `127.0.0.1:${pbx.sipPort}`,
      names: pbx.names,
      regRate: o.regRate,
      callRate: o.callRate,
      callHoldMs: o.callHoldMs,
      maxSeconds: o.minutes * 60 + 600,
    });
    const t0 = Date.now();
    const end = t0 + o.minutes * 60_000;
    const samples: Sample[] = [];
    // The first sample after a minute of load: the baseline is a daemon with its state built.
    let nextSample = t0 + o.sampleEveryS * 1000;
    const takeSample = async (): Promise<void> => {
      const s = await sample(d, t0);
      samples.push(s);
      console.log(
        `t=${s.atMin.toFixed(1)} min: heap ${mb(s.heapBytes)}, RSS ${mb(s.rssBytes)}, event-loop lag p99 ${s.lagP99Ms.toFixed(1)} ms`,
      );
    };
    const restarts: RestartOutcome[] = [];
    let nextRestart = t0 + o.restartEveryS * 1000;
    while (Date.now() < end && restarts.length < o.maxRestarts) {
      if (Date.now() >= nextSample) {
        await takeSample();
        nextSample += o.sampleEveryS * 1000;
      }
      if (Date.now() >= nextRestart) {
        const n = restarts.length + 1;
        const stopStart = o.stopStartEvery > 0 && n % o.stopStartEvery === 0;
        const downMs = stopStart ? 5000 + Math.floor(Math.random() * 55_000) : undefined;
        const r = await restartCycle({
          url: d.url,
          node: NODE,
          kind: stopStart ? 'stop-start' : 'restart',
          cli: (cmd, ms) => p.cli(cmd, ms),
          stopStart: (ms) => p.stopStart(ms),
          downMs,
        });
        restarts.push(r);
        console.log(
          `restart #${n} (${r.kind}${r.downMs ? `, down ${(r.downMs / 1000).toFixed(0)} s` : ''}): ready ${r.readyMs} ms after boot, ` +
            `matched the CLI ${r.settleMs} ms later${r.driftTotal > 0 ? `; DRIFT ${formatDrift(r.drift)}` : ''}`,
        );
        nextRestart = Date.now() + o.restartEveryS * 1000;
      }
      await sleep(200);
    }
    if (samples.length === 0 || Date.now() - t0 >= 60_000) await takeSample();
    const sipp = await load.stop();
    console.log(
      `SIPp: ${sipp.register.final.successful} registrations, ${sipp.calls.final.successful} calls completed, ${sipp.calls.final.failed} failed (cut by restarts)`,
    );
    // 0 drift at the end: compared once the calls are over (channels settle), retried for 15 s.
    let finalDrift: DriftReport;
    const deadline = Date.now() + 15_000;
    for (;;) {
      finalDrift = await compareWithCli((cmd, ms) => p.cli(cmd, ms), d.url, NODE);
      if (driftTotal(finalDrift) === 0 || Date.now() > deadline) break;
      await sleep(500);
    }
    const xs = samples.map((s) => s.atMin);
    return {
      samples,
      restarts,
      finalDrift,
      heapSlopeKbPerMin:
        slope(
          xs,
          samples.map((s) => s.heapBytes),
        ) / 1024,
      rssSlopeKbPerMin:
        slope(
          xs,
          samples.map((s) => s.rssBytes),
        ) / 1024,
    };
  } finally {
    const code = await daemon?.stop();
    if (daemon) console.log(`daemon stopped (exit ${String(code)})`);
    await pbx?.stop();
  }
}

/** Prints the figures and returns the exit code: 1 on drift at the end or a restart that left drift. */
export function printReport(r: SoakReport): number {
  const lags = r.samples.map((s) => s.lagP99Ms).sort((a, b) => a - b);
  const ready = r.restarts.map((x) => x.readyMs).sort((a, b) => a - b);
  const drifted = r.restarts.filter((x) => x.driftTotal > 0);
  const first = r.samples[0];
  const last = r.samples[r.samples.length - 1];
  console.log('\n=== soak summary ===');
  if (first && last) {
    console.log(
      `heap after GC: ${mb(first.heapBytes)} → ${mb(last.heapBytes)} over ${last.atMin.toFixed(1)} min, slope after the first minute ${r.heapSlopeKbPerMin.toFixed(1)} KB/min`,
    );
    console.log(
      `RSS: ${mb(first.rssBytes)} → ${mb(last.rssBytes)}, slope after the first minute ${r.rssSlopeKbPerMin.toFixed(1)} KB/min`,
    );
    console.log(
      `event-loop lag p99 per minute: median ${lags[Math.floor(lags.length / 2)].toFixed(1)} ms, worst ${lags[lags.length - 1].toFixed(1)} ms`,
    );
  }
  if (ready.length > 0) {
    console.log(
      `restarts: ${r.restarts.length} (${r.restarts.filter((x) => x.kind === 'stop-start').length} stop+start); ready after boot: median ${ready[Math.floor(ready.length / 2)]} ms, worst ${ready[ready.length - 1]} ms; over 5 s: ${ready.filter((x) => x >= 5000).length}; with drift after 15 s: ${drifted.length}`,
    );
  }
  console.log(`drift at the end: ${formatDrift(r.finalDrift)}`);
  return driftTotal(r.finalDrift) > 0 || drifted.length > 0 ? 1 : 0;
}
