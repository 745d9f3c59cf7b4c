/* eslint-disable no-console -- a benchmark reports on stdout */
/**
 * A simulated fleet: one daemon watching 50 nodes of 1,000 endpoints each, every node an AMI session
 * to a multi-port simulator (bench/support/ami-simulator.ts) that replays what a real Asterisk answered.
 *
 * Record: the sandbox's scale profile (bench/support/scale-pbx.ts) with 1,000 generated endpoints, every
 * one registered once by SIPp (so the recording has contacts), watched by the real daemon through the
 * recording proxy until its login + resync exchange, the diagnostics that follow it and one
 * reconciliation poll have gone by (each time until it sends nothing for 2 s); the
 * recording (and the PBX's real `GET /ari/asterisk/info`) is cached in /tmp, keyed by the endpoint count
 * and the sources that decide what the daemon asks (BENCH_FLEET_RERECORD=1 records afresh).
 *
 * Replay: the simulator on 50 free ports, the daemon (its own process) with nodes node01…node50. ARI is
 * required per node and readiness needs it, so every node's ARI points at a small ARI simulator
 * (bench/support/ari-simulator.ts: the events WebSocket plus the recorded `asterisk/info`) rather than
 * at nothing (50 reconnect loops, readiness 503 for ever) or at a real Asterisk (it would have to stay up
 * and hold 50 ARI apps, and the benchmark is about the AMI resync).
 *
 * Figures: spawn → all 50 resynced (each node's `lastResync.ami` from `/api/v1/nodes`, the daemon's own
 * clock); per node, simulator accept → resynced; the daemon's CPU; RSS peak during the resync and
 * min/max over a few idle seconds after it, and again after a full GC forced through node's inspector
 * (loopback, free port); `nodejs_heap_size_used_bytes`; one `/metrics` scrape; then
 * every simulator connection dropped at once and the same figures for the reconnect resync. Also what
 * the simulators answered Error/404 for (not recorded). Targets (the "scale" issue): RSS < 400 MB,
 * resync of all 50 within 10 s; printed beside the figures, never asserted.
 *
 * Recording needs root (the scale PBX runs in the sandbox's chroot) and SIPp, one scale PBX at a time:
 * bench/run.mjs runs it under `flock /tmp/pbxpulse-scale.lock`. Knobs: BENCH_FLEET_NODES (50),
 * BENCH_FLEET_ENDPOINTS (1000), BENCH_FLEET_RERECORD (0), BENCH_FLEET_NODE_ARGS (extra node arguments for
 * the replayed daemon, e.g. `--max-old-space-size=384`), BENCH_FLEET_PROF (a directory: the daemon runs
 * with --cpu-prof and --heap-prof and writes both profiles there when it stops).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { freePort } from '../test/support/prometheus-server';
import { AmiSimulator, recordAmiProxy, type AmiRecording } from './support/ami-simulator';
import { AriSimulator } from './support/ari-simulator';
import {
  ensureDaemonBuilt,
  processRssBytes,
  startDaemonProcess,
  type DaemonProcess,
} from './support/daemon-process';
import { SCALE_AMI, SCALE_ARI, startScalePbx, type ScalePbx } from './support/scale-pbx';
import { assertSipp, sippWorkDir, startSipp, writeInjectionCsv } from './support/sipp';

const NODES = Number(process.env.BENCH_FLEET_NODES ?? 50);
const ENDPOINTS = Number(process.env.BENCH_FLEET_ENDPOINTS ?? 1000);
const RERECORD = process.env.BENCH_FLEET_RERECORD === '1';
/** Extra node arguments for the replayed daemon, e.g. `--max-old-space-size=384`. */
const DAEMON_NODE_ARGS = (process.env.BENCH_FLEET_NODE_ARGS ?? '').split(' ').filter(Boolean);
const TARGET_RSS_MB = 400;
const TARGET_RESYNC_S = 10;
/** The recording daemon's reconciliation poll: short, so one poll is recorded too. */
const RECORD_RECONCILE_MS = 10_000;
/** The daemon counts as quiet once it sent no action (other than Ping) for this long. */
const QUIET_MS = 2000;
/**
 * RSS is sampled this long once the daemon is quiet: long enough for its idle-heap collection (a check
 * every 10 s, on a loop that was mostly idle since the previous one) to have run.
 */
