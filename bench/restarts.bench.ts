/* eslint-disable no-console -- a benchmark reports on stdout */
/**
 * 100 Asterisk restarts under SIP load (issue 11): the daemon in its own process watches its own
 * Asterisk (the scale profile with 200 endpoints, free ports) while SIPp registers (50/s) and calls
 * (5/s of 3 s to Echo); Asterisk is restarted back to back (`core restart now`, every 10th a
 * `core stop now` + start after 5–60 s). After each: readiness after the boot (the worst is the figure)
 * and drift against the CLI. Exit 1 if any restart left drift that did not settle within 15 s.
 * Knobs: BENCH_RESTARTS (100), BENCH_ENDPOINTS (200), BENCH_STOP_START_EVERY (10).
 * `BENCH_ONLY=restarts npm run bench` (under /tmp/pbxpulse-scale.lock: one scale PBX at a time).
 */
import { printReport, soak } from './support/soak-run';

async function main(): Promise<void> {
  const report = await soak({
    minutes: 24 * 60,
    maxRestarts: Number(process.env.BENCH_RESTARTS ?? 100),
    restartEveryS: 1,
    stopStartEvery: Number(process.env.BENCH_STOP_START_EVERY ?? 10),
    endpoints: Number(process.env.BENCH_ENDPOINTS ?? 200),
    regRate: 50,
    callRate: 5,
    callHoldMs: 3000,
    sampleEveryS: 60,
  });
  process.exitCode = printReport(report);
}

main().catch((err: Error) => {
  console.error(err.stack ?? err.message);
  process.exit(1);
});
