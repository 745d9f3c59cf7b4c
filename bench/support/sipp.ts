/**
 * SIPp (Debian's `sip-tester`, /usr/bin/sipp 3.6) driven from a benchmark: the scenarios in
 * bench/support/sipp/*.xml are copied into a temp dir next to an injection CSV written by the benchmark
 * (and, for calls, a generated u-law tone that SIPp's rtp_stream plays), SIPp runs there, and its own
 * statistics file (`-trace_stat`, one line a second) gives what it achieved.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const SIPP_BIN = '/usr/bin/sipp';
const REPO_ROOT = path.resolve(__dirname, '..', '..', ...(__dirname.includes('dist-bench') ? ['..'] : []));
const SCENARIOS = path.join(REPO_ROOT, 'bench', 'support', 'sipp');

export type SippScenario = 'register' | 'echo-call';

export function assertSipp(): void {
  if (!fs.existsSync(SIPP_BIN)) {
    throw new Error(`${SIPP_BIN} not found: install SIPp (apt-get install sip-tester; .ci/run does it)`);
  }
}

/** A fresh working directory with the scenarios and the tone (tone.ulaw) in it. */
export function sippWorkDir(prefix = 'pbxpulse-bench-sipp-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  for (const f of fs.readdirSync(SCENARIOS).filter((n) => n.endsWith('.xml'))) {
    fs.copyFileSync(path.join(SCENARIOS, f), path.join(dir, f));
  }
  fs.writeFileSync(path.join(dir, 'tone.ulaw'), ulawTone(1, 440));
  return dir;
}

/**
 * An injection file: `SEQUENTIAL` (SIPp walks it line by line and wraps around), one `;`-separated line
 * per row.
 */
export function writeInjectionCsv(dir: string, name: string, rows: readonly (readonly string[])[]): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, ['SEQUENTIAL', ...rows.map((r) => r.join(';'))].join('\n') + '\n');
  return file;
}

