#!/usr/bin/env node
// Sandbox Asterisk for integration tests: a Debian sid chroot with Asterisk 22, configured from
// sandbox/asterisk/*.conf, bound to 127.0.0.1 only.
//
//   node scripts/sandbox.mjs up [--install-host-deps]   build the chroot if needed, (re)start Asterisk
//   node scripts/sandbox.mjs down                       stop Asterisk
//   node scripts/sandbox.mjs restart                    down, then up (configs rewritten)
//   node scripts/sandbox.mjs status                     exit 0 if running, 3 if not
//
// Env: PBXPULSE_SANDBOX_DIR (default /var/cache/pbxpulse/sandbox); the chroot is <dir>/root.
// Needs root (debootstrap, chroot, mount). Node built-ins only.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/** Bump RECIPE whenever PACKAGES or the build steps change: the marker no longer matches and `up` rebuilds. */
const PACKAGES = ['asterisk', 'asterisk-modules', 'asterisk-core-sounds-en-gsm'];
const RECIPE = `pbxpulse-sandbox/2 debootstrap=minbase:sid packages=${PACKAGES.join(',')}`;
const MIRROR = 'http://deb.debian.org/debian';
const APT_OPTS = ['-o', 'Acquire::Check-Valid-Until=false', '-o', 'Acquire::Retries=3'];

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CONF_SRC = path.join(REPO, 'sandbox', 'asterisk');
const DIR = path.resolve(process.env.PBXPULSE_SANDBOX_DIR || '/var/cache/pbxpulse/sandbox');
const ROOT = path.join(DIR, 'root');
const MARKER = path.join(DIR, 'root.ok');
const LOCK = path.join(DIR, 'sandbox.lock');
const PIDFILE = path.join(DIR, 'asterisk.pid');
const LOGFILE = path.join(DIR, 'asterisk.log');
const BUILD_PREFIX = 'root.build.';

const BOOT_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 20_000;
const LOCK_TIMEOUT_MS = 20 * 60_000;

class UsageError extends Error {}

const log = (msg) => process.stderr.write(`sandbox: ${msg}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const exists = (p) => fs.existsSync(p);

// ---------------------------------------------------------------------------------------------
// Ports: read from the repo's configs so the summary never drifts from what Asterisk binds.

function confValue(file, key, fallback) {
  try {
    const text = fs.readFileSync(path.join(CONF_SRC, file), 'utf8');
    const m = text.match(new RegExp(`^\\s*${key}\\s*=>?\\s*([^\\s;]+)`, 'm'));
    return m ? m[1] : fallback;
  } catch {
    return fallback;
  }
}

const PORTS = {
  ami: Number(confValue('manager.conf', 'port', '15038')),
  http: Number(confValue('http.conf', 'bindport', '18088')),
  sip: Number((confValue('pjsip.conf', 'bind', '127.0.0.1:15060').split(':')[1] ?? '15060').trim()),
};

// ---------------------------------------------------------------------------------------------
// Small process helpers

async function run(cmd, args, { timeout = 0, env } = {}) {
  return execFileP(cmd, args, { timeout, env: env ?? process.env, maxBuffer: 64 * 1024 * 1024 });
}

/** Runs a command with stdio inherited (long, chatty steps such as debootstrap and apt-get). */
function runInherit(cmd, args, { env } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], env: env ?? process.env });
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      code === 0
        ? resolve()
        : reject(new Error(`${cmd} ${args.join(' ')} failed (${signal ?? `exit ${code}`})`)),
    );
  });
}

function onPath(bin) {
  const dirs = (process.env.PATH || '').split(':').concat(['/usr/sbin', '/sbin', '/usr/local/sbin']);
  return dirs.some((d) => d && exists(path.join(d, bin)));
}

function pidAlive(pid) {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

/** Asterisk processes whose root directory is this sandbox's chroot (finds them even without a pid file). */
function sandboxAsteriskPids() {
  let realRoot;
  try {
    realRoot = fs.realpathSync(ROOT);
  } catch {
    return [];
  }
  const pids = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readlinkSync(`/proc/${entry}/root`) !== realRoot) continue;
      if (fs.readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'asterisk') continue;
      // A `asterisk -r…` CLI client is also called asterisk: only count the daemon (-f, no -r/-x).
      const argv = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv.some((a) => /^-[a-zA-Z]*[rRx]/.test(a))) continue;
      pids.push(Number(entry));
    } catch {
      // process vanished or not ours to inspect
    }
  }
  return pids;
}

function tcpOpen(port, host = '127.0.0.1', timeoutMs = 1000) {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host });
    const done = (ok) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

// ---------------------------------------------------------------------------------------------
// Lock: one mutating command (up/down/restart) at a time per sandbox dir.

async function withLock(fn) {
  fs.mkdirSync(DIR, { recursive: true });
  const deadline = Date.now() + LOCK_TIMEOUT_MS;
  let announced = false;
  for (;;) {
    try {
      const fd = fs.openSync(LOCK, 'wx');
      fs.writeSync(fd, `${process.pid}\n`);
      fs.closeSync(fd);
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
    }
    let holder = NaN;
    try {
      holder = Number.parseInt(fs.readFileSync(LOCK, 'utf8'), 10);
    } catch {
      continue; // released between our open and read
    }
    if (!pidAlive(holder)) {
      // Stale lock from a crashed run: move it aside atomically, so only one waiter removes it.
      const aside = `${LOCK}.stale.${process.pid}`;
      try {
        fs.renameSync(LOCK, aside);
        fs.rmSync(aside, { force: true });
      } catch {
        // someone else took care of it
      }
      continue;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${LOCK} (held by pid ${holder})`);
    if (!announced) {
      log(`waiting for another sandbox command (pid ${holder}) to finish…`);
      announced = true;
    }
    await sleep(500);
  }
  const release = () => {
    try {
      if (Number.parseInt(fs.readFileSync(LOCK, 'utf8'), 10) === process.pid) fs.rmSync(LOCK);
    } catch {
      // already gone
    }
  };
  process.once('exit', release);
  try {
    return await fn();
  } finally {
    release();
  }
}

