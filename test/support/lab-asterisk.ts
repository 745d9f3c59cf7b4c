/**
 * A second, mutable "lab" Asterisk for tests that must change configuration, reload or restart.
 *
 * It runs in the sandbox's chroot (test/support/sandbox.ts) next to the shared sandbox Asterisk, which
 * it never touches: its own config directory (`<root>/etc/asterisk-lab`, from sandbox/lab/*.conf),
 * its own run (control socket, pid), db, log, spool and cache directories (sandbox/lab/asterisk.conf),
 * its own ports (AMI 25038, HTTP 28088, HTTPS 28089, SIP UDP 25060, RTP 21000-21999, all on 127.0.0.1).
 * `labStart` checks each of the first four before starting: one that is taken (another Asterisk on this
 * machine) is replaced by a free port in the configuration it installs, and `LAB` reports the ports in
 * use, so a test never logs in to, or reloads, an Asterisk that is not the lab.
 *
 * The daemon is started through the symlink `<root>/usr/local/sbin/asterisk-lab` → /usr/sbin/asterisk, so
 * its process name (comm) is `asterisk-lab`: scripts/sandbox.mjs finds "its" Asterisk by comm
 * `asterisk` inside the chroot and would otherwise stop or adopt the lab on `down`/`restart`/`up`.
 */
import { execFile, spawn } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { sandboxDir, sandboxPaths } from './sandbox';

const execFileAsync = promisify(execFile);

/** The lab's ports as sandbox/lab/*.conf sets them. */
export const LAB_DEFAULT_PORTS = { ami: 25038, http: 28088, https: 28089, sip: 25060 } as const;
type LabPort = keyof typeof LAB_DEFAULT_PORTS;
const LAB_PORT_PROTOCOLS: Record<LabPort, 'tcp' | 'udp'> = {
  ami: 'tcp',
  http: 'tcp',
  https: 'tcp',
  sip: 'udp',
};
const LAB_PORT_NAMES: Record<LabPort, string> = { ami: 'AMI', http: 'HTTP', https: 'HTTPS', sip: 'SIP' };
/** The ports of the lab as last started (the defaults until then). */
const ports: Record<LabPort, number> = { ...LAB_DEFAULT_PORTS };

/** Connection facts of the lab, mirrored from sandbox/lab/*.conf (ports: as `labStart` chose them). Test secrets only. */
export const LAB = {
  host: '127.0.0.1',
  get amiPort(): number {
    return ports.ami;
  },
  amiUser: 'pbxpulse',
  amiSecret: 'lab-ami-secret',
  get httpPort(): number {
    return ports.http;
  },
  /** HTTPS/WSS port for TLS scenarios (http.conf tlsbindaddr; not enabled in the base config). */
  get httpsPort(): number {
    return ports.https;
  },
  get ariUrl(): string {
    return `http://127.0.0.1:${ports.http}`;
  },
  ariUser: 'pbxpulse',
  ariPassword: 'lab-ari-secret',
  get sipPort(): number {
    return ports.sip;
  },
  sipDomain: '127.0.0.1',
  rtpPortStart: 21000,
  rtpPortEnd: 21999,
  context: 'internal',
  /** Config directory inside the chroot (astetcdir). */
  etcDir: '/etc/asterisk-lab',
  /** asterisk.conf of the lab, inside the chroot (`asterisk -C`). */
  confFile: '/etc/asterisk-lab/asterisk.conf',
  /** Endpoints of the base pjsip.conf (both correct). */
  endpoints: {
    webrtc: { name: '1001', password: 'pw1001-lab' },
    udp: { name: '1002', password: 'pw1002-lab' },
  },
} as const;

