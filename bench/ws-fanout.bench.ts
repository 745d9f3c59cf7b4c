/* eslint-disable no-console -- a benchmark reports on stdout */
/**
 * WebSocket fan-out: 1,000 `/ws` clients of the real daemon (its own process) while the sandbox's
 * 10k-endpoint profile (bench/support/scale-pbx.ts) takes a SIPp registration storm, beside a bare `ws`
 * server broadcasting the same messages to the same number of clients in the same run.
 *
 * Phase 1, pbxpulse: a separate AMI session of this benchmark stamps every ContactStatus (a contact
 * added or removed) on arrival; the clients (child processes, bench/support/ws-client-pool.ts) stamp
 * every delta on arrival and check that `seq` has no gap. One client captures the frames; the delta that
 * first shows a stamped contact change carries that event. Latency = AMI arrival at the probe → arrival
 * of that delta at each client, over all clients. The daemon's AMI event rate comes from its own
 * `pbxpulse_ami_events_total`.
 *
 * Phase 2, bare: a bare `ws` server (bench/support/bare-ws-server.ts, its own process) greets with the
 * captured hello and snapshot and broadcasts the captured deltas with their original spacing (the
 * daemon's publish times, the deltas' `ts`) to the same number of clients of the same harness, while the same storm runs again against the PBX (the daemon
 * watching it with no /ws client), so the machine carries the same load. Latency = the frame's scheduled
 * send time → arrival at each client.
 *
 * The figure: pbxpulse p99 / bare p99. Also: pbxpulse's publish → client latency (the delta's own `ts`,
 * whole milliseconds), which leaves out what precedes the gateway (AMI parsing, state, coalescing).
 *
 * One clock: `performance.timeOrigin + performance.now()` (epoch ms) in every process; all run on this
 * machine. Needs root and SIPp; one scale PBX at a time (bench/run.mjs takes /tmp/pbxpulse-scale.lock).
 * Knobs: BENCH_ENDPOINTS (10000), BENCH_WS_CLIENTS (1000), BENCH_WS_PROCS (2), BENCH_STORM_S (30),
 * BENCH_REG_RATE (300: about 20 AMI events per REGISTER, so ≥ 5,000 events/s), BENCH_BARE_LOAD (1: rerun the storm during the bare phase; 0: idle PBX).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { freePort } from '../test/support/prometheus-server';
import { amiProbe } from './support/ami-probe';
import { startBareServer } from './support/bare-ws-server';
import {
  cpuSampler,
  processRssBytes,
  startDaemonProcess,
  type DaemonProcess,
} from './support/daemon-process';
import { scaleDaemonYaml, startScalePbx, type ScalePbx } from './support/scale-pbx';
import { assertSipp, sippWorkDir, startSipp, writeInjectionCsv, type SippResult } from './support/sipp';
import {
  histPercentile,
  now,
  startClientPool,
  type ClientSummary,
  type LatencyHist,
} from './support/ws-client-pool';

const N = Number(process.env.BENCH_ENDPOINTS ?? 10_000);
const CLIENTS = Number(process.env.BENCH_WS_CLIENTS ?? 1000);
const PROCS = Number(process.env.BENCH_WS_PROCS ?? 2);
const STORM_S = Number(process.env.BENCH_STORM_S ?? 30);
const REG_RATE = Number(process.env.BENCH_REG_RATE ?? 300);
const BARE_LOAD = (process.env.BENCH_BARE_LOAD ?? '1') !== '0';
/** How long the daemon may take to answer /metrics after the storm (its backlog) before the run fails. */
const DRAIN_MAX_S = 150;
const VIEWER_TOKEN = 'bench-viewer-token-ws-fanout';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---- the benchmark's own AMI session: ContactStatus arrival times (epoch ms) --------------------------

// ---- matching captured deltas to stamped AMI events ---------------------------------------------------

interface DeltaLike {
  type: string;
  seq?: number;
  ts?: string;
  data?: { endpoint?: string; contactList?: { aor: string; uri: string }[] };
}

interface Matched {
  /** seq → AMI arrival of the earliest event the delta is the first to show. */
  event: Array<[number, number]>;
  /** seq → the delta's own `ts` (the daemon's publish time, whole ms). */
  publish: Array<[number, number]>;
  /** seq → capture client's arrival. */
  arrival: Map<number, number>;
  /** seq → delta type, for the deltas in `event`. */
  typeOf: Map<number, string>;
  deltas: number;
  byType: Record<string, number>;
  stampedEvents: number;
  unmatchedEvents: number;
}