const IDLE_MS = 30_000;
/** RSS is sampled this long after the forced GC. */
const GC_SAMPLE_MS = 3000;
/** Bound on every wait for resyncs. */
const RESYNC_DEADLINE_MS = 180_000;
const REPO_ROOT = path.resolve(__dirname, '..', ...(__dirname.includes('dist-bench') ? ['..'] : []));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n)
    ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : 'n/a';
const mb = (bytes: number): string => `${fmt(bytes / 1024 / 1024)} MB`;
const nodeName = (i: number): string => `node${String(i + 1).padStart(2, '0')}`;

// ---- recording ---------------------------------------------------------------------------------------

interface Recorded {
  recording: AmiRecording;
  /** The real Asterisk's `GET /ari/asterisk/info` body. */
  asteriskInfo: unknown;
  endpoints: number;
  /** Contacts the recorded daemon listed after its resync. */
  contacts: number;
  recordedAt: string;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts')) out.push(p);
  }
  return out.sort();
}

/** What decides the recorded exchange: the endpoint count, the daemon's sources (the adapter, the state
 * layer, the diagnostics all send actions), the PBX profile and the recorder. */
function cacheFile(): string {
  const h = createHash('sha1').update(`endpoints=${ENDPOINTS}\n`);
  for (const f of [
    ...sourceFiles(path.join(REPO_ROOT, 'src')),
    path.join(REPO_ROOT, 'bench', 'support', 'scale-pbx.ts'),
    path.join(REPO_ROOT, 'bench', 'support', 'ami-simulator.ts'),
  ]) {
    h.update(f).update(fs.readFileSync(f));
  }
  return path.join(os.tmpdir(), `pbxpulse-fleet-recording-${ENDPOINTS}-${h.digest('hex').slice(0, 12)}.json`);
}

interface NodeApiView {
  name: string;
  ready: boolean;
  lastResync: { ami: string | null; ari: string | null };
}