/** Whether 127.0.0.1:`port` can be bound now (`false` when something holds it). */
function canBind(port: number, protocol: 'tcp' | 'udp'): Promise<boolean> {
  return new Promise((resolve) => {
    if (protocol === 'udp') {
      const socket = dgram.createSocket('udp4');
      socket.once('error', () => {
        socket.close();
        resolve(false);
      });
      socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
      return;
    }
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A port the OS gives out as free right now. */
function freePort(protocol: 'tcp' | 'udp'): Promise<number> {
  return new Promise((resolve, reject) => {
    if (protocol === 'udp') {
      const socket = dgram.createSocket('udp4');
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => {
        const { port } = socket.address();
        socket.close(() => resolve(port));
      });
      return;
    }
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Each lab port: the default when it is free, else a free one, with a line naming the taken port.
 * Called with the lab stopped, so a port still held is someone else's.
 */
async function chooseLabPorts(): Promise<void> {
  const taken = new Set<number>();
  for (const name of Object.keys(LAB_DEFAULT_PORTS) as LabPort[]) {
    const wanted = LAB_DEFAULT_PORTS[name];
    const protocol = LAB_PORT_PROTOCOLS[name];
    let port: number = wanted;
    if (!(await canBind(wanted, protocol))) {
      do port = await freePort(protocol);
      while (taken.has(port));
      process.stderr.write(
        `lab Asterisk: ${LAB_PORT_NAMES[name]} port 127.0.0.1:${wanted}/${protocol} is in use by another ` +
          `process (another Asterisk?); the lab uses 127.0.0.1:${port} instead\n`,
      );
    }
    taken.add(port);
    ports[name] = port;
  }
}

/**
 * A lab configuration text with each default port that `labStart` moved replaced by the port in use
 * (`port = 25038`, `bindport = 28088`, `bind = 127.0.0.1:25060`, `tlsbindaddr = 127.0.0.1:28089`).
 */
export function withLabPorts(text: string): string {
  let out = text;
  for (const name of Object.keys(LAB_DEFAULT_PORTS) as LabPort[]) {
    if (ports[name] === LAB_DEFAULT_PORTS[name]) continue;
    out = out.replace(new RegExp(`(?<![0-9])${LAB_DEFAULT_PORTS[name]}(?![0-9])`, 'g'), String(ports[name]));
  }
  return out;
}

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const BASE_DIR = path.join(REPO_ROOT, 'sandbox', 'lab');
/** Inside the chroot: a symlink to /usr/sbin/asterisk that gives the lab its own process name. */
const LAB_BINARY = '/usr/local/sbin/asterisk-lab';
const LAB_COMM = 'asterisk-lab';
const BOOT_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Host paths of the lab. */
export function labPaths(): { root: string; etc: string; stdoutLog: string; messagesLog: string } {
  const root = sandboxPaths().root;
  return {
    root,
    etc: path.join(root, LAB.etcDir),
    stdoutLog: path.join(sandboxDir(), 'lab-asterisk.log'),
    messagesLog: path.join(root, 'var', 'log', 'asterisk-lab', 'messages'),
  };
}

/** The base configuration (sandbox/lab/*.conf) by file name. */
export function labBaseConfig(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of fs.readdirSync(BASE_DIR).sort()) {
    if (name.endsWith('.conf')) out[name] = fs.readFileSync(path.join(BASE_DIR, name), 'utf8');
  }
  return out;
}

/**
 * Writes config files into the lab's config directory without restarting (names may contain a
 * sub-directory, e.g. `keys/lab.pem`), with the lab's default ports replaced by those in use
 * (`withLabPorts`, `.conf` files only). Asterisk sees them on the next reload.
 */
export function labWrite(files: Record<string, string>): void {
  const etc = labPaths().etc;
  for (const [name, text] of Object.entries(files)) {
    const target = path.resolve(etc, name);
    if (!target.startsWith(etc + path.sep)) throw new Error(`lab config name escapes ${etc}: ${name}`);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, name.endsWith('.conf') ? withLabPorts(text) : text, { mode: 0o640 });
  }
}

function errorText(err: unknown): string {
  if (err !== null && typeof err === 'object') {
    const { stderr, stdout, message } = err as { stderr?: unknown; stdout?: unknown; message?: unknown };
    const parts = [stderr, stdout].filter((p): p is string => typeof p === 'string' && p.trim() !== '');
    if (parts.length > 0) return parts.join('\n').trim();
    if (typeof message === 'string') return message;
  }
  return String(err);
}

/** One CLI command on the lab (`asterisk -C <lab> -rx`); rejects if the lab is not running. */
export async function labCli(cmd: string, timeoutMs = 15_000): Promise<string> {
  try {
    const { stdout } = await execFileAsync(
      'chroot',
      [labPaths().root, '/usr/sbin/asterisk', '-C', LAB.confFile, '-rx', cmd],
      { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
    );
    return stdout;
  } catch (err: unknown) {
    throw new Error(`lab asterisk -rx "${cmd}" failed: ${errorText(err)}`, { cause: err });
  }
}

/** Lab daemons (comm `asterisk-lab`) whose root is the sandbox chroot. */
export function labPids(): number[] {
  let realRoot: string;
  try {
    realRoot = fs.realpathSync(labPaths().root);
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readlinkSync(`/proc/${entry}/root`) !== realRoot) continue;
      if (fs.readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== LAB_COMM) continue;
      pids.push(Number(entry));
    } catch {
      // vanished, or not ours to inspect
    }
  }
  return pids;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function waitGone(pids: number[], ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!pids.some(alive)) return true;
    await sleep(100);
  }
  return !pids.some(alive);
}

/** `core stop now`, bounded; SIGKILL what is left. Idempotent. */
export async function labStop(): Promise<void> {
  const pids = labPids();
  if (pids.length === 0) return;
  await labCli('core stop now', 5000).catch(() => undefined);
  if (await waitGone(pids, STOP_TIMEOUT_MS)) return;
  for (const p of pids) if (alive(p)) process.kill(p, 'SIGKILL');
  if (!(await waitGone(pids, 5000))) throw new Error(`lab Asterisk ${pids.join(', ')} does not die`);
}

function tail(file: string, n: number): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * (Re)starts the lab: stops a running one, chooses its ports (a default that another process holds is
 * replaced by a free port, see `LAB`), replaces `<root>/etc/asterisk-lab` with the base configuration
 * overridden by `files`, starts Asterisk and resolves once it is fully booted (30 s max).
 */
export async function labStart(files: Record<string, string> = {}): Promise<{ pid: number; bootMs: number }> {
  const started = Date.now();
  await labStop();
  await chooseLabPorts();
  const { root, etc, stdoutLog } = labPaths();
  if (!fs.existsSync(path.join(root, 'usr', 'sbin', 'asterisk'))) {
    throw new Error(`no Asterisk in ${root}: run the sandbox first (node scripts/sandbox.mjs up)`);
  }
  const link = path.join(root, LAB_BINARY);
  // lstat: the link is absolute inside the chroot, so it dangles when followed from the host.
  if (!fs.lstatSync(link, { throwIfNoEntry: false })) {
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.symlinkSync('/usr/sbin/asterisk', link);
  }
  fs.rmSync(etc, { recursive: true, force: true });
  fs.mkdirSync(etc, { recursive: true });
  labWrite({ ...labBaseConfig(), ...files });
  for (const d of [
    'var/run/asterisk-lab',
    'var/lib/asterisk-lab',
    'var/log/asterisk-lab',
    'var/spool/asterisk-lab',
    'var/cache/asterisk-lab',
  ]) {
    fs.mkdirSync(path.join(root, d), { recursive: true });
  }
  fs.appendFileSync(stdoutLog, `\n==== ${new Date().toISOString()} lab-asterisk.ts starting the lab ====\n`);
  const out = fs.openSync(stdoutLog, 'a');
  const child = spawn('chroot', [root, LAB_BINARY, '-C', LAB.confFile, '-f', '-n'], {
    detached: true,
    stdio: ['ignore', out, out],
    cwd: '/',
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', HOME: '/root' },
  });
  fs.closeSync(out);
  let died: string | null = null;
  child.once('exit', (code, signal) => (died = signal ?? `exit ${code}`));
  child.unref();
  const pid = child.pid ?? -1;
  const deadline = started + BOOT_TIMEOUT_MS;
  let last = 'not tried';
  while (Date.now() < deadline && died === null) {
    try {
      await labCli('core waitfullybooted', Math.max(1000, deadline - Date.now()));
      return { pid, bootMs: Date.now() - started };
    } catch (err: unknown) {
      last = err instanceof Error ? err.message : String(err);
    }
    await sleep(200);
  }
  const why = died !== null ? `exited during start-up (${died as string})` : `not booted: ${last}`;
  await labStop().catch(() => undefined);
  throw new Error(`lab Asterisk (pid ${pid}) ${why}; last lines of ${stdoutLog}:\n${tail(stdoutLog, 30)}`);
}

/** A pbxpulse `nodes:` entry for startDaemon (test/support/daemon.ts) pointing at the lab. */
export function labNodeYaml(name: string): string {
  return [
    `  - name: ${name}`,
    `    ami: { host: ${LAB.host}, port: ${LAB.amiPort}, username: ${LAB.amiUser}, secret: "${LAB.amiSecret}" }`,
    `    ari: { url: "${LAB.ariUrl}", username: ${LAB.ariUser}, password: "${LAB.ariPassword}" }`,
  ].join('\n');
}