/** G.711 u-law encoding of one 16-bit linear sample (ITU-T G.711, as in Sun's g711.c). */
function linearToUlaw(sample: number): number {
  const BIAS = 0x84;
  const CLIP = 32635;
  let s = Math.max(-32768, Math.min(32767, Math.round(sample)));
  const sign = s < 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  if (s > CLIP) s = CLIP;
  s += BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

/** `seconds` of a sine at `hz`, 8 kHz u-law, headerless: what rtp_stream sends with payload type 0. */
export function ulawTone(seconds: number, hz: number): Buffer {
  const n = Math.round(seconds * 8000);
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = linearToUlaw(8000 * Math.sin((2 * Math.PI * hz * i) / 8000));
  return out;
}

export interface SippRunOptions {
  dir: string;
  scenario: SippScenario;
  /** host:port of the SIP server. */
  target: string;
  injection: string;
  localPort: number;
  /** New calls (for `register`: registrations) per second. */
  rate: number;
  /** Stop after this many calls. */
  maxCalls: number;
  /** Most calls in progress at a time. */
  limit: number;
  /** The `<pause/>` length (the call's hold time), ms. */
  pauseMs?: number;
  /** SIPp quits after this many seconds whatever happened. */
  timeoutS: number;
  /** Extra SIPp arguments. */
  extra?: string[];
}

/** One line of SIPp's statistics file, the fields a benchmark reads. */
export interface SippStats {
  elapsedS: number;
  created: number;
  current: number;
  successful: number;
  failed: number;
  retransmissions: number;
  failedMaxUdpRetrans: number;
  failedUnexpected: number;
  failedRejected: number;
  failedTimeout: number;
}

export interface SippResult {
  exitCode: number | null;
  /** Every per-second line. */
  series: SippStats[];
  final: SippStats;
  /** Seconds from start until the last call was created (the generation phase). */
  generationS: number;
  /** Calls created per second over the generation phase. */
  createdPerS: number;
  /** Successful calls (all of them, also those that ended after the generation phase) per second of it. */
  successfulPerS: number;
  statFile: string;
  logFile: string;
}

export interface SippRun {
  readonly pid: number;
  readonly done: Promise<SippResult>;
  /** SIGUSR1 = SIPp's soft quit (no new calls, the running ones finish); SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<SippResult>;
}

/** "HH:MM:SS:uuuuuu" (or with milliseconds) → seconds. */
function parseElapsed(v: string): number {
  const parts = v.split(':');
  if (parts.length < 3) return Number(v);
  const [h, m, s, frac = '0'] = parts;
  return Number(h) * 3600 + Number(m) * 60 + Number(s) + Number(frac) / 10 ** frac.length;
}

export function parseSippStats(text: string): SippStats[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines.length < 2) return [];
  const header = lines[0].split(';');
  const col = (name: string): number => header.indexOf(name);
  const idx = {
    elapsed: col('ElapsedTime(C)'),
    created: col('TotalCallCreated'),
    current: col('CurrentCall'),
    successful: col('SuccessfulCall(C)'),
    failed: col('FailedCall(C)'),
    retrans: col('Retransmissions(C)'),
    maxUdp: col('FailedMaxUDPRetrans(C)'),
    unexpected: col('FailedUnexpectedMessage(C)'),
    rejected: col('FailedCallRejected(C)'),
    timeout: col('FailedTimeoutOnRecv(C)'),
  };
  if (idx.elapsed < 0 || idx.successful < 0) throw new Error(`unexpected SIPp stat header: ${lines[0]}`);
  const num = (f: string[], i: number): number => (i < 0 ? 0 : Number(f[i] ?? 0) || 0);
  return lines.slice(1).map((line) => {
    const f = line.split(';');
    return {
      elapsedS: parseElapsed(f[idx.elapsed] ?? '0'),
      created: num(f, idx.created),
      current: num(f, idx.current),
      successful: num(f, idx.successful),
      failed: num(f, idx.failed),
      retransmissions: num(f, idx.retrans),
      failedMaxUdpRetrans: num(f, idx.maxUdp),
      failedUnexpected: num(f, idx.unexpected),
      failedRejected: num(f, idx.rejected),
      failedTimeout: num(f, idx.timeout),
    };
  });
}

function summarise(
  series: SippStats[],
  exitCode: number | null,
  statFile: string,
  logFile: string,
): SippResult {
  const last = series[series.length - 1];
  if (!last) {
    const tail = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').slice(-2000) : '';
    throw new Error(
      `SIPp (exit ${String(exitCode)}) wrote no statistics (${statFile}); its output:\n${tail}`,
    );
  }
  const firstAtTotal = series.find((s) => s.created === last.created) ?? last;
  const generationS = Math.max(firstAtTotal.elapsedS, 1e-3);
  return {
    exitCode,
    series,
    final: last,
    generationS,
    createdPerS: last.created / generationS,
    successfulPerS: last.successful / generationS,
    statFile,
    logFile,
  };
}

export function startSipp(o: SippRunOptions): SippRun {
  assertSipp();
  const statFile = path.join(o.dir, `${o.scenario}-stats.csv`);
  const logFile = path.join(o.dir, `${o.scenario}.log`);
  fs.rmSync(statFile, { force: true });
  const args = [
    o.target,
    '-sf',
    path.join(o.dir, `${o.scenario}.xml`),
    '-inf',
    o.injection,
    '-i',
    '127.0.0.1',
    '-mi',
    '127.0.0.1',
    '-p',
    String(o.localPort),
    '-r',
    String(o.rate),
    '-rp',
    '1000',
    '-m',
    String(o.maxCalls),
    '-l',
    String(o.limit),
    ...(o.pauseMs !== undefined ? ['-d', String(o.pauseMs)] : []),
    '-timeout',
    `${o.timeoutS}s`,
    '-nostdin',
    '-trace_stat',
    '-stf',
    statFile,
    '-fd',
    '1',
    '-trace_err',
    '-error_file',
    path.join(o.dir, `${o.scenario}-errors.log`),
    ...(o.extra ?? []),
  ];
  const out = fs.openSync(logFile, 'a');
  const child = spawn(SIPP_BIN, args, { cwd: o.dir, stdio: ['ignore', out, out] });
  fs.closeSync(out);
  if (child.pid === undefined) throw new Error(`could not start ${SIPP_BIN}`);
  const pid = child.pid;
  const done = new Promise<SippResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      try {
        const text = fs.existsSync(statFile) ? fs.readFileSync(statFile, 'utf8') : '';
        resolve(summarise(parseSippStats(text), code, statFile, logFile));
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  });
  return {
    pid,
    done,
    stop: async (graceMs = 30_000) => {
      child.kill('SIGUSR1');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      try {
        return await done;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
