#!/usr/bin/env node
// `npm test`: build, unit + component tests (parallel), then integration tests on the real sandbox
// Asterisk (serial: they share one Asterisk and restart it). Provisions the sandbox itself on a fresh
// machine (as root). Ends with one plain summary line: "tests: N passed, N failed, N skipped".
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'test-output');
mkdirSync(out, { recursive: true });
const jestBin = join(root, 'node_modules', 'jest', 'bin', 'jest.js');

function run(cmd, args, extraEnv = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...extraEnv } });
  return r.status ?? 1;
}

/** `sandbox.mjs status` exits 0 only while the sandbox Asterisk runs and answers its CLI. */
function sandboxRunning() {
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'sandbox.mjs'), 'status'], {
    cwd: root,
    stdio: 'ignore',
    timeout: 30_000,
  });
  return r.status === 0;
}

const only = process.argv[2]; // optional: "unit" or "integration"
if (typeof process.getuid === 'function' && process.getuid() !== 0 && only !== 'unit') {
  console.error(
    'npm test: the integration tests run a real Asterisk in a chroot and need root (run as root, or `npm test -- unit`).',
  );
  process.exit(1);
}

let failed = run(process.execPath, [
  join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
  '-p',
  'tsconfig.build.json',
]);
// The same build as `npm run build`: the board's bundle too, type-checked (tests would bundle it on demand).
if (!failed) failed = run(process.execPath, [join(root, 'scripts', 'build-board.mjs')]);
if (failed) {
  console.error('npm test: build failed');
  process.exit(failed);
}

const totals = { passed: 0, failed: 0, skipped: 0 };
const suites = [];
let sandboxWasRunning = false;
if (only !== 'integration') suites.push(['unit', ['--selectProjects', 'unit']]);
if (only !== 'unit') {
  // Host tools the integration tests use: openssl (TLS certificates for the lab Asterisk), Prometheus
  // (promtool rule tests; the dashboards' queries run on a real Prometheus) and SIPp (Debian's
  // sip-tester, /usr/bin/sipp: SIP load from scenario files) and redis-server (the cluster tests start
  // their own Redis on a free port) and systemd (systemd-analyze verifies deploy/systemd/pbxpulse.service).
  const hostTools = [
    ['openssl', 'command -v openssl'],
    ['prometheus', 'test -x /usr/bin/prometheus && test -x /usr/bin/promtool'],
    ['sip-tester', 'test -x /usr/bin/sipp'],
    ['redis-server', 'test -x /usr/bin/redis-server'],
    ['systemd', 'test -x /usr/bin/systemd-analyze'],
  ].filter(([, check]) => spawnSync('sh', ['-c', check], { stdio: 'ignore' }).status !== 0);
  if (hostTools.length > 0) {
    const names = hostTools.map(([name]) => name).join(' ');
    console.log(`npm test: installing ${names}`);
    const apt = `apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${names}`;
    if (run('sh', ['-c', apt]) !== 0) {
      console.error(`npm test: could not install ${names} (apt-get install ${names})`);
      process.exit(1);
    }
  }
  // Provision the sandbox before Jest (its progress shows; Jest's globalSetup then finds it up).
  sandboxWasRunning = sandboxRunning();
  failed = run(process.execPath, [join(root, 'scripts', 'sandbox.mjs'), 'up', '--install-host-deps']);
  if (failed) {
    console.error('npm test: could not provision the sandbox Asterisk');
    process.exit(failed);
  }
  suites.push(['integration', ['--selectProjects', 'integration', '--runInBand']]);
}

let status = 0;
for (const [name, args] of suites) {
  const json = join(out, `jest-${name}.json`);
  const code = run(process.execPath, [jestBin, ...args, '--json', `--outputFile=${json}`], {
    PBXPULSE_SANDBOX_SKIP: '1',
  });
  if (code !== 0) status = code;
  try {
    const r = JSON.parse(readFileSync(json, 'utf8'));
    totals.passed += r.numPassedTests;
    totals.failed += r.numFailedTests + (r.numRuntimeErrorTestSuites ?? 0);
    totals.skipped += r.numPendingTests + r.numTodoTests;
  } catch {
    totals.failed += 1;
    status = status || 1;
  }
}
// Left running so the next run (or `npm run demo`) starts in seconds; say so, since a chroot'ed Asterisk
// on 127.0.0.1 is easy to forget. Before the summary: that line stays the last one.
if (only !== 'unit' && sandboxRunning()) {
  const which = sandboxWasRunning
    ? 'sandbox Asterisk (up before this run)'
    : 'sandbox Asterisk this run started';
  console.log(`\nnpm test: the ${which} is still running; \`npm run sandbox -- down\` stops it`);
}
process.stdout.write(
  `\ntests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped\n`,
);
process.exit(status);