function matchDeltas(frames: Array<[number, string]>, stamps: Map<string, number>): Matched {
  const known = new Map<string, Set<string>>(); // endpoint → "aor uri" last seen
  const shown = new Set<string>();
  const out: Matched = {
    event: [],
    publish: [],
    arrival: new Map(),
    typeOf: new Map(),
    deltas: 0,
    byType: {},
    stampedEvents: stamps.size,
    unmatchedEvents: 0,
  };
  for (const [t, text] of frames) {
    const d = JSON.parse(text) as DeltaLike;
    if (d.seq === undefined || d.type === 'snapshot') continue;
    out.deltas++;
    out.byType[d.type] = (out.byType[d.type] ?? 0) + 1;
    out.arrival.set(d.seq, t);
    if (d.ts) out.publish.push([d.seq, Date.parse(d.ts)]);
    const list = d.data?.contactList;
    const endpoint = d.data?.endpoint;
    if (!list || endpoint === undefined) continue;
    const next = new Set(list.map((c) => `${c.aor} ${c.uri}`));
    const prev = known.get(endpoint) ?? new Set<string>();
    let src = Infinity;
    const carry = (key: string): void => {
      if (shown.has(key)) return;
      shown.add(key);
      const s = stamps.get(key);
      if (s !== undefined) src = Math.min(src, s);
    };
    for (const k of next) if (!prev.has(k)) carry(`add ${k}`);
    for (const k of prev) if (!next.has(k)) carry(`remove ${k}`);
    known.set(endpoint, next);
    if (src !== Infinity) {
      out.event.push([d.seq, src]);
      out.typeOf.set(d.seq, d.type);
    }
  }
  for (const key of stamps.keys()) if (!shown.has(key)) out.unmatchedEvents++;
  return out;
}

// ---- helpers -----------------------------------------------------------------------------------------

