/**
 * One Asterisk restart (`core restart now`, or `core stop now` and a start some seconds later) of the
 * lab or of a benchmark's own PBX, watched by a pbxpulse daemon reached over HTTP (in this process or
 * its own): how long after
 * Asterisk was fully booted the daemon was ready again, and whether its endpoints, contacts and
 * channels then equal what Asterisk's CLI lists. Shared by the restart-under-load test, the restart
 * benchmark and the soak.
 */
import { compareWithCli, driftTotal, type Cli, type DriftReport } from './drift';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export type RestartKind = 'restart' | 'stop-start';

export interface RestartOutcome {
  kind: RestartKind;
  /** How long Asterisk was stopped (`stop-start`), ms. */
  downMs?: number;
  /** Asterisk fully booted → the daemon's `/health/ready` answered 200 on a new AMI session, ms. */
  readyMs: number;
  /** Ready → first comparison with 0 ghosts and 0 missing (or the give-up time), ms. */
  settleMs: number;
  drift: DriftReport;
  /** Ghosts + missing of the last comparison: 0 unless the daemon never matched Asterisk. */
  driftTotal: number;
}

export interface RestartCycleOptions {
  /** Daemon base URL and node name of the lab in its configuration. */
  url: string;
  node: string;
  kind: RestartKind;
  /** The PBX's CLI (`asterisk -rx`). */
  cli: Cli;
  /** `stop-start`: stops Asterisk, waits `downMs`, starts it and resolves once it is fully booted. */
  stopStart?: (downMs: number) => Promise<void>;
  /** `stop-start`: how long Asterisk stays down. */
  downMs?: number;
  /** Give up on readiness after this long past the boot (the assertion is the caller's). */
  readyTimeoutMs?: number;
  /** Keep comparing with the CLI this long for a drift-free reading. */
  settleTimeoutMs?: number;
}

async function metric(url: string, name: string, node: string): Promise<number> {
  const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) });
  const m = new RegExp(`^${name}\\{node="${node}"\\} (\\d+)`, 'm').exec(await res.text());
  return m ? Number(m[1]) : 0;
}

async function readyStatus(url: string): Promise<number> {
  const res = await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(5000) }).catch(() => null);
  await res?.body?.cancel();
  return res?.status ?? 0;
}

/** Waits until a new Asterisk (started after `issuedAt`) is fully booted; resolves with that time. */
async function waitNewBoot(cli: Cli, issuedAt: number, timeoutMs = 60_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      await cli('core waitfullybooted', 5000);
      const booted = Date.now();
      const out = await cli('core show uptime seconds', 5000);
      const uptime = Number(/System uptime:\s*(\d+)/.exec(out)?.[1] ?? NaN);
      // The old process may still answer for a moment after `core restart now`.
      if (uptime <= (Date.now() - issuedAt) / 1000 + 1) return booted;
    } catch {
      // down or booting
    }
    await sleep(50);
  }
  throw new Error(`the lab Asterisk did not come back within ${timeoutMs} ms`);
}

export async function restartCycle(o: RestartCycleOptions): Promise<RestartOutcome> {
  const reconnects = await metric(o.url, 'pbxpulse_ami_reconnects_total', o.node);
  let booted: number;
  let downMs: number | undefined;
  if (o.kind === 'restart') {
    const issued = Date.now();
    // The CLI connection dies with the process it talks to: an error here is expected.
    await o.cli('core restart now', 10_000).catch(() => undefined);
    booted = await waitNewBoot(o.cli, issued);
  } else {
    if (!o.stopStart) throw new Error('a stop-start cycle needs stopStart');
    const stopped = Date.now();
    await o.stopStart(o.downMs ?? 5000);
    booted = Date.now();
    downMs = booted - stopped;
  }
  const readyDeadline = booted + (o.readyTimeoutMs ?? 30_000);
  let readyAt: number | undefined;
  while (Date.now() < readyDeadline) {
    if (
      (await metric(o.url, 'pbxpulse_ami_reconnects_total', o.node)) > reconnects &&
      (await readyStatus(o.url)) === 200
    ) {
      readyAt = Date.now();
      break;
    }
    await sleep(50);
  }
  if (readyAt === undefined) {
    throw new Error(`the daemon was not ready within ${o.readyTimeoutMs ?? 30_000} ms of the boot`);
  }
  const settleDeadline = Date.now() + (o.settleTimeoutMs ?? 15_000);
  let report: DriftReport;
  for (;;) {
    report = await compareWithCli(o.cli, o.url, o.node);
    if (driftTotal(report) === 0 || Date.now() > settleDeadline) break;
    await sleep(250);
  }
  return {
    kind: o.kind,
    downMs,
    readyMs: Math.max(0, readyAt - booted),
    settleMs: Date.now() - readyAt,
    drift: report,
    driftTotal: driftTotal(report),
  };
}
