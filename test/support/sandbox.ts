/**
 * Control of the sandbox Asterisk (a Debian sid chroot, see scripts/sandbox.mjs) for integration tests.
 *
 * Jest's globalSetup (test/support/global-setup.js) already runs `sandbox.mjs up`; tests use these
 * helpers to talk to it, restart it, or read its logs. Everything listens on 127.0.0.1 only.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { WebSocket } from 'ws';

const execFileAsync = promisify(execFile);

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const SANDBOX_SCRIPT = path.join(REPO_ROOT, 'scripts', 'sandbox.mjs');
const DEFAULT_SANDBOX_DIR = '/var/cache/pbxpulse/sandbox';

/** A SIP endpoint of sandbox/asterisk/pjsip.conf. */
export interface SandboxEndpoint {
  /** Endpoint name = SIP user = auth username. */
  readonly name: string;
  readonly password: string;
  /** Name of its AOR section (differs from `name` only for the deliberately broken 1002). */
  readonly aor: string;
  readonly transport: 'ws' | 'udp' | 'any';
  readonly webrtc: boolean;
  /** rtp_timeout in seconds, 0 = none. */
  readonly rtpTimeoutSec: number;
  /** qualify_frequency of its AOR: a registered client must answer OPTIONS when > 0. */
  readonly qualifyFrequencySec: number;
}

/** Connection facts of the sandbox, mirrored from sandbox/asterisk/*.conf. Test secrets only. */
export const SANDBOX = {
  host: '127.0.0.1',
  amiHost: '127.0.0.1',
  amiPort: 15038,
  amiUser: 'pbxpulse',
  amiSecret: 'sandbox-ami-secret',
  /** AMI user with read=system, write=system only (no call/security events, no Command). */
  amiReadonlyUser: 'readonly',
  amiReadonlySecret: 'sandbox-ro-secret',
  httpPort: 18088,
  ariUrl: 'http://127.0.0.1:18088',
  ariUser: 'pbxpulse',
  ariPassword: 'sandbox-ari-secret',
  /** WebSocket SIP (transport-ws rides the HTTP server). */
  sipWsUrl: 'ws://127.0.0.1:18088/ws',
  sipUdpPort: 15060,
  /** SIP domain to use in request URIs and To/From headers. */
  sipDomain: '127.0.0.1',
  rtpPortStart: 20000,
  rtpPortEnd: 20999,
  /** Dialplan context of every endpoint. */
  context: 'internal',
  /** Extensions of [internal]. */
  extensions: {
    /** Answer + Echo(): media is echoed back; stop sending RTP to trigger rtp_timeout. */
    echo: '600',
    /** Answer + Playback(demo-congrats) + Hangup: Asterisk ends the call. */
    playback: '601',
    /** Answer + Milliwatt(): Asterisk sends a tone until the caller hangs up and reads nothing. */
    tone: '602',
  },
  endpoints: {
    /** Correct WebRTC extension (webrtc=yes, transport-ws, opus+ulaw). */
    webrtc: {
      name: '1001',
      password: 'pw1001-sandbox',
      aor: '1001',
      transport: 'ws',
      webrtc: true,
      rtpTimeoutSec: 30,
      qualifyFrequencySec: 30,
    },
    /** Seed 000: aors=1002-aor, so REGISTER To 1002 gets 404 / RequestNotSupported (AOR not found). */
    aorMismatch: {
      name: '1002',
      password: 'pw1002-sandbox',
      aor: '1002-aor',
      transport: 'any',
      webrtc: true,
      rtpTimeoutSec: 0,
      qualifyFrequencySec: 0,
    },
    /** UDP desk phone, rtp_timeout=5 (RTP-timeout hangups, Cause 44), max_contacts=1. */
    deskPhone: {
      name: '2001',
      password: 'pw2001-sandbox',
      aor: '2001',
      transport: 'udp',
      webrtc: false,
      rtpTimeoutSec: 5,
      qualifyFrequencySec: 30,
    },
    /** Plain UDP phone, no rtp_timeout, not qualified: a second party for calls. */
    plainPhone: {
      name: '2002',
      password: 'pw2002-sandbox',
      aor: '2002',
      transport: 'udp',
      webrtc: false,
      rtpTimeoutSec: 0,
      qualifyFrequencySec: 0,
    },
  },
} as const satisfies {
  endpoints: Record<string, SandboxEndpoint>;
  [key: string]: unknown;
};

/** Directory holding the chroot, the pid file and Asterisk's stdout log (`PBXPULSE_SANDBOX_DIR`). */
export function sandboxDir(): string {
  return path.resolve(process.env.PBXPULSE_SANDBOX_DIR ?? DEFAULT_SANDBOX_DIR);
}

