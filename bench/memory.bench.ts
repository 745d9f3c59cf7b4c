/* eslint-disable no-console -- a benchmark reports on stdout */
/**
 * Where the daemon's memory goes at 1k and 10k endpoints: the sandbox's scale profile (a real Asterisk
 * with N generated endpoints) watched by the real daemon in its own process. For each size: RSS and V8
 * heap once the resync and the first diagnosis are done (no contacts), the peak RSS on the way there,
 * the same after SIPp registered every endpoint, and a heap snapshot broken down by constructor. The
 * difference between the two sizes, divided by 9,000, is what one endpoint with one contact costs.
 * The daemon process at the same point with no PBX state is the baseline (an offline node).
 *
 * Needs root (the scale PBX runs in the sandbox's chroot); one scale PBX at a time:
 * `flock /tmp/pbxpulse-scale.lock node dist-bench/bench/memory.bench.js` (bench/run.mjs does).
 * Knobs: BENCH_MEMORY_SIZES (`1000,10000`), BENCH_MEMORY_SNAPSHOT=0 (no heap snapshot).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { heapBreakdown, type HeapBreakdown } from './support/heap-snapshot';
import { startDaemonProcess, waitSettled, type DaemonProcess } from './support/daemon-process';
import { registerAll, scaleDaemonYaml, startScalePbx } from './support/scale-pbx';

const SIZES = (process.env.BENCH_MEMORY_SIZES ?? '1000,10000').split(',').map(Number);
const SNAPSHOT = process.env.BENCH_MEMORY_SNAPSHOT !== '0';
const NODE = 'scale';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

interface Point {
  rss: number;
  heapUsed: number;
  heapTotal: number;
}

interface SizeResult {
  n: number;
  diagnosisMs: number;
  idle: Point;
  registered: Point;
  peakRss: number;
  peakHeapUsed: number;
  breakdown?: HeapBreakdown;
}

async function heapOf(daemon: DaemonProcess): Promise<{ heapUsed: number; heapTotal: number }> {
  const text = await (await fetch(`${daemon.url}/metrics`, { signal: AbortSignal.timeout(60_000) })).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return {
    heapUsed: value('nodejs_heap_size_used_bytes'),
    heapTotal: value('nodejs_heap_size_total_bytes'),
  };
}

async function point(daemon: DaemonProcess): Promise<Point> {
  // The state's floor: sampled for 30 s (the daemon collects an idle heap's garbage within ~20 s of
  // going quiet), keeping the lowest heap.
  let best: Point | undefined;
  for (let i = 0; i < 6; i++) {
    await sleep(5000);
    const p = { rss: daemon.rssBytes(), ...(await heapOf(daemon)) };
    if (!best || p.heapUsed < best.heapUsed) best = p;
  }
  return best!;
}

function lastByte(file: string): string {
  const fd = fs.openSync(file, 'r');
  try {
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, fs.fstatSync(fd).size - 1);
    return b.toString('latin1');
  } finally {
    fs.closeSync(fd);
  }
}

/** Sends SIGUSR2 (`--heapsnapshot-signal`) and waits for the file to be complete. */
async function snapshot(daemon: DaemonProcess, dir: string): Promise<string> {
  const before = new Set(fs.readdirSync(dir));
  process.kill(daemon.pid, 'SIGUSR2');
  const deadline = Date.now() + 120_000;
  for (;;) {
    await sleep(1000);
    const file = fs.readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    if (file) {
      // Written in chunks while the signal handler walks the heap: done when it ends its JSON object
      // and has stopped growing.
      const full = path.join(dir, file);
      for (let size = -1; ;) {
        await sleep(1000);
        const now = fs.statSync(full).size;
        if (now === size && now > 0 && lastByte(full) === '}') return full;
        size = now;
        if (Date.now() > deadline) throw new Error(`heap snapshot ${full} not complete after 120 s`);
      }
    }
    if (Date.now() > deadline) throw new Error(`no heap snapshot in ${dir} after 120 s`);
  }
}

