/**
 * The real daemon as a separate process for a benchmark: `node dist/main.js --config <file>` with the
 * given configuration text, its output in a log file, and what a benchmark measures about it (CPU time
 * and RSS from /proc/<pid>, so the benchmark's own work never counts as the daemon's).
 *
 * `dist/` is rebuilt first (`tsc -p tsconfig.build.json`) when it is missing or older than a file under
 * `src/`, so a benchmark always measures the tree it runs in.
 */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import WebSocket from 'ws';
import { freePort } from '../../test/support/prometheus-server';

const REPO_ROOT = path.resolve(__dirname, '..', '..', ...(__dirname.includes('dist-bench') ? ['..'] : []));
const MAIN = path.join(REPO_ROOT, 'dist', 'main.js');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface DaemonProcessOptions {
  /** The YAML configuration; a function gets the HTTP port picked for the daemon. */
  config: string | ((httpPort: number) => string);
  /** HTTP port the configuration listens on (required when `config` is a string). */
  httpPort?: number;
  /** What "started" means: `/health/ready` (default: logged in and resynced) or `/health/live`. */
  waitFor?: 'ready' | 'live';
  readyTimeoutMs?: number;
  /** Extra arguments for node (e.g. `--max-old-space-size=…`). */
  nodeArgs?: string[];
  /**
   * Open node's inspector on a free loopback port so `collectGarbage()` can force a full GC from outside
   * (`--expose-gc` would need code in the daemon to call it).
   */
  inspector?: boolean;
}

export interface CpuTime {
  /** user + system CPU seconds used so far. */
  readonly seconds: number;
  readonly userSeconds: number;
  readonly systemSeconds: number;
}

export interface DaemonProcess {
  readonly url: string;
  readonly httpPort: number;
  readonly pid: number;
  readonly configPath: string;
  readonly logPath: string;
  /** `Date.now()` just before the process was spawned. */
  readonly spawnedAt: number;
  /** Milliseconds from spawn until `waitFor` answered 200. */
  readonly startMs: number;
  cpu(): CpuTime;
  rssBytes(): number;
  /** A full garbage collection through the inspector (`inspector: true` only). */
  collectGarbage(): Promise<void>;
  /** SIGTERM, then SIGKILL after 10 s; resolves with the exit code (null when killed). */
  stop(): Promise<number | null>;
  /** SIGKILL at once (a daemon that dies without logging off); resolves once it is gone. */
  kill(): Promise<void>;
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** user + system CPU of any process, from /proc/<pid>/stat (fields 14 and 15, after the `(comm)`). */
export function processCpu(pid: number): CpuTime {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const hz = ticksPerSecond();
  const user = Number(fields[11]) / hz;
  const system = Number(fields[12]) / hz;
  return { seconds: user + system, userSeconds: user, systemSeconds: system };
}

/**
 * CPU seconds used by some processes (`pids()` is asked again at each sample) from now until `stop()`,
 * sampled every `everyMs`; a process that exits keeps its last reading. `last()` reads without stopping.
 */
export function cpuSampler(pids: () => number[], everyMs = 1000): { stop: () => number; last: () => number } {
  const lastSeen = new Map<number, number>();
  const base = new Map<number, number>();
  const tick = (): void => {
    for (const pid of pids()) {
      try {
        const s = processCpu(pid).seconds;
        if (!base.has(pid)) base.set(pid, s);
        lastSeen.set(pid, s);
      } catch {
        // exited: keep its last reading
      }
    }
  };
  tick();
  const timer = setInterval(tick, everyMs);
  const total = (): number => [...lastSeen].reduce((a, [pid, s]) => a + s - (base.get(pid) ?? s), 0);
  return {
    last: total,
    stop: () => {
      tick();
      clearInterval(timer);
      return total();
    },
  };
}

/** Resident set size of any process, from /proc/<pid>/status. */
export function processRssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(p).mtimeMs);
  }
  return newest;
}