async function nodesView(daemon: DaemonProcess): Promise<NodeApiView[]> {
  const res = await fetch(`${daemon.url}/api/v1/nodes`, { signal: AbortSignal.timeout(30_000) });
  if (res.status !== 200) throw new Error(`GET /api/v1/nodes: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { nodes: NodeApiView[] }).nodes;
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(60_000) });
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/**
 * Polls `/api/v1/nodes` until every node's AMI resync completed after `after` (epoch ms); resolves
 * node → that resync's time (the daemon's clock). Bounded by RESYNC_DEADLINE_MS.
 */
async function waitResynced(daemon: DaemonProcess, after: number): Promise<Map<string, number>> {
  const deadline = Date.now() + RESYNC_DEADLINE_MS;
  for (;;) {
    assertAlive(daemon);
    const nodes = await nodesView(daemon).catch(() => [] as NodeApiView[]);
    const done = new Map<string, number>();
    for (const n of nodes) {
      const t = n.lastResync.ami === null ? NaN : Date.parse(n.lastResync.ami);
      if (t >= after) done.set(n.name, t);
    }
    if (nodes.length > 0 && done.size === nodes.length) return done;
    if (Date.now() > deadline) {
      throw new Error(
        `only ${done.size}/${nodes.length} nodes resynced within ${RESYNC_DEADLINE_MS} ms; see ${daemon.logPath}`,
      );
    }
    await sleep(100);
  }
}

/** A daemon that died (an out-of-memory abort, say) is a hard failure, with its last log lines. */
function assertAlive(daemon: DaemonProcess): void {
  if (fs.existsSync(`/proc/${daemon.pid}`)) return;
  const tail = fs.readFileSync(daemon.logPath, 'utf8').split('\n').slice(-15).join('\n');
  throw new Error(`the daemon (pid ${daemon.pid}) exited; the end of ${daemon.logPath}:\n${tail}`);
}

async function cliContactCount(pbx: ScalePbx): Promise<number> {
  const text = await pbx.cli('pjsip show contacts', 60_000);
  return text.split('\n').filter((l) => /^\s*Contact:\s+[^<\s][^/\s]*\/\S+\s/.test(l)).length;
}

async function record(): Promise<Recorded> {
  assertSipp();
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error('recording needs root (the scale PBX runs in the sandbox chroot)');
  }
  const t0 = performance.now();
  const pbx = await startScalePbx(ENDPOINTS);
  let daemon: DaemonProcess | undefined;
  let proxy: Awaited<ReturnType<typeof recordAmiProxy>> | undefined;
  try {
    console.log(`record: scale PBX with ${fmt(ENDPOINTS)} endpoints booted in ${fmt(pbx.bootMs)} ms`);
    const dir = sippWorkDir('pbxpulse-bench-fleet-');
    const users = writeInjectionCsv(
      dir,
      'users.csv',
      pbx.names.map((n) => [n, `pw${n}`, '3600']),
    );
    const reg = await startSipp({
      dir,
      scenario: 'register',
      target: `127.0.0.1:${pbx.sipPort}`,
      injection: users,
      localPort: await freePort(),
      rate: 500,
      maxCalls: ENDPOINTS,
      limit: 500,
      timeoutS: 120,
    }).done;
    const contacts = await cliContactCount(pbx);
    console.log(
      `record: SIPp registered ${fmt(reg.final.successful)}/${fmt(ENDPOINTS)} (${fmt(reg.final.failed)} failed); Asterisk lists ${fmt(contacts)} contacts`,
    );
    proxy = await recordAmiProxy({ host: '127.0.0.1', port: pbx.amiPort }, [
      SCALE_AMI.secret,
      SCALE_ARI.password,
    ]);
    const amiPort = proxy.port;
    daemon = await startDaemonProcess({
      config: (port) =>
        [
          `http: { host: 127.0.0.1, port: ${port} }`,
          'log: { level: warn }',
          `state: { reconcileIntervalMs: ${RECORD_RECONCILE_MS} }`,
          'nodes:',
          '  - name: scale',
          `    ami: { host: 127.0.0.1, port: ${amiPort}, username: ${SCALE_AMI.user}, secret: ${SCALE_AMI.secret} }`,
          `    ari: { url: "http://127.0.0.1:${pbx.httpPort}", username: ${SCALE_ARI.user}, password: ${SCALE_ARI.password} }`,
        ].join('\n'),
    });
    const resynced = await waitResynced(daemon, 0);
    console.log(
      `record: the daemon resynced through the proxy ${fmt((resynced.get('scale') ?? NaN) - daemon.spawnedAt)} ms after spawn`,
    );
    // What follows a resync (the diagnostics), then one reconciliation poll, each until the daemon is quiet.
    const p = proxy;
    const quiet = async (what: string): Promise<void> => {
      const deadline = Date.now() + RESYNC_DEADLINE_MS;
      while (Date.now() - p.lastClientActionAt < QUIET_MS) {
        if (Date.now() > deadline) throw new Error(`record: the daemon did not go quiet after ${what}`);
        await sleep(100);
      }
    };
    await quiet('its resync');
    const before = p.clientActions;
    const pollBy = Date.now() + RECORD_RECONCILE_MS * 3;
    while (p.clientActions === before && Date.now() < pollBy) await sleep(100);
    if (p.clientActions === before) throw new Error('record: no reconciliation poll was seen');
    await quiet('its reconciliation poll');
    const listed = await getJson<{ contacts: unknown[] }>(`${daemon.url}/api/v1/nodes/scale/contacts`);
    const auth = Buffer.from(`${SCALE_ARI.user}:${SCALE_ARI.password}`).toString('base64');
    const infoRes = await fetch(`http://127.0.0.1:${pbx.httpPort}/ari/asterisk/info`, {
      headers: { Authorization: `Basic ${auth}` },
      signal: AbortSignal.timeout(10_000),
    });
    if (infoRes.status !== 200) throw new Error(`GET /ari/asterisk/info: ${infoRes.status}`);
    const asteriskInfo = await infoRes.json();
    const recording = proxy.recording();
    console.log(
      `record: ${fmt(recording.order.length)} distinct actions, ${fmt(proxy.answeredFrames)} answer frames, in ${fmt((performance.now() - t0) / 1000, 1)} s`,
    );
    return {
      recording,
      asteriskInfo,
      endpoints: ENDPOINTS,
      contacts: listed.contacts.length,
      recordedAt: new Date().toISOString(),
    };
  } finally {
    await daemon?.stop();
    await proxy?.close();
    await pbx.stop();
  }
}

