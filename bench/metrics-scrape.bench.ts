/* eslint-disable no-console -- a benchmark reports on stdout */
/**
 * `/metrics` on the sandbox's 10k-endpoint profile: pbxpulse's exporter (the real daemon in its own
 * process) against Asterisk's own `res_prometheus` on the same PBX in the same run: the median of
 * alternating scrapes of each, their sizes, the ratio, the daemon's RSS, and `promtool check metrics` on
 * pbxpulse's scrape. Before scraping, SIPp registers every endpoint once (digest auth), so the scrape is
 * of a PBX with 10k contacts, not of an idle configuration (BENCH_SCRAPE_REGISTER=0 skips it).
 *
 * Needs root (the scale PBX runs in the sandbox's chroot); one scale PBX at a time:
 * `flock /tmp/pbxpulse-scale.lock node dist-bench/bench/metrics-scrape.bench.js` (bench/run.mjs does).
 * Knobs: BENCH_ENDPOINTS (10000), BENCH_SCRAPES (15 of each).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { startDaemonProcess, waitSettled, type DaemonProcess } from './support/daemon-process';
import { registerAll, scaleDaemonYaml, startScalePbx } from './support/scale-pbx';

const N = Number(process.env.BENCH_ENDPOINTS ?? 10_000);
const SCRAPES = Number(process.env.BENCH_SCRAPES ?? 15);
const REGISTER = process.env.BENCH_SCRAPE_REGISTER !== '0';
const PROMTOOL = '/usr/bin/promtool';

interface Scrape {
  ms: number;
  bytes: number;
  lines: number;
  text: string;
}

async function scrape(url: string): Promise<Scrape> {
  const t = performance.now();
  const res = await fetch(url, { signal: AbortSignal.timeout(60_000) });
  const text = await res.text();
  const ms = performance.now() - t;
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${text.slice(0, 200)}`);
  let lines = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lines++;
  return { ms, bytes: Buffer.byteLength(text), lines, text };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const mb = (bytes: number): string => `${fmt(bytes / 1024 / 1024)} MB`;

async function main(): Promise<void> {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error('metrics-scrape needs root (the scale PBX runs in the sandbox chroot)');
  }
  const pbx = await startScalePbx(N);
  let daemon: DaemonProcess | undefined;
  try {
    daemon = await startDaemonProcess({ config: (port) => scaleDaemonYaml(pbx, port) });
    await waitSettled(daemon, 'scale', N);
    let registered = 'no (BENCH_SCRAPE_REGISTER=0)';
    if (REGISTER) {
      const r = await registerAll(pbx);
      registered = `${fmt(r.ok)}/${fmt(N)} endpoints registered by SIPp at ${fmt(r.perS)} REG/s`;
      await waitSettled(daemon, 'scale', N);
    }
    const pbxpulseUrl = `${daemon.url}/metrics`;
    // One warm-up each (first scrape compiles code paths / fills caches), then alternate, order flipping.
    await scrape(pbxpulseUrl);
    await scrape(pbx.resPrometheusUrl);
    const ours: Scrape[] = [];
    const theirs: Scrape[] = [];
    for (let i = 0; i < SCRAPES; i++) {
      if (i % 2 === 0) {
        ours.push(await scrape(pbxpulseUrl));
        theirs.push(await scrape(pbx.resPrometheusUrl));
      } else {
        theirs.push(await scrape(pbx.resPrometheusUrl));
        ours.push(await scrape(pbxpulseUrl));
      }
    }
    const rss = daemon.rssBytes();
    const last = ours[ours.length - 1];
    let promtool = `${PROMTOOL} not found (apt-get install prometheus)`;
    if (fs.existsSync(PROMTOOL)) {
      const r = spawnSync(PROMTOOL, ['check', 'metrics'], {
        input: last.text,
        encoding: 'utf8',
        maxBuffer: 64 << 20,
      });
      const out = `${r.stdout}${r.stderr}`.trim().split('\n').filter(Boolean);
      promtool =
        r.status === 0 && out.length === 0
          ? 'clean (exit 0, no findings)'
          : `exit ${String(r.status)}, ${out.length} finding(s)${out.length ? `: ${out.slice(0, 5).join(' | ')}` : ''}`;
    }
    const mOurs = median(ours.map((s) => s.ms));
    const mTheirs = median(theirs.map((s) => s.ms));
    const rows: [string, string][] = [
      ['endpoints (generated)', fmt(N)],
      ['contacts', registered],
      [
        'pbxpulse /metrics',
        `median ${fmt(mOurs, 1)} ms (min ${fmt(Math.min(...ours.map((s) => s.ms)), 1)}, max ${fmt(Math.max(...ours.map((s) => s.ms)), 1)}), ${fmt(last.lines)} lines, ${mb(last.bytes)}`,
      ],
      [
        'res_prometheus /metrics',
        `median ${fmt(mTheirs, 1)} ms (min ${fmt(Math.min(...theirs.map((s) => s.ms)), 1)}, max ${fmt(Math.max(...theirs.map((s) => s.ms)), 1)}), ${fmt(theirs[theirs.length - 1].lines)} lines, ${mb(theirs[theirs.length - 1].bytes)}`,
      ],
      [
        'ratio pbxpulse / res_prometheus',
        `${fmt(mOurs / mTheirs, 2)}x the time; per line ${fmt((mOurs / last.lines) * 1000, 2)} µs vs ${fmt((mTheirs / theirs[theirs.length - 1].lines) * 1000, 2)} µs`,
      ],
      ['scrapes', `${SCRAPES} of each, alternating, after one warm-up each`],
      ['daemon RSS after the scrapes', mb(rss)],
      ['promtool check metrics (pbxpulse)', promtool],
    ];
    const w = Math.max(...rows.map(([k]) => k.length));
    console.log('');
    for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
  } finally {
    await daemon?.stop();
    await pbx.stop();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});