/** Builds dist/ when it is missing or older than src/. */
export function ensureDaemonBuilt(): void {
  const built = fs.statSync(MAIN, { throwIfNoEntry: false })?.mtimeMs ?? 0;
  if (built >= newestMtime(path.join(REPO_ROOT, 'src'))) return;
  process.stderr.write('bench: dist/ is older than src/, building it (tsc -p tsconfig.build.json)\n');
  execFileSync(
    process.execPath,
    [path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
    { cwd: REPO_ROOT, stdio: 'inherit' },
  );
}

export async function startDaemonProcess(opts: DaemonProcessOptions): Promise<DaemonProcess> {
  ensureDaemonBuilt();
  const httpPort =
    typeof opts.config === 'string' ? (opts.httpPort ?? failNoPort()) : (opts.httpPort ?? (await freePort()));
  const text = typeof opts.config === 'string' ? opts.config : opts.config(httpPort);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pbxpulse-bench-daemon-'));
  const configPath = path.join(dir, 'pbxpulse.yaml');
  const logPath = path.join(dir, 'daemon.log');
  fs.writeFileSync(configPath, text, { mode: 0o600 });
  const log = fs.openSync(logPath, 'a');
  const started = Date.now();
  const inspectPort = opts.inspector ? await freePort() : undefined;
  const nodeArgs = [...(opts.nodeArgs ?? []), ...(inspectPort ? [`--inspect=127.0.0.1:${inspectPort}`] : [])];
  const child = spawn(process.execPath, [...nodeArgs, MAIN, '--config', configPath], {
    cwd: REPO_ROOT,
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  let exit: { code: number | null } | null = null;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      exit = { code };
      resolve(code);
    }),
  );
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start the daemon (${MAIN}); see ${logPath}`);
  const url = `http://127.0.0.1:${httpPort}`;
  const probe = `${url}/health/${opts.waitFor ?? 'ready'}`;
  const deadline = started + (opts.readyTimeoutMs ?? 180_000);
  for (;;) {
    if (exit !== null) {
      const tail = fs.readFileSync(logPath, 'utf8').split('\n').slice(-20).join('\n');
      throw new Error(
        `the daemon exited (code ${String((exit as { code: number | null }).code)}) before it was up:\n${tail}`,
      );
    }
    const res = await fetch(probe, { signal: AbortSignal.timeout(5000) }).catch(() => null);
    if (res?.status === 200) break;
    await res?.body?.cancel();
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(
        `the daemon did not answer ${probe} with 200 within ${deadline - started} ms; see ${logPath}`,
      );
    }
    await sleep(250);
  }
  const startMs = Date.now() - started;
  return {
    url,
    httpPort,
    pid,
    configPath,
    logPath,
    spawnedAt: started,
    startMs,
    cpu: () => processCpu(pid),
    rssBytes: () => processRssBytes(pid),
    collectGarbage: () =>
      inspectPort === undefined
        ? Promise.reject(new Error('collectGarbage() needs startDaemonProcess({ inspector: true })'))
        : inspectorCall(inspectPort, 'HeapProfiler.collectGarbage'),
    kill: async () => {
      if (exit !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
    stop: async () => {
      if (exit !== null) return exit.code;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** One Chrome DevTools Protocol call on the inspector at `port` (its first target); resolves on the answer. */
async function inspectorCall(port: number, method: string): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${port}/json/list`, { signal: AbortSignal.timeout(10_000) });
  const [target] = (await res.json()) as Array<{ webSocketDebuggerUrl: string }>;
  if (!target) throw new Error(`no inspector target on 127.0.0.1:${port}`);
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`inspector ${method}: no answer in 60 s`)), 60_000);
      ws.once('error', reject);
      ws.once('open', () => ws.send(JSON.stringify({ id: 1, method })));
      ws.on('message', (raw: Buffer) => {
        const msg = JSON.parse(raw.toString('utf8')) as { id?: number; error?: { message: string } };
        if (msg.id !== 1) return;
        clearTimeout(timer);
        if (msg.error) reject(new Error(`inspector ${method}: ${msg.error.message}`));
        else resolve();
      });
    });
  } finally {
    ws.close();
  }
}

function failNoPort(): never {
  throw new Error('startDaemonProcess: a config string needs httpPort (or pass a function of the port)');
}

/**
 * Waits until the daemon lists all `endpoints` of `node` and has gone quiet (under 10 % of a core over
 * 2 s): its resync, and whatever followed it, are done.
 */
export async function waitSettled(
  daemon: DaemonProcess,
  node: string,
  endpoints: number,
  timeoutMs = 180_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${daemon.url}/api/v1/nodes/${node}/endpoints`).catch(() => null);
    const count =
      res?.status === 200 ? ((await res.json()) as { endpoints: unknown[] }).endpoints.length : -1;
    const c0 = daemon.cpu().seconds;
    await sleep(2000);
    const busy = (daemon.cpu().seconds - c0) / 2;
    if (count === endpoints && busy < 0.1) return;
    if (Date.now() > deadline)
      throw new Error(
        `daemon not settled: ${count}/${endpoints} endpoints, ${Math.round(busy * 100)}% of a core`,
      );
  }
}