async function measure(n: number): Promise<SizeResult> {
  const pbx = await startScalePbx(n);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pbxpulse-bench-memory-'));
  let daemon: DaemonProcess | undefined;
  let peakRss = 0;
  let peakHeapUsed = 0;
  let sampler: NodeJS.Timeout | undefined;
  let heapSampler: NodeJS.Timeout | undefined;
  try {
    daemon = await startDaemonProcess({
      config: (port) => scaleDaemonYaml(pbx, port),
      nodeArgs: ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${dir}`],
      waitFor: 'live',
    });
    const d = daemon;
    sampler = setInterval(() => (peakRss = Math.max(peakRss, d.rssBytes())), 50);
    heapSampler = setInterval(() => {
      heapOf(d)
        .then((h) => (peakHeapUsed = Math.max(peakHeapUsed, h.heapUsed)))
        .catch(() => undefined);
    }, 1000);
    await waitSettled(d, NODE, n);
    const diag = await fetch(`${d.url}/api/v1/nodes/${NODE}/diagnostics`, {
      signal: AbortSignal.timeout(600_000),
    });
    if (diag.status !== 200) throw new Error(`diagnostics: ${diag.status} ${await diag.text()}`);
    const diagnosisMs = ((await diag.json()) as { durationMs: number }).durationMs;
    await waitSettled(d, NODE, n);
    const idle = await point(d);
    const reg = await registerAll(pbx);
    if (reg.ok < n) console.log(`(SIPp registered ${reg.ok}/${n})`);
    await waitSettled(d, NODE, n);
    const registered = await point(d);
    clearInterval(sampler);
    clearInterval(heapSampler);
    let breakdown: HeapBreakdown | undefined;
    if (SNAPSHOT) {
      const file = await snapshot(d, dir);
      breakdown = heapBreakdown(file);
      fs.rmSync(file);
    }
    return { n, diagnosisMs, idle, registered, peakRss, peakHeapUsed, breakdown };
  } finally {
    clearInterval(sampler);
    clearInterval(heapSampler);
    await daemon?.stop();
    await pbx.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function report(r: SizeResult): void {
  const w = 42;
  console.log('');
  console.log(`--- ${r.n.toLocaleString('en-US')} endpoints`);
  const rows: [string, string][] = [
    ['diagnosis (durationMs of the API)', `${(r.diagnosisMs / 1000).toFixed(1)} s`],
    [
      'idle (0 contacts): RSS / heap used',
      `${mb(r.idle.rss)} / ${mb(r.idle.heapUsed)} (heap total ${mb(r.idle.heapTotal)})`,
    ],
    [
      `${r.n} contacts: RSS / heap used`,
      `${mb(r.registered.rss)} / ${mb(r.registered.heapUsed)} (heap total ${mb(r.registered.heapTotal)})`,
    ],
    ['peak RSS / peak heap used (sampled)', `${mb(r.peakRss)} / ${mb(r.peakHeapUsed)}`],
  ];
  for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
  if (r.breakdown) {
    console.log(
      `heap snapshot: ${mb(r.breakdown.totalBytes)} in ${r.breakdown.nodes.toLocaleString('en-US')} nodes; heaviest:`,
    );
    for (const row of r.breakdown.byKind)
      console.log(`  ${mb(row.bytes).padStart(7)} ${String(row.count).padStart(9)}  ${row.what}`);
    console.log('  heaviest strings by their start:');
    for (const row of r.breakdown.strings)
      console.log(`  ${mb(row.bytes).padStart(7)} ${String(row.count).padStart(9)}  ${row.what}`);
  }
}

async function main(): Promise<void> {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error('memory needs root (the scale PBX runs in the sandbox chroot)');
  }
  const results: SizeResult[] = [];
  for (const n of SIZES) {
    const r = await measure(n);
    results.push(r);
    report(r);
  }
  if (results.length >= 2) {
    const [a, b] = [results[0], results[results.length - 1]];
    const per = (x: number, y: number) => ((y - x) / (b.n - a.n)).toFixed(0);
    console.log('');
    console.log(
      `per endpoint (${a.n} → ${b.n}): idle heap ${per(a.idle.heapUsed, b.idle.heapUsed)} B, ` +
        `with one contact ${per(a.registered.heapUsed, b.registered.heapUsed)} B of heap, ` +
        `${per(a.registered.rss, b.registered.rss)} B of RSS`,
    );
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});
