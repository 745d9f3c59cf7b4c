/* eslint-disable no-console -- a benchmark reports on stdout */
/**
 * Registration storm: the sandbox's 10k-endpoint profile (bench/support/scale-pbx.ts) watched by the real
 * daemon in its own process, while SIPp registers every endpoint with digest auth at 1,000 REG/s for
 * 60 s (each endpoint about every 10 s, each time with a new Contact that replaces the old one) and a
 * second SIPp places 50 calls/s of 20 s to 600 (Echo) with G.711 RTP (rtp_stream).
 *
 * Figures: what SIPp achieved (its own statistics), the daemon's CPU per 1k AMI events (/proc/<pid>/stat
 * over `pbxpulse_ami_events_total`), event-to-state latency (a separate AMI session of this benchmark
 * stamps each ContactStatus; a /ws client of the daemon stamps the delta in which that contact appears
 * or disappears), drift between pbxpulse's endpoints, contacts and channels and what `pjsip show
 * contacts`, `pjsip list endpoints` and `core show channels concise` say, and the daemon's RSS.
 *
 * Needs root (the scale PBX runs in the sandbox's chroot) and SIPp; only one scale PBX runs at a time:
 * `flock /tmp/pbxpulse-scale.lock node dist-bench/bench/registration-storm.bench.js` (bench/run.mjs does).
 * Knobs: BENCH_ENDPOINTS (10000), BENCH_STORM_S (60), BENCH_REG_RATE (1000), BENCH_CALL_RATE (50),
 * BENCH_CALL_S (20), BENCH_DAEMON_ARGS (extra node arguments for the daemon, e.g. `--cpu-prof
 * --cpu-prof-dir=/tmp/prof` to see where its CPU goes).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { cliChannels, compareWithCli, type DriftReport } from '../test/support/drift';
import { freePort } from '../test/support/prometheus-server';
import { amiProbe } from './support/ami-probe';
import { cpuSampler, startDaemonProcess, waitSettled, type DaemonProcess } from './support/daemon-process';
import { scaleDaemonYaml, startScalePbx, type ScalePbx } from './support/scale-pbx';
import { assertSipp, sippWorkDir, startSipp, writeInjectionCsv, type SippResult } from './support/sipp';

const N = Number(process.env.BENCH_ENDPOINTS ?? 10_000);
const STORM_S = Number(process.env.BENCH_STORM_S ?? 60);
const REG_RATE = Number(process.env.BENCH_REG_RATE ?? 1000);
const CALL_RATE = Number(process.env.BENCH_CALL_RATE ?? 50);
const CALL_S = Number(process.env.BENCH_CALL_S ?? 20);
const NODE = 'scale';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---- the benchmark's own AMI session: ContactStatus arrival times ----------------------------------

// ---- a /ws client of the daemon: when each contact appears in / leaves pbxpulse's state ---------------

interface WsProbe {
  readonly stamps: Map<string, number>;
  /** The delta type that first showed each change. */
  readonly types: Map<string, string>;
  messages: number;
  close(): void;
}

interface ContactLike {
  aor: string;
  uri: string;
}