async function loadOrRecord(): Promise<Recorded> {
  const file = cacheFile();
  if (!RERECORD && fs.existsSync(file)) {
    console.log(`record: using the cached recording ${file} (BENCH_FLEET_RERECORD=1 records afresh)`);
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Recorded;
  }
  const rec = await record();
  fs.writeFileSync(file, JSON.stringify(rec), { mode: 0o600 });
  return rec;
}

/** Action name → number of distinct recorded keys (e.g. PJSIPShowEndpoint → 1000). */
function actionSummary(rec: AmiRecording): string {
  const by = new Map<string, number>();
  for (const key of rec.order) {
    const name = key.split('|')[0];
    by.set(name, (by.get(name) ?? 0) + 1);
  }
  return [...by].map(([k, v]) => (v === 1 ? k : `${k} ×${fmt(v)}`)).join(', ');
}

// ---- replay ------------------------------------------------------------------------------------------

function fleetYaml(httpPort: number, amiPorts: readonly number[], ariUrl: string): string {
  const lines = [`http: { host: 127.0.0.1, port: ${httpPort} }`, 'log: { level: log }', 'nodes:'];
  amiPorts.forEach((port, i) => {
    lines.push(
      `  - name: ${nodeName(i)}`,
      `    ami: { host: 127.0.0.1, port: ${port}, username: bench, secret: fleet-bench-secret }`,
      `    ari: { url: "${ariUrl}", username: bench, password: fleet-bench-secret }`,
    );
  });
  return lines.join('\n');
}

/** Samples the daemon's RSS every `everyMs` until stopped; keeps min and max. */
function rssSampler(pid: number, everyMs: number): { stop: () => { min: number; max: number } } {
  let min = Infinity;
  let max = 0;
  const tick = (): void => {
    try {
      const v = processRssBytes(pid);
      min = Math.min(min, v);
      max = Math.max(max, v);
    } catch {
      // exited
    }
  };
  tick();
  const timer = setInterval(tick, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      tick();
      return { min, max };
    },
  };
}

