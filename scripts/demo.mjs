#!/usr/bin/env node
// `npm run demo`: sandbox Asterisk up, pbxpulse built and started against it (sandbox/pbxpulse.yaml),
// real SIP traffic (a one-shot scenario, then a little continuous traffic), and (when Debian's
// `prometheus` is installed) a local Prometheus scraping pbxpulse with the alert rules loaded; the URLs
// printed. Ctrl-C stops pbxpulse, the traffic and Prometheus; `npm run sandbox -- down` stops Asterisk.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const config = join(root, 'sandbox', 'pbxpulse.yaml');
const base = 'http://127.0.0.1:9630';
const prometheusBin = '/usr/bin/prometheus';

/** 9090 if free on 127.0.0.1 (a packaged Prometheus service may hold it), else any free port. */
async function prometheusPort() {
  const tryListen = (port) =>
    new Promise((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(null));
      server.listen(port, '127.0.0.1', () => {
        const { port: bound } = server.address();
        server.close(() => resolve(bound));
      });
    });
  return (await tryListen(9090)) ?? (await tryListen(0));
}
const prometheusBase = `http://127.0.0.1:${await prometheusPort()}`;

function step(title, cmd, args) {
  console.log(`\n== ${title}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`demo: "${title}" failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status || 1);
  }
}

step('sandbox Asterisk 22 (Debian sid chroot)', process.execPath, [
  join(root, 'scripts', 'sandbox.mjs'),
  'up',
  '--install-host-deps',
]);
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
step('build pbxpulse', process.execPath, [tsc, '-p', 'tsconfig.build.json']);
step('build the demo traffic generator', process.execPath, [tsc, '-p', 'tsconfig.scripts.json']);

console.log('\n== pbxpulse');
const daemon = spawn(process.execPath, [join(root, 'dist', 'main.js'), '--config', config], {
  cwd: root,
  stdio: 'inherit',
});

/** A Prometheus on 127.0.0.1 scraping pbxpulse every 5 s with the alert rules, or null if not installed. */
function startPrometheus() {
  if (!existsSync(prometheusBin)) return null;
  const dir = join(root, 'test-output', 'demo-prometheus');
  // A fresh TSDB each run: samples of an earlier run would satisfy the wait below before any scrape.
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const configFile = join(dir, 'prometheus.yml');
  const rules = join(root, 'deploy', 'prometheus', 'pbxpulse-alerts.yml');
  writeFileSync(
    configFile,
    [
      'global: { scrape_interval: 5s, evaluation_interval: 5s }',
      `rule_files: [${JSON.stringify(rules)}]`,
      'scrape_configs:',
      '  - job_name: pbxpulse',
      '    static_configs: [{ targets: ["127.0.0.1:9630"] }]',
      '',
    ].join('\n'),
  );
  const child = spawn(
    prometheusBin,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=${new URL(prometheusBase).host}`,
      '--log.level=warn',
    ],
    { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  child.on('exit', (code, signal) => {
    prometheusExited = true;
    if (!stopping) console.error(`demo: prometheus exited (${code ?? signal}); the alerts are not evaluated`);
  });
  return child;
}

let stopping = false;
let prometheusExited = false;
const prometheus = startPrometheus();
/** The continuous SIP traffic, started once the one-shot scenario has run. */
let ongoing = null;
const stopChildren = () => {
  stopping = true;
  ongoing?.kill('SIGTERM');
  prometheus?.kill('SIGTERM');
};
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    stopChildren();
    daemon.kill('SIGTERM');
  });
}
daemon.on('exit', (code) => {
  stopChildren();
  process.exit(code ?? 0);
});

const deadline = Date.now() + 30_000;
for (;;) {
  try {
    const res = await fetch(`${base}/health/ready`);
    if (res.status === 200) break;
  } catch {
    // not listening yet
  }
  if (Date.now() > deadline) {
    console.error('demo: pbxpulse did not become ready within 30 s; see the log above');
    break;
  }
  await new Promise((r) => setTimeout(r, 250));
}

// Prometheus must have scraped the zero-valued series once before the traffic, or increase() sees no
// increase from a counter whose first sample is already 1 (and PbxpulseAorNotFound would not fire).
if (prometheus) {
  const until = Date.now() + 20_000;
  // The per-endpoint series appear after pbxpulse's first resync; one scrape of them is what counts.
  const query = `${prometheusBase}/api/v1/query?query=${encodeURIComponent('pbxpulse_aor_not_found_total')}`;
  for (;;) {
    try {
      const body = await (await fetch(query)).json();
      if (body.data?.result?.length > 0) break;
    } catch {
      // Prometheus not listening yet.
    }
    if (Date.now() > until) {
      console.error('demo: Prometheus has not scraped pbxpulse within 20 s; sending the traffic anyway');
      break;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

console.log('\n== real SIP traffic (a 401 loop, an AOR-not-found, unknown accounts, a short call)');
const traffic = spawnSync(
  process.execPath,
  [join(root, 'test-output', 'scripts', 'scripts', 'demo-traffic.js')],
  {
    cwd: root,
    stdio: 'inherit',
  },
);
if (traffic.status !== 0) console.error('demo: the traffic generator failed; pbxpulse keeps running');
ongoing = spawn(
  process.execPath,
  [join(root, 'test-output', 'scripts', 'scripts', 'demo-traffic.js'), '--continuous'],
  { cwd: root, stdio: 'inherit' },
);

/** Prometheus is ours, up, and has the pbxpulse rules loaded. */
async function prometheusServing() {
  if (!prometheus || prometheusExited) return false;
  try {
    const body = await (await fetch(`${prometheusBase}/api/v1/rules`)).json();
    return (body.data?.groups ?? []).some((g) => g.name === 'pbxpulse-registrations');
  } catch {
    return false;
  }
}

const prometheusLines = (await prometheusServing())
  ? [
      `  Prometheus (scrapes pbxpulse, alert rules loaded): ${prometheusBase}`,
      `    alerts: ${prometheusBase}/alerts   targets: ${prometheusBase}/targets`,
    ]
  : prometheus
    ? ['  (the local Prometheus did not start: see its error above)']
    : [
        '  (no local Prometheus: `apt-get install prometheus`, then run the demo again, to get one with the alerts)',
      ];

console.log(`
pbxpulse is watching the sandbox Asterisk.
  Live board: ${base}/
${prometheusLines.join('\n')}
Try:
  curl -s ${base}/api/v1/nodes
  curl -s ${base}/api/v1/alerts                              # the 401 loop on 2001, the AOR-not-found on 1002
  curl -s ${base}/api/v1/nodes/sandbox/endpoints/1002        # why 1002 cannot register, and the fix
  curl -s '${base}/api/v1/nodes/sandbox/endpoints?registered=true'
  curl -s ${base}/api/v1/nodes/sandbox/calls/recent          # the Echo call, classified
  curl -s ${base}/api/v1/nodes/sandbox/unknown-accounts
  curl -s ${base}/metrics | grep ^pbxpulse_
  curl -s ${base}/health/ready
  WebSocket stream: ws://127.0.0.1:9630/ws (README: "WebSocket stream"); a 20 s Echo call from 2002
    starts every minute, 2001 keeps sending a wrong password every 20 s and 1002 re-REGISTERs every
    minute (the 401 loop and the AOR-not-found stay active).
Ctrl-C stops pbxpulse, the traffic${prometheus ? ' and Prometheus' : ''}; \`npm run sandbox -- down\` stops the sandbox Asterisk.
`);