// ---------------------------------------------------------------------------------------------
// Mounts

function mountsUnder(dir) {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return fs
    .readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1])
    .filter((m) => m && (m === dir || m.startsWith(prefix)))
    .map((m) => m.replace(/\\040/g, ' '))
    .sort((a, b) => b.length - a.length); // deepest first
}

async function unmountAll(dir) {
  for (const m of mountsUnder(dir)) {
    try {
      await run('umount', [m]);
    } catch {
      await run('umount', ['-l', m]);
    }
  }
}

async function ensureProc() {
  const procDir = path.join(ROOT, 'proc');
  if (mountsUnder(procDir).includes(procDir)) return;
  try {
    await run('mount', ['-t', 'proc', 'proc', procDir]);
  } catch (e) {
    log(`note: could not mount proc in the chroot (${e.message.trim()}); continuing without it`);
  }
}

/** rm -rf that refuses to descend into anything still mounted. */
async function removeTree(dir) {
  if (!exists(dir)) return;
  await unmountAll(dir);
  if (mountsUnder(dir).length > 0) throw new Error(`refusing to delete ${dir}: still has mounts`);
  fs.rmSync(dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// Host checks and chroot build

function requireRoot() {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new UsageError(
      'the sandbox needs root (debootstrap, chroot and mount); run it as root, e.g. `sudo npm run sandbox -- up`',
    );
  }
}

async function ensureDebootstrap(installHostDeps) {
  if (onPath('debootstrap')) return;
  if (!installHostDeps) {
    throw new UsageError(
      'debootstrap is not installed; run `apt-get install debootstrap` (or pass --install-host-deps)',
    );
  }
  log('installing debootstrap on the host (--install-host-deps)…');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await runInherit('apt-get', [...APT_OPTS, 'update'], { env });
  await runInherit('apt-get', [...APT_OPTS, 'install', '-y', '--no-install-recommends', 'debootstrap'], {
    env,
  });
  if (!onPath('debootstrap')) throw new Error('apt-get installed debootstrap but it is not on PATH');
}

function chrootReady() {
  try {
    return (
      fs.readFileSync(MARKER, 'utf8').trim() === RECIPE && exists(path.join(ROOT, 'usr', 'sbin', 'asterisk'))
    );
  } catch {
    return false;
  }
}

async function cleanStaleBuilds() {
  for (const name of fs.readdirSync(DIR)) {
    if (!name.startsWith(BUILD_PREFIX) && !name.startsWith('root.old.')) continue;
    const pid = Number.parseInt(name.split('.').pop(), 10);
    if (pidAlive(pid) && pid !== process.pid) continue;
    log(`removing leftover ${name}`);
    await removeTree(path.join(DIR, name));
  }
}

async function buildChroot(installHostDeps) {
  await ensureDebootstrap(installHostDeps);
  await cleanStaleBuilds();
  const tmp = path.join(DIR, `${BUILD_PREFIX}${process.pid}`);
  const started = Date.now();
  log(`building the chroot in ${tmp} (${RECIPE})…`);
  try {
    await runInherit('debootstrap', ['--variant=minbase', 'sid', tmp, MIRROR]);
    // Never let package scripts start services inside the chroot.
    fs.writeFileSync(path.join(tmp, 'usr/sbin/policy-rc.d'), '#!/bin/sh\nexit 101\n', { mode: 0o755 });
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C' };
    await runInherit('chroot', [tmp, 'apt-get', ...APT_OPTS, 'update'], { env });
    await runInherit(
      'chroot',
      [tmp, 'apt-get', ...APT_OPTS, 'install', '-y', '--no-install-recommends', ...PACKAGES],
      { env },
    );
    await runInherit('chroot', [tmp, 'apt-get', 'clean'], { env });
    if (!exists(path.join(tmp, 'usr/sbin/asterisk')))
      throw new Error('asterisk binary missing after install');
  } catch (e) {
    await removeTree(tmp).catch(() => {});
    throw e;
  }
  // Swap in atomically: the old tree (if any) is moved aside first, then deleted.
  fs.rmSync(MARKER, { force: true });
  if (exists(ROOT)) {
    await stopAsterisk({ quiet: true });
    await unmountAll(ROOT);
    const old = path.join(DIR, `root.old.${process.pid}`);
    fs.renameSync(ROOT, old);
    fs.renameSync(tmp, ROOT);
    await removeTree(old);
  } else {
    fs.renameSync(tmp, ROOT);
  }
  fs.writeFileSync(`${MARKER}.tmp`, `${RECIPE}\n`);
  fs.renameSync(`${MARKER}.tmp`, MARKER);
  log(`chroot built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

// ---------------------------------------------------------------------------------------------
// Configs

function desiredConfigs() {
  const files = new Map();
  for (const name of fs.readdirSync(CONF_SRC).sort()) {
    if (name.endsWith('.conf')) files.set(name, fs.readFileSync(path.join(CONF_SRC, name)));
  }
  if (!files.has('asterisk.conf') || !files.has('modules.conf')) {
    throw new Error(`${CONF_SRC} must contain at least asterisk.conf and modules.conf`);
  }
  return files;
}

function configsDigest(files) {
  const h = createHash('sha256');
  for (const [name, buf] of [...files].sort(([a], [b]) => a.localeCompare(b)))
    h.update(name).update('\0').update(buf);
  return h.digest('hex');
}

/** True when <root>/etc/asterisk holds exactly our files with our contents. */
function configsInstalled(files) {
  const etc = path.join(ROOT, 'etc', 'asterisk');
  let present;
  try {
    present = fs.readdirSync(etc);
  } catch {
    return false;
  }
  if (present.length !== files.size) return false;
  for (const [name, buf] of files) {
    try {
      if (!fs.readFileSync(path.join(etc, name)).equals(buf)) return false;
    } catch {
      return false;
    }
  }
  return true;
}

function installConfigs(files) {
  const etc = path.join(ROOT, 'etc', 'asterisk');
  fs.mkdirSync(etc, { recursive: true });
  // Wipe Debian's sample configs (and anything else) so only ours are in effect.
  for (const name of fs.readdirSync(etc)) fs.rmSync(path.join(etc, name), { recursive: true, force: true });
  for (const [name, buf] of files) fs.writeFileSync(path.join(etc, name), buf, { mode: 0o640 });
  log(`installed ${files.size} config files (${configsDigest(files).slice(0, 12)}) into ${etc}`);
}

// ---------------------------------------------------------------------------------------------
// Asterisk control

/** `asterisk -rx <cmd>` inside the chroot; resolves stdout, rejects if Asterisk is not reachable. */
async function cli(cmd, timeout = 10_000) {
  const { stdout } = await run('chroot', [ROOT, '/usr/sbin/asterisk', '-rx', cmd], { timeout });
  if (/Unable to connect to remote asterisk/i.test(stdout)) throw new Error(stdout.trim());
  return stdout;
}

async function answering() {
  if (!exists(path.join(ROOT, 'usr/sbin/asterisk'))) return false;
  try {
    return /Asterisk/.test(await cli('core show version', 5000));
  } catch {
    return false;
  }
}

async function version() {
  try {
    const out = await cli('core show version', 5000);
    return (out.match(/Asterisk\s+(\S+)/) ?? [])[1] ?? out.trim();
  } catch {
    return 'unknown';
  }
}

function readPidFile() {
  try {
    return Number.parseInt(fs.readFileSync(PIDFILE, 'utf8'), 10);
  } catch {
    return NaN;
  }
}

function runningPids() {
  const pids = new Set(sandboxAsteriskPids());
  const p = readPidFile();
  if (pidAlive(p) && isSandboxAsterisk(p)) pids.add(p);
  return [...pids];
}

function isSandboxAsterisk(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'asterisk';
  } catch {
    return false;
  }
}

async function waitGone(pids, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!pids.some(pidAlive)) return true;
    await sleep(200);
  }
  return !pids.some(pidAlive);
}

async function stopAsterisk({ quiet = false } = {}) {
  const pids = runningPids();
  if (pids.length === 0) {
    fs.rmSync(PIDFILE, { force: true });
    if (!quiet) log('Asterisk is not running');
    return;
  }
  try {
    await cli('core stop now', STOP_TIMEOUT_MS);
  } catch {
    // not answering: fall through to signals
  }
  if (!(await waitGone(pids, STOP_TIMEOUT_MS))) {
    log(`Asterisk did not stop after "core stop now"; sending SIGTERM to ${pids.join(', ')}`);
    for (const p of pids) if (pidAlive(p)) process.kill(p, 'SIGTERM');
    if (!(await waitGone(pids, 5000))) {
      for (const p of pids) if (pidAlive(p)) process.kill(p, 'SIGKILL');
      await waitGone(pids, 5000);
    }
  }
  fs.rmSync(PIDFILE, { force: true });
  if (!quiet) log(`Asterisk stopped (pid ${pids.join(', ')})`);
}

async function startAsterisk() {
  for (const [what, port] of [
    ['AMI', PORTS.ami],
    ['HTTP', PORTS.http],
  ]) {
    if (await tcpOpen(port)) {
      throw new Error(`${what} port 127.0.0.1:${port} is already in use by a process outside this sandbox`);
    }
  }
  // Directories Asterisk expects; /var/run/asterisk is a tmpfs on a booted system, so create it.
  for (const d of [
    'var/run/asterisk',
    'var/log/asterisk',
    'var/lib/asterisk',
    'var/spool/asterisk',
    'var/cache/asterisk',
  ]) {
    fs.mkdirSync(path.join(ROOT, d), { recursive: true });
  }
  try {
    if (fs.statSync(LOGFILE).size > 5 * 1024 * 1024) fs.renameSync(LOGFILE, `${LOGFILE}.1`);
  } catch {
    // no log yet
  }
  fs.appendFileSync(LOGFILE, `\n==== ${new Date().toISOString()} sandbox.mjs starting Asterisk ====\n`);
  const out = fs.openSync(LOGFILE, 'a');
  // -f: stay in the foreground (no fork), so the pid we spawn is Asterisk's own pid; `detached`
  // puts it in its own session, so it outlives this script. `chroot` execs asterisk in place.
  const child = spawn('chroot', [ROOT, '/usr/sbin/asterisk', '-f', '-n'], {
    detached: true,
    stdio: ['ignore', out, out],
    cwd: '/',
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', HOME: '/root' },
  });
  fs.closeSync(out);
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => resolve(signal ?? `exit ${code}`)),
  );
  child.unref();
  fs.writeFileSync(PIDFILE, `${child.pid}\n`);
  return { pid: child.pid, exited };
}

async function waitReady(pid, exited, timeoutMs = BOOT_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  let died = null;
  if (exited) exited.then((how) => (died = how));
  let booted = false;
  while (Date.now() < deadline) {
    if (died !== null) break;
    if (!booted) {
      try {
        await cli('core waitfullybooted', Math.max(1000, deadline - Date.now()));
        booted = true;
      } catch {
        await sleep(250);
        continue;
      }
    }
    if ((await tcpOpen(PORTS.ami)) && (await tcpOpen(PORTS.http))) return;
    await sleep(250);
  }
  const tail = tailLog(30);
  if (died !== null)
    throw new Error(`Asterisk (pid ${pid}) exited during start-up (${died}); last log lines:\n${tail}`);
  throw new Error(
    `Asterisk not ready after ${timeoutMs / 1000} s (fully booted: ${booted}, AMI ${PORTS.ami}, HTTP ${PORTS.http}); last log lines:\n${tail}`,
  );
}

function tailLog(n) {
  const lines = [];
  for (const f of [LOGFILE, path.join(ROOT, 'var/log/asterisk/messages')]) {
    try {
      lines.push(`--- ${f}`, ...fs.readFileSync(f, 'utf8').trimEnd().split('\n').slice(-n));
    } catch {
      // no such log yet
    }
  }
  return lines.join('\n');
}

function summary(prefix, started) {
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  return `${prefix} AMI 127.0.0.1:${PORTS.ami}, HTTP/ARI/WS 127.0.0.1:${PORTS.http} (/ari, /ws), SIP udp 127.0.0.1:${PORTS.sip}, RTP 20000-20999 (${secs} s)`;
}

// ---------------------------------------------------------------------------------------------
// Commands

async function up({ installHostDeps }) {
  const started = Date.now();
  requireRoot();
  if (!chrootReady()) await buildChroot(installHostDeps);
  await ensureProc();
  const files = desiredConfigs();
  const same = configsInstalled(files);

  if (await answering()) {
    if (same) {
      console.log(summary(`sandbox: Asterisk ${await version()} already running;`, started));
      return;
    }
    log('configs changed: restarting Asterisk');
    await stopAsterisk({ quiet: true });
  } else if (runningPids().length > 0) {
    // Alive but not answering: probably mid-boot (e.g. after `core restart now`). Give it a chance.
    const pid = runningPids()[0];
    try {
      if (!same) throw new Error('configs changed');
      await waitReady(pid, null, 30_000);
      console.log(summary(`sandbox: Asterisk ${await version()} running;`, started));
      return;
    } catch {
      log(`Asterisk pid ${pid} is not answering; stopping it`);
      await stopAsterisk({ quiet: true });
    }
  }
  if (!same) installConfigs(files);
  const { pid, exited } = await startAsterisk();
  await waitReady(pid, exited);
  console.log(summary(`sandbox: Asterisk ${await version()} up (pid ${pid});`, started));
}

async function down() {
  requireRoot();
  await stopAsterisk();
  // Leave no mounts behind once nothing runs in the chroot (so `rm -rf <dir>` is safe).
  if (exists(ROOT) && runningPids().length === 0) await unmountAll(ROOT);
}

async function status() {
  const pids = exists(ROOT) ? runningPids() : [];
  if (await answering()) {
    console.log(
      `running: Asterisk ${await version()} (pid ${pids.join(', ') || '?'}) in ${ROOT}; ` +
        `AMI 127.0.0.1:${PORTS.ami} ${(await tcpOpen(PORTS.ami)) ? 'open' : 'CLOSED'}, ` +
        `HTTP 127.0.0.1:${PORTS.http} ${(await tcpOpen(PORTS.http)) ? 'open' : 'CLOSED'}, SIP udp 127.0.0.1:${PORTS.sip}`,
    );
    return 0;
  }
  if (pids.length > 0) {
    console.log(`starting or unresponsive: Asterisk pid ${pids.join(', ')} does not answer the CLI`);
    return 3;
  }
  console.log(`stopped (chroot ${chrootReady() ? 'ready' : 'not built'} at ${ROOT})`);
  return 3;
}

async function main(argv) {
  const flags = new Set(argv.filter((a) => a.startsWith('--')));
  const [cmd, ...rest] = argv.filter((a) => !a.startsWith('--'));
  const unknown = [...flags].filter((f) => f !== '--install-host-deps');
  if (!cmd || rest.length > 0 || unknown.length > 0 || !['up', 'down', 'restart', 'status'].includes(cmd)) {
    throw new UsageError(
      'usage: node scripts/sandbox.mjs up [--install-host-deps] | down | restart | status',
    );
  }
  const installHostDeps = flags.has('--install-host-deps');
  if (cmd !== 'status') requireRoot();
  switch (cmd) {
    case 'up':
      await withLock(() => up({ installHostDeps }));
      return 0;
    case 'down':
      await withLock(() => down());
      return 0;
    case 'restart':
      await withLock(async () => {
        await down();
        await up({ installHostDeps });
      });
      return 0;
    case 'status':
      return status();
  }
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    log(err instanceof UsageError ? err.message : `error: ${err.stack ?? err}`);
    process.exit(1);
  },
);