function metricValue(text: string, name: string): number {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

async function scrape(daemon: DaemonProcess): Promise<{ ms: number; bytes: number; text: string }> {
  const t = performance.now();
  const res = await fetch(`${daemon.url}/metrics`, { signal: AbortSignal.timeout(60_000) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET /metrics: ${res.status}`);
  return { ms: performance.now() - t, bytes: Buffer.byteLength(text), text };
}

interface Round {
  /** From `from` (spawn or drop) until the last node resynced. */
  allMs: number;
  /** Per node: simulator accept → resynced. */
  perNode: number[];
  /** Per node: `from` → simulator accept (connect + backoff). */
  toAccept: number[];
  /** Daemon CPU from `from` until all resynced. */
  cpuResyncS: number;
  /** From `from` until the daemon's last action before going quiet (the diagnostics after each resync). */
  quietMs: number;
  /** Daemon CPU from `from` until quiet. */
  cpuQuietS: number;
  /** Actions the simulator answered in the round (Ping included). */
  actions: number;
  rssPeak: number;
  idleRss: { min: number; max: number };
  /** RSS and heap after a full GC forced through the inspector. */
  gcRss: { min: number; max: number };
  gcHeapUsed: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  scrape: { ms: number; bytes: number };
}

const sortNum = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);
const pct = (sorted: number[], p: number): number =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/** Resolves with the time of the last non-Ping action once none came for QUIET_MS (bounded). */
async function waitQuiet(d: DaemonProcess, ami: AmiSimulator, from: number): Promise<number> {
  const deadline = Date.now() + RESYNC_DEADLINE_MS;
  for (;;) {
    const last = ami.stats.lastActionAt;
    assertAlive(d);
    if (last >= from && Date.now() - last >= QUIET_MS) return last;
    if (Date.now() > deadline) throw new Error(`the daemon did not go quiet within ${RESYNC_DEADLINE_MS} ms`);
    await sleep(100);
  }
}

/**
 * One round: from `from` (spawn, or the moment every connection was dropped) until all nodes resynced,
 * then until the daemon stopped sending actions, then a few idle seconds of RSS and one scrape.
 */
async function measureRound(
  d: DaemonProcess,
  ami: AmiSimulator,
  accepted: Map<number, number>,
  from: number,
  cpu0: number,
): Promise<Round> {
  const actions0 = ami.stats.actions;
  const peak = { rss: 0 };
  const peakTimer = setInterval(() => {
    try {
      peak.rss = Math.max(peak.rss, d.rssBytes());
    } catch {
      // exited
    }
  }, 100);
  let resynced: Map<string, number>;
  let quietAt: number;
  let cpuResyncS: number;
  try {
    resynced = await waitResynced(d, from);
    cpuResyncS = d.cpu().seconds - cpu0;
    quietAt = await waitQuiet(d, ami, from);
  } finally {
    clearInterval(peakTimer);
  }
  assertAlive(d);
  const cpuQuietS = d.cpu().seconds - cpu0;
  const actions = ami.stats.actions - actions0;
  const idle = rssSampler(d.pid, 250);
  await sleep(IDLE_MS);
  const idleRss = idle.stop();
  const s = await scrape(d);
  await d.collectGarbage();
  await sleep(500);
  const afterGc = rssSampler(d.pid, 250);
  await sleep(GC_SAMPLE_MS);
  const gcRss = afterGc.stop();
  const s2 = await scrape(d);
  const perNode: number[] = [];
  const toAccept: number[] = [];
  ami.ports.forEach((port, i) => {
    const done = resynced.get(nodeName(i)) ?? NaN;
    const acc = accepted.get(port) ?? NaN;
    perNode.push(done - acc);
    toAccept.push(acc - from);
  });
  return {
    allMs: Math.max(...resynced.values()) - from,
    perNode: sortNum(perNode),
    toAccept: sortNum(toAccept),
    cpuResyncS,
    quietMs: quietAt - from,
    cpuQuietS,
    actions,
    rssPeak: Math.max(peak.rss, idleRss.max),
    idleRss,
    gcRss,
    gcHeapUsed: metricValue(s2.text, 'nodejs_heap_size_used_bytes'),
    heapUsed: metricValue(s.text, 'nodejs_heap_size_used_bytes'),
    heapTotal: metricValue(s.text, 'nodejs_heap_size_total_bytes'),
    external: metricValue(s.text, 'nodejs_external_memory_bytes'),
    scrape: { ms: s.ms, bytes: s.bytes },
  };
}

function roundRows(label: string, r: Round): [string, string][] {
  const last = r.perNode[r.perNode.length - 1];
  return [
    [
      `${label}: all ${NODES} resynced`,
      `${fmt(r.allMs / 1000, 2)} s (target < ${TARGET_RESYNC_S} s: ${r.allMs < TARGET_RESYNC_S * 1000 ? 'met' : 'MISSED'}); daemon CPU ${fmt(r.cpuResyncS, 1)} s`,
    ],
    [
      `${label}: accept → resynced per node`,
      `min ${fmt(r.perNode[0] / 1000, 2)} s, p50 ${fmt(pct(r.perNode, 50) / 1000, 2)} s, max ${fmt(last / 1000, 2)} s`,
    ],
    [
      `${label}: start → simulator accept`,
      `min ${fmt(r.toAccept[0])} ms, max ${fmt(r.toAccept[r.toAccept.length - 1])} ms`,
    ],
    [
      `${label}: until the daemon went quiet`,
      `${fmt(r.quietMs / 1000, 2)} s (resync + diagnostics: ${fmt(r.actions)} actions); daemon CPU ${fmt(r.cpuQuietS, 1)} s`,
    ],
    [
      `${label}: daemon RSS`,
      `peak ${mb(r.rssPeak)}; idle ${fmt(IDLE_MS / 1000)} s after quiet: min ${mb(r.idleRss.min)}, max ${mb(r.idleRss.max)} (target < ${TARGET_RSS_MB} MB, on the settled min: ${r.idleRss.min < TARGET_RSS_MB * 1024 * 1024 ? 'met' : 'MISSED'})`,
    ],
    [
      `${label}: daemon heap (idle)`,
      `used ${mb(r.heapUsed)} (${fmt(r.heapUsed / (NODES * ENDPOINTS))} B per endpoint), total ${mb(r.heapTotal)}, external ${mb(r.external)}`,
    ],
    [
      `${label}: after a forced full GC`,
      `RSS min ${mb(r.gcRss.min)}, max ${mb(r.gcRss.max)} (target: ${r.gcRss.max < TARGET_RSS_MB * 1024 * 1024 ? 'met' : 'MISSED'}); heap used ${mb(r.gcHeapUsed)} (${fmt(r.gcHeapUsed / (NODES * ENDPOINTS))} B per endpoint)`,
    ],
    [`${label}: one /metrics scrape`, `${fmt(r.scrape.ms)} ms, ${mb(r.scrape.bytes)}`],
  ];
}

async function main(): Promise<void> {
  const load0 = os.loadavg()[0];
  console.log(
    `fleet: ${NODES} simulated nodes × ${fmt(ENDPOINTS)} endpoints (${os.cpus().length} cores, load ${fmt(load0, 2)})${DAEMON_NODE_ARGS.length > 0 ? `, daemon node ${DAEMON_NODE_ARGS.join(' ')}` : ''}`,
  );
  const rec = await loadOrRecord();
  console.log(
    `record: ${actionSummary(rec.recording)}; ${fmt(rec.contacts)} contacts (recorded ${rec.recordedAt})`,
  );
  ensureDaemonBuilt();

  const accepted = new Map<number, number>();
  const ami = await AmiSimulator.start({
    recording: rec.recording,
    ports: NODES,
    onLogin: (s) => accepted.set(s.port, s.acceptedAt),
  });
  const ari = await AriSimulator.start(rec.asteriskInfo);
  let daemon: DaemonProcess | undefined;
  try {
    const profDir = process.env.BENCH_FLEET_PROF;
    daemon = await startDaemonProcess({
      config: (port) => fleetYaml(port, ami.ports, ari.url),
      waitFor: 'live',
      inspector: true,
      nodeArgs: [
        ...DAEMON_NODE_ARGS,
        ...(profDir
          ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`, '--heap-prof', `--heap-prof-dir=${profDir}`]
          : []),
      ],
    });
    const d = daemon;
    const cold = await measureRound(d, ami, accepted, d.spawnedAt, 0);

    // Correctness of the replay: the first and last node list what the real PBX had.
    const check: string[] = [];
    for (const n of [nodeName(0), nodeName(NODES - 1)]) {
      const eps = await getJson<{ endpoints: unknown[] }>(`${d.url}/api/v1/nodes/${n}/endpoints`);
      const cts = await getJson<{ contacts: unknown[] }>(`${d.url}/api/v1/nodes/${n}/contacts`);
      check.push(`${n}: ${fmt(eps.endpoints.length)} endpoints, ${fmt(cts.contacts.length)} contacts`);
    }
    const readyRes = await fetch(`${d.url}/health/ready`, { signal: AbortSignal.timeout(30_000) });
    await readyRes.body?.cancel();

    // Reconnect: every simulator connection dropped at once.
    const cpu0 = d.cpu().seconds;
    const dropAt = Date.now();
    for (const s of [...ami.sessions]) s.socket.destroy();
    const warm = await measureRound(d, ami, accepted, dropAt, cpu0);

    const unknownAmi = Object.entries(ami.stats.unknown);
    const unknownAri = Object.entries(ari.stats.unknown);
    const rows: [string, string][] = [
      ['fleet', `${NODES} nodes × ${fmt(ENDPOINTS)} endpoints, ${fmt(rec.contacts)} contacts each`],
      ['replayed state (check)', check.join('; ')],
      ['/health/ready after the resync', String(readyRes.status)],
      ...roundRows('cold start (from spawn)', cold),
      ...roundRows(`reconnect (all ${NODES} dropped)`, warm),
      [
        'AMI simulator',
        `${fmt(ami.stats.logins)} logins, ${fmt(ami.stats.actions)} actions; Error (not recorded): ${unknownAmi.length === 0 ? 'none' : unknownAmi.map(([k, v]) => `${k} ×${v}`).join(', ')}`,
      ],
      [
        'ARI simulator',
        `${fmt(ari.stats.sockets)} event sockets, ${fmt(ari.stats.requests)} requests; 404 (not simulated): ${unknownAri.length === 0 ? 'none' : unknownAri.map(([k, v]) => `${k} ×${v}`).join(', ')}`,
      ],
      ['machine load (1 min) at start / end', `${fmt(load0, 2)} / ${fmt(os.loadavg()[0], 2)}`],
    ];
    const w = Math.max(...rows.map(([k]) => k.length));
    console.log('');
    for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
    console.log(`\n(daemon log: ${d.logPath})`);
  } finally {
    await daemon?.stop();
    await ami.close();
    await ari.close();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});
