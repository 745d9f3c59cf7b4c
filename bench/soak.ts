/* eslint-disable no-console -- a benchmark reports on stdout */
/**
 * `npm run soak` (not in CI): 30 minutes of SIPp registrations (50/s) and calls (5/s of 3 s to Echo) on
 * the daemon's own Asterisk (the scale profile, 200 endpoints, free ports), Asterisk restarted every
 * 2 minutes (every 5th time a `core stop now` + start after 5–60 s); heap after GC, RSS and event-loop
 * lag p99 sampled each minute with their slope, and 0 drift against the CLI at the end (exit 1 if not).
 * Knobs: SOAK_MINUTES (30), SOAK_RESTART_EVERY_S (120), SOAK_ENDPOINTS (200), SOAK_REG_RATE (50),
 * SOAK_CALL_RATE (5). Takes /tmp/pbxpulse-scale.lock (one scale PBX at a time), never the test lock.
 */
import { printReport, soak } from './support/soak-run';

async function main(): Promise<void> {
  const env = process.env;
  const report = await soak({
    minutes: Number(env.SOAK_MINUTES ?? 30),
    maxRestarts: Number.MAX_SAFE_INTEGER,
    restartEveryS: Number(env.SOAK_RESTART_EVERY_S ?? 120),
    stopStartEvery: 5,
    endpoints: Number(env.SOAK_ENDPOINTS ?? 200),
    regRate: Number(env.SOAK_REG_RATE ?? 50),
    callRate: Number(env.SOAK_CALL_RATE ?? 5),
    callHoldMs: 3000,
    sampleEveryS: 60,
  });
  process.exitCode = printReport(report);
}

main().catch((err: Error) => {
  console.error(err.stack ?? err.message);
  process.exit(1);
});