/** The daemon's `pbxpulse_ami_events_total` (all nodes); its event loop may be minutes behind. */
async function amiEventsTotal(daemon: DaemonProcess): Promise<number> {
  const res = await fetch(`${daemon.url}/metrics`, { signal: AbortSignal.timeout(DRAIN_MAX_S * 1000) });
  let sum = 0;
  for (const line of (await res.text()).split('\n')) {
    if (line.startsWith('pbxpulse_ami_events_total')) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

async function waitForEndpoints(
  daemon: DaemonProcess,
  n: number,
): Promise<{ endpoints: number; ms: number }> {
  const t0 = now();
  let endpoints = 0;
  while (now() - t0 < DRAIN_MAX_S * 1000) {
    const res = await fetch(`${daemon.url}/api/v1/nodes/scale/endpoints`, {
      headers: { authorization: `Bearer ${VIEWER_TOKEN}` },
      signal: AbortSignal.timeout(30_000),
    }).catch(() => null);
    if (res?.status === 200) endpoints = ((await res.json()) as { endpoints: unknown[] }).endpoints.length;
    else await res?.body?.cancel();
    if (endpoints >= n) break;
    await sleep(1000);
  }
  return { endpoints, ms: now() - t0 };
}

function rssPeakOf(pid: number): { stop: () => number } {
  let peak = 0;
  const tick = (): void => {
    try {
      peak = Math.max(peak, processRssBytes(pid));
    } catch {
      // exited
    }
  };
  tick();
  const timer = setInterval(tick, 500);
  return {
    stop: () => {
      tick();
      clearInterval(timer);
      return peak;
    },
  };
}

const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n)
    ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : 'n/a';
const mb = (bytes: number): string => `${fmt(bytes / 1024 / 1024)} MB`;

function latencyLine(h: LatencyHist): string {
  return `p50 ${fmt(histPercentile(h, 50), 1)} ms, p99 ${fmt(histPercentile(h, 99), 1)} ms, max ${fmt(h.max, 1)} ms over ${fmt(h.count)} receipts (${fmt(h.missing)} never received)`;
}

function clientsLine(cs: ClientSummary[]): string {
  const dropped = cs.filter((c) => c.dropped);
  const codes = [...new Set(dropped.map((c) => c.closeCode))].join(', ');
  const gaps = cs.reduce((a, c) => a + c.gaps, 0);
  const gappy = cs.filter((c) => c.gaps > 0).length;
  const disorder = cs.reduce((a, c) => a + c.disorder, 0);
  const recv = cs.reduce((a, c) => a + c.received, 0);
  return `${fmt(cs.length)} clients, ${fmt(recv)} deltas received; seq gaps ${fmt(gaps)} (in ${fmt(gappy)} clients), out of order ${fmt(disorder)}; dropped ${fmt(dropped.length)}${dropped.length ? ` (close ${codes})` : ''}`;
}

function sippLine(r: SippResult): string {
  return `${fmt(r.createdPerS)} REG/s started, ${fmt(r.successfulPerS)} ok/s (${fmt(r.final.successful)} ok, ${fmt(r.final.failed)} failed in ${fmt(r.generationS, 1)} s)`;
}

// ---- the run -------------------------------------------------------------------------------------------

async function storm(pbx: ScalePbx, dir: string, csv: string): Promise<SippResult> {
  const reg = startSipp({
    dir,
    scenario: 'register',
    target: `127.0.0.1:${pbx.sipPort}`,
    injection: csv,
    localPort: await freePort(),
    rate: REG_RATE,
    maxCalls: REG_RATE * STORM_S,
    limit: REG_RATE * 5,
    timeoutS: STORM_S + 60,
  });
  return reg.done;
}

async function main(): Promise<void> {
  assertSipp();
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error('ws-fanout needs root (the scale PBX runs in the sandbox chroot)');
  }
  const started = now();
  console.log(
    `ws fan-out: ${fmt(CLIENTS)} /ws clients in ${PROCS} processes; ${fmt(N)} endpoints, SIPp ${fmt(REG_RATE)} REG/s for ${STORM_S} s; bare baseline ${BARE_LOAD ? 'under the same storm' : 'on an idle PBX'}`,
  );
  const pbx = await startScalePbx(N);
  let daemon: DaemonProcess | undefined;
  const pool = startClientPool(PROCS);
  const closers: (() => void | Promise<void>)[] = [() => pool.kill()];
  try {
    console.log(`scale PBX: ${fmt(N)} endpoints booted in ${fmt(pbx.bootMs)} ms`);
    daemon = await startDaemonProcess({
      config: (port) => `${scaleDaemonYaml(pbx, port)}\nauth: { viewerToken: ${VIEWER_TOKEN} }\n`,
    });
    console.log(`daemon pid ${daemon.pid} ready in ${fmt(daemon.startMs)} ms, RSS ${mb(daemon.rssBytes())}`);
    const ami = await amiProbe(pbx.amiPort, now);
    closers.push(() => ami.close());

    const dir = sippWorkDir('pbxpulse-bench-wsfanout-');
    const csv = writeInjectionCsv(
      dir,
      'users.csv',
      pbx.names.map((n) => [n, `pw${n}`, '3600']),
    );

    // The daemon answers ready before its first resync has listed 10k endpoints; a storm on top of that
    // would measure the resync. The viewers connect once the state is whole, so each snapshot is full-size.
    const resynced = await waitForEndpoints(daemon, N);
    console.log(`daemon state: ${fmt(resynced.endpoints)} endpoints after ${fmt(resynced.ms / 1000, 1)} s`);

    // ---- phase 1: pbxpulse
    const wsUrl = `${daemon.url.replace('http', 'ws')}/ws?token=${VIEWER_TOKEN}`;
    const daemonCpuConnect = cpuSampler(() => [daemon!.pid], 500);
    const conn = await pool.connect(wsUrl, CLIENTS, true);
    const connectCpu = daemonCpuConnect.stop();
    console.log(
      `pbxpulse: ${fmt(conn.ok)} clients connected (hello + snapshot) in ${fmt(conn.ms / 1000, 1)} s, daemon CPU ${fmt(connectCpu, 1)} s, ${fmt(conn.failed)} failed${conn.errors.length ? `: ${conn.errors.join('; ')}` : ''}; daemon RSS ${mb(daemon.rssBytes())}`,
    );
    if (conn.ok === 0) throw new Error('no /ws client connected to the daemon');
    await pool.record();
    const events0 = await amiEventsTotal(daemon);
    const cpu = cpuSampler(() => [daemon!.pid], 500);
    const clientCpu = cpuSampler(() => pool.pids, 500);
    const rss = rssPeakOf(daemon.pid);
    const t0 = now();
    const regResult = await storm(pbx, dir, csv);
    const stormS = (now() - t0) / 1000;
    // Answered once the daemon's event loop has worked through its backlog: how far behind it was.
    const events1 = await amiEventsTotal(daemon);
    const drainS = (now() - t0) / 1000 - stormS;
    // What is in flight lands (endpoint.updated is coalesced for 250 ms; the clients may be behind).
    const settle1 = await pool.settle(2000, DRAIN_MAX_S * 1000);
    const daemonCpu = cpu.stop();
    const phaseS = (now() - t0) / 1000;
    const clientsCpu1 = clientCpu.stop();
    const rssPeak = rss.stop();
    const p1 = await pool.stop();
    console.log(`pbxpulse phase: storm ${fmt(stormS, 1)} s, ${sippLine(regResult)}`);
    if (!p1.captured) throw new Error('the capturing client is gone');
    const m = matchDeltas(p1.captured.frames, ami.stamps);
    const eventTypes = [...new Set(m.typeOf.values())].sort();
    const h1 = await pool.measure({
      event: m.event,
      publish: m.publish,
      ...Object.fromEntries(
        eventTypes.map((t) => [`event ${t}`, m.event.filter(([seq]) => m.typeOf.get(seq) === t)]),
      ),
    });
    const publishAt = new Map(m.publish);
    fs.writeFileSync(
      path.join(dir, 'matched.tsv'),
      m.event
        .map(([seq, src]) =>
          [seq, m.typeOf.get(seq), src.toFixed(1), m.arrival.get(seq)?.toFixed(1), publishAt.get(seq)].join(
            '\t',
          ),
        )
        .join('\n') + '\n',
    );
    await pool.closeClients();

    // ---- phase 2: bare ws broadcast of the same frames, same spacing
    // The schedule is when the daemon published each delta (its `ts`), not when the capturing client got
    // it: a daemon that falls behind must not hand the baseline an easier, stretched-out load. Deltas of
    // one ms keep their order (`ts` has whole ms; a delta without one keeps its arrival).
    const frames = p1.captured.frames.map(([t, text]): [number, string] => {
      const ts = (JSON.parse(text) as DeltaLike).ts;
      return [ts ? Date.parse(ts) : t, text];
    });
    for (let i = 1; i < frames.length; i++) frames[i][0] = Math.max(frames[i][0], frames[i - 1][0]);
    const firstAt = frames[0]?.[0] ?? 0;
    const playFile = path.join(dir, 'bare-frames.json');
    fs.writeFileSync(playFile, JSON.stringify(frames.map(([t, text]) => [t - firstAt, text])));
    const bare = await startBareServer(p1.captured.hello, p1.captured.snapshot);
    closers.push(() => bare.stop());
    const conn2 = await pool.connect(bare.url, CLIENTS, false);
    console.log(
      `bare: ${fmt(conn2.ok)} clients connected in ${fmt(conn2.ms / 1000, 1)} s, ${fmt(conn2.failed)} failed`,
    );
    await pool.record();
    const bareCpu = cpuSampler(() => [bare.pid], 500);
    const clientCpu2 = cpuSampler(() => pool.pids, 500);
    // The same storm again, the daemon watching it with no /ws client: its AMI rate without the fan-out.
    const eventsIdle0 = await amiEventsTotal(daemon);
    const load = BARE_LOAD ? storm(pbx, dir, csv) : Promise.resolve(undefined);
    const { startAt, done } = await bare.play(playFile, 500);
    const played = await done;
    const loadResult = await load;
    const eventsIdle = (await amiEventsTotal(daemon)) - eventsIdle0;
    const settle2 = await pool.settle(2000, DRAIN_MAX_S * 1000);
    const bareCpuS = bareCpu.stop();
    const clientsCpu2 = clientCpu2.stop();
    const p2 = await pool.stop();
    // The bare frames' schedule: offset 0 at startAt. Measured on the same deltas as pbxpulse (those
    // carrying a stamped event), and on every delta.
    const scheduled = new Map<number, number>();
    for (const [t, text] of frames) {
      const seq = (JSON.parse(text) as DeltaLike).seq;
      if (seq !== undefined) scheduled.set(seq, startAt + (t - firstAt));
    }
    const h2 = await pool.measure({
      sameDeltas: m.event.map(([seq]) => [seq, scheduled.get(seq)!]),
      all: [...scheduled],
    });

    // ---- report
    const events = events1 - events0;
    const p99 = histPercentile(h1.event, 99);
    const bareP99 = histPercentile(h2.sameDeltas, 99);
    const rows: [string, string][] = [
      ['endpoints / clients', `${fmt(N)} / ${fmt(CLIENTS)} in ${PROCS} client processes`],
      ['REGISTER storm (pbxpulse phase)', sippLine(regResult)],
      [
        'AMI events to the daemon',
        `${fmt(events)} = ${fmt(events / regResult.generationS)}/s over SIPp's ${fmt(regResult.generationS, 1)} s of sending (${fmt(events / stormS)}/s over the ${fmt(stormS, 1)} s until it ended)`,
      ],
      [
        'same storm, daemon with no /ws client',
        loadResult
          ? `${sippLine(loadResult)}; ${fmt(eventsIdle)} AMI events = ${fmt(eventsIdle / loadResult.generationS)}/s`
          : 'not run (BENCH_BARE_LOAD=0)',
      ],
      ['snapshot per client', `${fmt(p1.captured.snapshot.length / 1024)} KiB`],
      [
        'daemon backlog after the storm',
        `/metrics answered ${fmt(drainS, 1)} s after SIPp ended; clients caught up (2 s quiet) ${fmt(settle1 / 1000, 1)} s after that (bare: ${fmt(settle2 / 1000, 1)} s after its last frame and the storm)`,
      ],
      [
        'deltas in the phase',
        `${fmt(m.deltas)} (${Object.entries(m.byType)
          .map(([k, v]) => `${k} ${fmt(v)}`)
          .join(', ')}) = ${fmt(m.deltas / stormS)}/s to each client`,
      ],
      [
        'contact changes stamped / shown',
        `${fmt(m.stampedEvents)} ContactStatus stamped, ${fmt(m.event.length)} deltas carry one, ${fmt(m.unmatchedEvents)} never shown`,
      ],
      ['pbxpulse event → client', latencyLine(h1.event)],
      ...eventTypes.map((t): [string, string] => [`  … by ${t}`, latencyLine(h1[`event ${t}`])]),
      ['pbxpulse publish (ts) → client', latencyLine(h1.publish)],
      ['pbxpulse clients', clientsLine(p1.clients)],
      ['bare send → client (same deltas)', latencyLine(h2.sameDeltas)],
      ['bare send → client (all deltas)', latencyLine(h2.all)],
      ['bare clients', clientsLine(p2.clients)],
      [
        'ratio p99 pbxpulse / bare',
        `${fmt(p99 / bareP99, 1)}× (event → client ${fmt(p99, 1)} ms / bare ${fmt(bareP99, 1)} ms); publish → client / bare: ${fmt(histPercentile(h1.publish, 99) / bareP99, 1)}×`,
      ],
      [
        'daemon CPU in the phase',
        `${fmt(daemonCpu, 1)} s over ${fmt(phaseS, 1)} s = ${fmt((daemonCpu / phaseS) * 100)}% of a core; connecting ${fmt(CLIENTS)} clients: ${fmt(connectCpu, 1)} s`,
      ],
      ['daemon RSS', `peak ${mb(rssPeak)} in the phase`],
      [
        'bare server CPU',
        `${fmt(bareCpuS, 1)} s; it sent ${fmt(played.sent)} frames, at most ${fmt(played.lateMaxMs, 1)} ms behind schedule`,
      ],
      [
        'client processes CPU',
        `${fmt(clientsCpu1, 1)} s pbxpulse phase, ${fmt(clientsCpu2, 1)} s bare phase`,
      ],
      ['run time', `${fmt((now() - started) / 1000)} s`],
    ];
    const w = Math.max(...rows.map(([k]) => k.length));
    console.log('');
    for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
    fs.writeFileSync(path.join(dir, 'result.txt'), rows.map(([k, v]) => `${k}\t${v}`).join('\n') + '\n');
    console.log(`\n(files: ${dir}; daemon log: ${daemon.logPath})`);
  } finally {
    for (const c of closers.reverse()) await c();
    await daemon?.stop();
    await pbx.stop();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});