/** Paths of the chroot and of the Asterisk logs on the host. */
export function sandboxPaths(): {
  dir: string;
  root: string;
  /** logger.conf `messages => notice,warning,error,security` */
  messagesLog: string;
  /** logger.conf `full => ...,verbose(3)` */
  fullLog: string;
  /** Asterisk's stdout/stderr (start-up banner, crashes). */
  stdoutLog: string;
} {
  const dir = sandboxDir();
  const root = path.join(dir, 'root');
  return {
    dir,
    root,
    messagesLog: path.join(root, 'var', 'log', 'asterisk', 'messages'),
    fullLog: path.join(root, 'var', 'log', 'asterisk', 'full'),
    stdoutLog: path.join(dir, 'asterisk.log'),
  };
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

async function runSandboxScript(args: readonly string[], timeoutMs: number): Promise<string> {
  try {
    const { stdout } = await execFileAsync(process.execPath, [SANDBOX_SCRIPT, ...args], {
      cwd: REPO_ROOT,
      timeout: timeoutMs,
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout.trim();
  } catch (err: unknown) {
    throw new Error(`sandbox ${args.join(' ')} failed: ${errorText(err)}`, { cause: err });
  }
}

/** Builds the chroot if needed and starts Asterisk (idempotent). Resolves the one-line summary. */
export function sandboxUp(): Promise<string> {
  return runSandboxScript(['up'], 20 * 60_000);
}

/** Stops Asterisk (idempotent). */
export async function sandboxDown(): Promise<void> {
  await runSandboxScript(['down'], 60_000);
}

/** Stops, rewrites the configs and starts Asterisk again; resolves once it is fully booted. */
export function sandboxRestart(): Promise<string> {
  return runSandboxScript(['restart'], 20 * 60_000);
}

/**
 * Runs one Asterisk CLI command (`asterisk -rx`) inside the chroot and resolves its output.
 * Rejects if Asterisk is not running (the CLI then exits 1: "Unable to connect to remote asterisk").
 */
export async function asteriskCli(cmd: string, timeoutMs = 15_000): Promise<string> {
  try {
    const { stdout } = await execFileAsync(
      'chroot',
      [sandboxPaths().root, '/usr/sbin/asterisk', '-rx', cmd],
      {
        timeout: timeoutMs,
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    return stdout;
  } catch (err: unknown) {
    throw new Error(`asterisk -rx "${cmd}" failed: ${errorText(err)}`, { cause: err });
  }
}

/**
 * `core restart now`: Asterisk re-executes itself in place (same pid, transports rebuilt, every AMI/ARI
 * connection dropped). The CLI call returns as soon as the old instance is gone; this does not wait
 * for the new one (use waitFullyBooted).
 */
export async function coreRestartNow(): Promise<void> {
  await asteriskCli('core restart now');
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves once `core waitfullybooted` succeeds; rejects after timeoutMs. */
export async function waitFullyBooted(timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'not tried';
  while (Date.now() < deadline) {
    try {
      await asteriskCli('core waitfullybooted', Math.max(1000, deadline - Date.now()));
      return;
    } catch (err: unknown) {
      last = err instanceof Error ? err.message : String(err);
    }
    await sleep(200);
  }
  throw new Error(`Asterisk not fully booted after ${timeoutMs} ms: ${last}`);
}

/** Whether the sandbox's ARI events WebSocket opens within `timeoutMs` (a throw-away app, closed at once). */
export function ariAnswers(timeoutMs = 3000): Promise<boolean> {
  return new Promise((resolve) => {
    const url = new URL('/ari/events', SANDBOX.ariUrl.replace(/^http/, 'ws'));
    url.searchParams.set('app', `pbxpulse-guard-${process.pid}`);
    const auth = Buffer.from(`${SANDBOX.ariUser}:${SANDBOX.ariPassword}`).toString('base64');
    const ws = new WebSocket(url, { headers: { authorization: `Basic ${auth}` } });
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      ws.terminate();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    ws.once('open', () => done(true));
    ws.once('error', () => done(false));
    ws.once('unexpected-response', () => done(false));
  });
}

/**
 * Before each integration file: the sandbox Asterisk must answer ARI. Asterisk 22.10.1 was seen, rarely,
 * to wedge its ARI (every events WebSocket hangs, `ari show apps` hangs) or to crash after a daemon
 * closed its events WebSocket; one such moment would fail every later file. Restart it then, loudly.
 */
export async function ensureSandboxResponsive(): Promise<void> {
  if (await ariAnswers()) return;
  console.warn(
    'sandbox: the ARI events WebSocket does not open (Asterisk wedged or gone); restarting the sandbox Asterisk',
  );
  await sandboxRestart();
  await waitFullyBooted(60_000);
  if (!(await ariAnswers(10_000))) throw new Error('sandbox: ARI still does not answer after a restart');
}
