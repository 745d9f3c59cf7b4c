/**
 * The machine-wide lock of the scale PBX (`flock /tmp/pbxpulse-scale.lock`, which bench/run.mjs takes
 * around every benchmark): one 10k-endpoint Asterisk at a time, and never beside a benchmark's figures.
 * For code that starts the scale PBX from inside a process (an integration test) instead of under
 * `flock …` on the command line.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

export const SCALE_LOCK_FILE = '/tmp/pbxpulse-scale.lock';

export interface ScaleLock {
  /** Milliseconds spent waiting for another holder. */
  readonly waitedMs: number;
  release(): Promise<void>;
}

/**
 * Takes the lock, waiting up to `waitMs` for its holder. A `flock` child holds it for as long as its
 * stdin is open: `release()` closes it, and so does the death of this process, so a crashed test never
 * leaves the lock taken.
 */
export async function holdScaleLock(waitMs = 15 * 60_000): Promise<ScaleLock> {
  const started = Date.now();
  const child: ChildProcessByStdio<Writable, Readable, null> = spawn(
    'flock',
    ['-w', String(Math.ceil(waitMs / 1000)), SCALE_LOCK_FILE, 'sh', '-c', 'echo locked; exec cat >/dev/null'],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) =>
      reject(new Error(`could not take ${SCALE_LOCK_FILE} within ${waitMs} ms (flock exit ${code})`)),
    );
  });
  return {
    waitedMs: Date.now() - started,
    release: async () => {
      child.stdin.end();
      await exited;
    },
  };
}