async function wsProbe(daemonUrl: string): Promise<WsProbe> {
  const ws = new WebSocket(`${daemonUrl.replace('http', 'ws')}/ws`);
  const stamps = new Map<string, number>();
  const types = new Map<string, string>();
  const known = new Map<string, Set<string>>(); // endpoint → "aor uri" set last seen
  const probe: WsProbe = { stamps, types, messages: 0, close: () => ws.close() };
  const ready = new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.on('message', (raw: Buffer) => {
      const now = performance.now();
      const msg = JSON.parse(raw.toString('utf8')) as {
        type: string;
        data?: { endpoint?: string; contactList?: ContactLike[] };
      };
      probe.messages++;
      if (msg.type === 'hello') {
        ws.send(JSON.stringify({ type: 'subscribe', nodes: [NODE], topics: ['registrations'] }));
        return;
      }
      if (msg.type === 'subscribed') return resolve();
      const list = msg.data?.contactList;
      const endpoint = msg.data?.endpoint;
      if (!list || endpoint === undefined) return;
      const next = new Set(list.map((c) => `${c.aor} ${c.uri}`));
      const prev = known.get(endpoint) ?? new Set<string>();
      for (const k of next)
        if (!prev.has(k) && !stamps.has(`add ${k}`)) {
          stamps.set(`add ${k}`, now);
          types.set(`add ${k}`, msg.type);
        }
      for (const k of prev)
        if (!next.has(k) && !stamps.has(`remove ${k}`)) {
          stamps.set(`remove ${k}`, now);
          types.set(`remove ${k}`, msg.type);
        }
      known.set(endpoint, next);
    });
  });
  await Promise.race([
    ready,
    sleep(30_000).then(() => {
      throw new Error('the /ws probe got no "subscribed" within 30 s');
    }),
  ]);
  return probe;
}

// ---- helpers -----------------------------------------------------------------------------------------

async function amiEventsTotal(daemon: DaemonProcess): Promise<number> {
  const res = await fetch(`${daemon.url}/metrics`, { signal: AbortSignal.timeout(60_000) });
  const text = await res.text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('pbxpulse_ami_events_total')) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function compareAll(pbx: ScalePbx, daemon: DaemonProcess): Promise<DriftReport> {
  return compareWithCli((cmd, ms) => pbx.cli(cmd, ms), daemon.url, NODE);
}

const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n)
    ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : 'n/a';
const mb = (bytes: number): string => `${fmt(bytes / 1024 / 1024)} MB`;

function sippLine(r: SippResult): string {
  const f = r.final;
  return `${fmt(f.created)} created, ${fmt(f.successful)} ok, ${fmt(f.failed)} failed (max-retrans ${fmt(f.failedMaxUdpRetrans)}, unexpected ${fmt(f.failedUnexpected)}, rejected ${fmt(f.failedRejected)}), ${fmt(f.retransmissions)} retransmissions`;
}

