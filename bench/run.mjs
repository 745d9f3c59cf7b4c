#!/usr/bin/env node
// `npm run bench` (after `tsc -p tsconfig.bench.json`): runs every compiled benchmark,
// dist-bench/bench/*.bench.js, one after the other, each in its own node process, in name order.
// BENCH_ONLY=<name>[,<name>…] picks some (`ami-ingest`, `registration-storm`, …; the `.bench` suffix is
// optional). Each runs under `flock /tmp/pbxpulse-scale.lock`: the benchmarks that start the sandbox's
// 10k-endpoint profile must not overlap (one scale PBX at a time), and a benchmark measured while another
// loads the machine measures nothing. A benchmark fails only on a hard failure (its exit code); the
// figures are printed, never judged here.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const compiled = join(root, 'dist-bench', 'bench');
const LOCK = '/tmp/pbxpulse-scale.lock';

if (!existsSync(compiled)) {
  console.error(
    'bench: dist-bench/bench/ is missing: run `tsc -p tsconfig.bench.json` first (npm run bench does)',
  );
  process.exit(1);
}
// Only benchmarks whose source still exists: dist-bench/ keeps the output of deleted files.
const all = readdirSync(compiled)
  .filter((f) => f.endsWith('.bench.js'))
  .map((f) => f.slice(0, -'.bench.js'.length))
  .filter((name) => existsSync(join(root, 'bench', `${name}.bench.ts`)))
  .sort();
const wanted = (process.env.BENCH_ONLY ?? '')
  .split(',')
  .map((s) => s.trim().replace(/\.bench(\.[jt]s)?$/, ''))
  .filter(Boolean);
const unknown = wanted.filter((w) => !all.includes(w));
if (unknown.length > 0) {
  console.error(`bench: no benchmark named ${unknown.join(', ')}; there are: ${all.join(', ')}`);
  process.exit(2);
}
const selected = wanted.length > 0 ? all.filter((n) => wanted.includes(n)) : all;
const flock = spawnSync('sh', ['-c', 'command -v flock'], { stdio: 'ignore' }).status === 0;

const results = [];
for (const name of selected) {
  const file = join(compiled, `${name}.bench.js`);
  console.log(`\n=== bench: ${name} ===`);
  const started = Date.now();
  const [cmd, args] = flock ? ['flock', [LOCK, process.execPath, file]] : [process.execPath, [file]];
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  const code = r.status ?? 1;
  results.push({ name, code, seconds: (Date.now() - started) / 1000 });
}

console.log('\n=== bench summary ===');
for (const { name, code, seconds } of results) {
  console.log(
    `${code === 0 ? 'ok    ' : 'FAILED'} ${name} (${seconds.toFixed(0)} s)${code === 0 ? '' : `, exit ${code}`}`,
  );
}
process.exit(results.some((r) => r.code !== 0) ? 1 : 0);
