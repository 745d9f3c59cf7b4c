/**
 * A real `redis-server` (Debian's package, /usr/bin/redis-server) for the cluster tests: on a free
 * loopback port, nothing saved to disk, with a password, stopped (SIGTERM, then SIGKILL) by `stop()`.
 * `restart()` brings it back on the same port, empty, as a Redis restarted without persistence would be.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './prometheus-server';

export interface TestRedis {
  readonly port: number;
  readonly password: string;
  /** `redis://:<password>@127.0.0.1:<port>`. */
  readonly url: string;
  readonly logPath: string;
  stop(): Promise<void>;
  /** Starts it again on the same port (no data: nothing was persisted). */
  restart(): Promise<void>;
}

const REDIS_SERVER = '/usr/bin/redis-server';

export async function startRedis(password = 'cluster-test-redis-pw-5d2e'): Promise<TestRedis> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pbxpulse-redis-'));
  const logPath = path.join(dir, 'redis.log');
  let child: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    const log = fs.openSync(logPath, 'a');
    // The password on the command line is a test value; a production Redis reads it from its config.
    const proc = spawn(
      REDIS_SERVER,
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
      { stdio: ['ignore', log, log] },
    );
    fs.closeSync(log);
    child = proc;
    proc.once('error', () => undefined);
    const deadline = Date.now() + 10_000;
    while (!fs.readFileSync(logPath, 'utf8').includes(`Ready to accept connections`)) {
      if (proc.exitCode !== null || Date.now() > deadline) {
        throw new Error(`redis-server did not start on ${port}; see ${logPath}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    // requirepass set after start keeps it out of `ps`.
    await redisCommand(port, ['CONFIG', 'SET', 'requirepass', password]);
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
    // The next start looks for its own ready line.
    fs.writeFileSync(logPath, '');
  };

  await launch();
  return {
    port,
    password,
    url: `redis://:${password}@127.0.0.1:${port}`,
    logPath,
    stop,
    restart: async () => {
      await stop();
      await launch();
    },
  };
}

/** One command on a fresh connection (before the password is set). */
async function redisCommand(port: number, args: string[]): Promise<string> {
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await client.connect();
    return String(await client.call(args[0], ...args.slice(1)));
  } finally {
    client.disconnect();
  }
}
