/**
 * A real Prometheus (Debian's `prometheus` package) for integration tests: installed on demand, run on
 * 127.0.0.1 on a free port with a throw-away config and TSDB, and queried through its HTTP API.
 *
 * The same package ships `promtool` (`PROMTOOL`), for rule unit tests.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export const PROMETHEUS = '/usr/bin/prometheus';
export const PROMTOOL = '/usr/bin/promtool';

const INSTALL_TIMEOUT_MS = 5 * 60_000;
const READY_TIMEOUT_MS = 30_000;

/** A sample of an instant vector: labels and the value as Prometheus returns it. */
export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

/** A series of a range query. */
export interface PromSeries {
  metric: Record<string, string>;
  values: Array<[number, string]>;
}

/** The JSON body of /api/v1/query and /api/v1/query_range (status `error` carries errorType/error). */
export interface PromResponse<T> {
  status: 'success' | 'error';
  data?: { resultType: string; result: T };
  errorType?: string;
  error?: string;
  warnings?: string[];
}

export interface PrometheusServer {
  url: string;
  /** The directory holding prometheus.yml and the TSDB; removed by stop(). */
  dir: string;
  /** An instant query; typed for the usual vector result (a scalar or string expression has another shape). */
  query(expr: string, time?: Date): Promise<PromResponse<PromSample[]>>;
  queryRange(expr: string, start: Date, end: Date, stepSeconds: number): Promise<PromResponse<PromSeries[]>>;
  /** /api/v1/label/<label>/values, restricted to series matching `match` (what Grafana's label_values() asks). */
  labelValues(label: string, match: string, start: Date, end: Date): Promise<PromResponse<string[]>>;
  /** /api/v1/series: label sets of the series matching `match` in the interval. */
  series(match: string, start: Date, end: Date): Promise<PromResponse<Array<Record<string, string>>>>;
  stop(): Promise<void>;
}

/**
 * Kills a Prometheus started by the Debian package's service (it runs as the `prometheus` user with
 * /etc/prometheus/prometheus.yml on :9090). Ours run as the test's user; they are left alone.
 */
function killPackageService(): void {
  spawnSync('systemctl', ['stop', 'prometheus'], { stdio: 'ignore', timeout: 15_000 });
  let serviceUid: number | undefined;
  try {
    const line = fs
      .readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('prometheus:'));
    if (line !== undefined) serviceUid = Number(line.split(':')[2]);
  } catch {
    return;
  }
  if (serviceUid === undefined) return;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (cmd[0] !== PROMETHEUS && cmd[0] !== 'prometheus') continue;
      if (fs.statSync(`/proc/${entry}`).uid !== serviceUid) continue;
      process.kill(Number(entry), 'SIGKILL');
    } catch {
      // The process went away meanwhile, or is not ours to read.
    }
  }
}

/**
 * Makes sure /usr/bin/prometheus (and promtool) exist: `apt-get install prometheus` as root, bounded to
 * 5 minutes. The package's postinst may start its own service on :9090; it is stopped, tests run theirs.
 */
export function ensurePrometheus(): void {
  if (fs.existsSync(PROMETHEUS) && fs.existsSync(PROMTOOL)) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`${PROMETHEUS} is missing; install it as root: apt-get install prometheus`);
  }
  const deadline = Date.now() + INSTALL_TIMEOUT_MS;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const run = (args: string[]) =>
    spawnSync('apt-get', args, {
      env,
      encoding: 'utf8',
      timeout: Math.max(1000, deadline - Date.now()),
    });
  let result = run(['install', '-y', '--no-install-recommends', 'prometheus']);
  if (result.status !== 0 && !fs.existsSync(PROMETHEUS) && Date.now() < deadline) {
    // A stale package list: refresh it once and retry.
    run(['update']);
    result = run(['install', '-y', '--no-install-recommends', 'prometheus']);
  }
  killPackageService();
  if (!fs.existsSync(PROMETHEUS)) {
    const tail = `${result.stdout ?? ''}${result.stderr ?? ''}`.slice(-2000);
    throw new Error(
      `apt-get install prometheus failed (${result.error?.message ?? result.status}):\n${tail}`,
    );
  }
}

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function configYaml(target: string, metricsPath: string, ruleFiles: readonly string[]): string {
  const lines = ['global:', '  scrape_interval: 1s', '  scrape_timeout: 1s', '  evaluation_interval: 1s'];
  if (ruleFiles.length > 0) {
    lines.push('rule_files:', ...ruleFiles.map((f) => `  - ${JSON.stringify(path.resolve(f))}`));
  }
  lines.push(
    'scrape_configs:',
    '  - job_name: pbxpulse',
    `    metrics_path: ${JSON.stringify(metricsPath)}`,
    '    static_configs:',
    `      - targets: [${JSON.stringify(target)}]`,
  );
  return lines.join('\n') + '\n';
}

/**
 * Starts Prometheus scraping `scrapeUrl` (e.g. the daemon's `http://127.0.0.1:PORT`; its path, if any,
 * is the metrics path, /metrics otherwise) every second, and resolves once /-/ready answers 200.
 */
export async function startPrometheus(opts: {
  scrapeUrl: string;
  ruleFiles?: readonly string[];
}): Promise<PrometheusServer> {
  ensurePrometheus();
  const scrape = new URL(opts.scrapeUrl);
  const metricsPath = scrape.pathname === '/' || scrape.pathname === '' ? '/metrics' : scrape.pathname;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pbxpulse-prom-'));
  const configFile = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(configFile, configYaml(scrape.host, metricsPath, opts.ruleFiles ?? []));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;

  const child: ChildProcess = spawn(
    PROMETHEUS,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { detached: true, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  let exited: number | string | null | undefined;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = code ?? signal;
      resolve();
    });
  });

  const stop = async (): Promise<void> => {
    if (exited === undefined && child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // Already gone.
      }
      const killTimer = setTimeout(() => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }, 5000);
      await exit;
      clearTimeout(killTimer);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (exited !== undefined) {
      await stop();
      throw new Error(`prometheus exited (${exited}) before it was ready:\n${stderr}`);
    }
    try {
      const res = await fetch(`${url}/-/ready`);
      if (res.ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus not ready on ${url} within ${READY_TIMEOUT_MS} ms:\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  const api = async <T>(route: string, params: Record<string, string>): Promise<PromResponse<T>> => {
    const res = await fetch(`${url}/api/v1/${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(params).toString(),
    });
    return (await res.json()) as PromResponse<T>;
  };
  const seconds = (d: Date) => (d.getTime() / 1000).toFixed(3);
  const getApi = async <T>(route: string, params: Array<[string, string]>): Promise<PromResponse<T>> => {
    const res = await fetch(`${url}/api/v1/${route}?${new URLSearchParams(params).toString()}`);
    return (await res.json()) as PromResponse<T>;
  };

  return {
    url,
    dir,
    query: (expr, time) => api('query', time ? { query: expr, time: seconds(time) } : { query: expr }),
    queryRange: (expr, start, end, step) =>
      api('query_range', { query: expr, start: seconds(start), end: seconds(end), step: String(step) }),
    labelValues: (label, match, start, end) =>
      getApi(`label/${encodeURIComponent(label)}/values`, [
        ['match[]', match],
        ['start', seconds(start)],
        ['end', seconds(end)],
      ]),
    series: (match, start, end) =>
      api('series', { 'match[]': match, start: seconds(start), end: seconds(end) }),
    stop,
  };
}