// ---- the run -------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  assertSipp();
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error('registration-storm needs root (the scale PBX runs in the sandbox chroot)');
  }
  const regTotal = REG_RATE * STORM_S;
  const callTotal = CALL_RATE * STORM_S;
  console.log(
    `registration storm: ${fmt(N)} endpoints, ${fmt(REG_RATE)} REG/s for ${STORM_S} s (${fmt(regTotal)} REGISTERs) + ${CALL_RATE} calls/s of ${CALL_S} s to 600 (Echo) with RTP`,
  );
  const pbx = await startScalePbx(N);
  let daemon: DaemonProcess | undefined;
  const closers: (() => void)[] = [];
  try {
    console.log(
      `scale PBX: ${fmt(N)} endpoints booted in ${fmt(pbx.bootMs)} ms (SIP 127.0.0.1:${pbx.sipPort})`,
    );
    daemon = await startDaemonProcess({
      config: (port) => scaleDaemonYaml(pbx, port),
      nodeArgs: (process.env.BENCH_DAEMON_ARGS ?? '').split(' ').filter(Boolean),
    });
    console.log(`daemon pid ${daemon.pid} ready in ${fmt(daemon.startMs)} ms, RSS ${mb(daemon.rssBytes())}`);
    // The storm hits a daemon that holds the PBX's state: its first resync and diagnosis are done.
    const synced = Date.now();
    await waitSettled(daemon, NODE, N);
    console.log(`daemon settled (resync and first diagnosis) ${fmt(Date.now() - synced)} ms after ready`);
    const ami = await amiProbe(pbx.amiPort, () => performance.now());
    closers.push(() => ami.close());
    const ws = await wsProbe(daemon.url);
    closers.push(() => ws.close());

    const dir = sippWorkDir();
    const users = pbx.names.map((n) => [n, `pw${n}`, '3600']);
    const regCsv = writeInjectionCsv(dir, 'register-users.csv', users);
    const callCsv = writeInjectionCsv(dir, 'call-users.csv', users);
    const target = `127.0.0.1:${pbx.sipPort}`;

    const events0 = await amiEventsTotal(daemon);
    const cpu0 = daemon.cpu().seconds;
    const t0 = performance.now();
    const astCpu = cpuSampler(() => pbx.pids());
    const reg = startSipp({
      dir,
      scenario: 'register',
      target,
      injection: regCsv,
      localPort: await freePort(),
      rate: REG_RATE,
      maxCalls: regTotal,
      limit: REG_RATE * 5,
      timeoutS: STORM_S + 120,
    });
    const calls = startSipp({
      dir,
      scenario: 'echo-call',
      target,
      injection: callCsv,
      localPort: await freePort(),
      rate: CALL_RATE,
      maxCalls: callTotal,
      limit: Math.ceil(CALL_RATE * CALL_S * 1.5),
      pauseMs: CALL_S * 1000,
      timeoutS: STORM_S + CALL_S + 120,
      extra: ['-rtp_threadtasks', '50'],
    });
    const regCpu = cpuSampler(() => [reg.pid]);
    const callCpu = cpuSampler(() => [calls.pid]);
    let rssPeak = 0;
    const rssTimer = setInterval(() => {
      try {
        rssPeak = Math.max(rssPeak, daemon?.rssBytes() ?? 0);
      } catch {
        // gone
      }
    }, 1000);
    closers.push(() => clearInterval(rssTimer));

    const regResult = await reg.done;
    const stormS = (performance.now() - t0) / 1000;
    const cpu1 = daemon.cpu().seconds;
    const astCpuStorm = astCpu.last();
    const regSippCpu = regCpu.stop();
    const callSippCpuStorm = callCpu.last();
    const events1 = await amiEventsTotal(daemon);
    console.log(`REGISTER SIPp done after ${fmt(stormS, 1)} s: ${sippLine(regResult)}`);

    // Let what is in flight land (the /ws deltas are coalesced for 250 ms), then compare during the calls.
    await sleep(2000);
    const liveRss = daemon.rssBytes();
    const live = await compareAll(pbx, daemon);
    const callResult = await calls.done;
    console.log(`call SIPp done: ${sippLine(callResult)}`);
    const callSippCpu = callCpu.stop();
    // Settled: no SIP traffic left; Asterisk's channels gone (bounded wait); the daemon has caught up
    // (a resync after a link lost in the storm reads 10k endpoint details).
    for (let i = 0; i < 60 && (await cliChannels((cmd, ms) => pbx.cli(cmd, ms))).size > 0; i++)
      await sleep(500);
    const caughtUp = Date.now();
    await waitSettled(daemon, NODE, N);
    console.log(`daemon caught up ${fmt(Date.now() - caughtUp)} ms after the last channel ended`);
    const settled = await compareAll(pbx, daemon);
    const endRss = daemon.rssBytes();
    const astCpuTotal = astCpu.stop();

    // Latency: every ContactStatus add/remove the AMI probe saw, against the /ws delta that showed it.
    // `registration.changed` is immediate; `endpoint.updated` is coalesced (at most one per endpoint per
    // 250 ms), so its latency includes up to 250 ms of waiting by design.
    const lat: number[] = [];
    const latByType = new Map<string, number[]>();
    const unmatched = { add: 0, remove: 0 };
    for (const [key, tAmi] of ami.stamps) {
      const tWs = ws.stamps.get(key);
      if (tWs === undefined) {
        unmatched[key.startsWith('add') ? 'add' : 'remove']++;
        continue;
      }
      lat.push(tWs - tAmi);
      const type = ws.types.get(key) ?? '?';
      latByType.set(type, [...(latByType.get(type) ?? []), tWs - tAmi]);
    }
    lat.sort((a, b) => a - b);
    for (const l of latByType.values()) l.sort((a, b) => a - b);

    const events = events1 - events0;
    const cpu = cpu1 - cpu0;
    const rows: [string, string][] = [
      ['endpoints (generated)', fmt(N)],
      [
        'REGISTER (digest) achieved',
        `${fmt(regResult.createdPerS)} REG/s started, ${fmt(regResult.successfulPerS)} REG/s ok of ${fmt(REG_RATE)} target (${fmt(regResult.final.successful)}/${fmt(regTotal)} ok in ${fmt(regResult.generationS, 1)} s)`,
      ],
      [
        'calls to Echo with RTP achieved',
        `${fmt(callResult.createdPerS, 1)} calls/s started of ${CALL_RATE} target; ${fmt(callResult.final.successful)}/${fmt(callTotal)} ok, ${fmt(callResult.final.failed)} failed`,
      ],
      ['AMI events to the daemon in the storm', `${fmt(events)} (${fmt(events / stormS)}/s)`],
      [
        'daemon CPU per 1k AMI events',
        `${fmt((cpu * 1000 * 1000) / Math.max(events, 1), 1)} ms (${fmt(cpu, 1)} s CPU over ${fmt(stormS, 1)} s = ${fmt((cpu / stormS) * 100)}% of a core)`,
      ],
      [
        'Asterisk CPU in the storm',
        `${fmt(astCpuStorm, 1)} s = ${fmt((astCpuStorm / stormS) * 100)}% of a core`,
      ],
      [
        'SIPp CPU in the storm (REGISTER / calls)',
        `${fmt((regSippCpu / stormS) * 100)}% / ${fmt((callSippCpuStorm / stormS) * 100)}% of a core`,
      ],
      [
        'event-to-state latency (ContactStatus → /ws)',
        `p50 ${fmt(percentile(lat, 50), 1)} ms, p99 ${fmt(percentile(lat, 99), 1)} ms, max ${fmt(lat[lat.length - 1] ?? NaN, 1)} ms over ${fmt(lat.length)} changes (${fmt(unmatched.add)} additions and ${fmt(unmatched.remove)} removals not seen on /ws)`,
      ],
      ...[...latByType].map(([type, l]): [string, string] => [
        `  of which first shown by ${type}`,
        `${fmt(l.length)}: p50 ${fmt(percentile(l, 50), 1)} ms, p99 ${fmt(percentile(l, 99), 1)} ms, max ${fmt(l[l.length - 1], 1)} ms`,
      ]),
      [
        '  (endpoint.updated is coalesced',
        'to one per endpoint per 250 ms by design: its latency includes that wait)',
      ],
    ];
    for (const [when, d] of [
      ['live, during the calls', live],
      ['settled, after the calls', settled],
    ] as const) {
      for (const [what, x] of Object.entries(d)) {
        rows.push([
          `drift ${what} (${when})`,
          `Asterisk ${fmt(x.asterisk)}, pbxpulse ${fmt(x.pbxpulse)}: ${fmt(x.ghosts)} ghosts, ${fmt(x.missing)} missing`,
        ]);
      }
    }
    rows.push(
      ['daemon RSS', `${mb(liveRss)} live (contacts + calls), ${mb(endRss)} settled, peak ${mb(rssPeak)}`],
      ['Asterisk CPU, whole run', `${fmt(astCpuTotal, 1)} s; call SIPp ${fmt(callSippCpu, 1)} s`],
    );
    const w = Math.max(...rows.map(([k]) => k.length));
    console.log('');
    for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
    fs.writeFileSync(path.join(dir, 'result.txt'), rows.map(([k, v]) => `${k}\t${v}`).join('\n') + '\n');
    console.log(`\n(SIPp files and stats: ${dir}; daemon log: ${daemon.logPath})`);
  } finally {
    for (const c of closers) c();
    await daemon?.stop();
    await pbx.stop();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});
