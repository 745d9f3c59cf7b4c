/**
 * SIP load on the lab Asterisk (test/support/lab-asterisk.ts) for the restart-under-load test, the
 * restart benchmark and the soak: the lab's base pjsip.conf plus N generated UDP endpoints (`3000` …,
 * password `pw<name>`, one contact each that a new registration replaces), and SIP load from two SIPp
 * runs (on the lab or any PBX whose context has 600 = Echo): one registering the endpoints over and over
 * with digest auth, one placing calls to 600 with G.711 RTP, both until stopped.
 */
import { freePort } from './prometheus-server';
import { LAB, labBaseConfig } from './lab-asterisk';
import { sippWorkDir, startSipp, writeInjectionCsv, type SippResult } from '../../bench/support/sipp';

export const LOAD_FIRST_ENDPOINT = 3000;

export function loadEndpointNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => String(LOAD_FIRST_ENDPOINT + i));
}

/** The lab's files with `n` generated endpoints appended to its pjsip.conf (for `labStart`). */
export function labLoadConfig(n: number): Record<string, string> {
  const base = labBaseConfig()['pjsip.conf'] ?? '';
  const generated = loadEndpointNames(n).map((name) =>
    [
      `[${name}]`,
      'type = endpoint',
      'transport = transport-udp',
      `context = ${LAB.context}`,
      'disallow = all',
      'allow = ulaw',
      `auth = ${name}-auth`,
      `aors = ${name}`,
      'direct_media = no',
      `[${name}-auth]`,
      'type = auth',
      'auth_type = userpass',
      `username = ${name}`,
      `password = pw${name}`,
      `[${name}]`,
      'type = aor',
      'max_contacts = 1',
      'remove_existing = yes',
      '',
    ].join('\n'),
  );
  return {
    'pjsip.conf': `${base}\n; generated load endpoints (test/support/lab-load.ts)\n${generated.join('\n')}`,
  };
}

export interface SipLoadOptions {
  /** SIP server, host:port (UDP). */
  target: string;
  /** Endpoint = auth user = AOR names; the password of each is `pw<name>`. */
  names: readonly string[];
  /** REGISTERs per second. */
  regRate: number;
  /** New calls per second, each held `callHoldMs`. */
  callRate: number;
  callHoldMs: number;
  /** SIPp gives up after this long whatever happens (a bound for a crashed test). */
  maxSeconds: number;
}

export interface SipLoad {
  /** Soft-stops both SIPp runs (no new calls; running calls end) and returns their statistics. */
  stop(): Promise<{ register: SippResult; calls: SippResult }>;
}

/** SIPp registering `names` over and over and calling 600 (Echo) as them, until stopped. */
export async function startSipLoad(o: SipLoadOptions): Promise<SipLoad> {
  const dir = sippWorkDir('pbxpulse-sip-load-');
  const users = o.names.map((n) => [n, `pw${n}`, '3600']);
  const regCsv = writeInjectionCsv(dir, 'register-users.csv', users);
  const callCsv = writeInjectionCsv(dir, 'call-users.csv', users);
  const target = o.target;
  const register = startSipp({
    dir,
    scenario: 'register',
    target,
    injection: regCsv,
    localPort: await freePort(),
    rate: o.regRate,
    maxCalls: Math.ceil(o.regRate * o.maxSeconds),
    limit: Math.max(10, o.regRate * 5),
    timeoutS: o.maxSeconds,
  });
  const calls = startSipp({
    dir,
    scenario: 'echo-call',
    target,
    injection: callCsv,
    localPort: await freePort(),
    rate: o.callRate,
    maxCalls: Math.ceil(o.callRate * o.maxSeconds),
    limit: Math.max(2, Math.ceil(((o.callRate * o.callHoldMs) / 1000) * 2)),
    pauseMs: o.callHoldMs,
    timeoutS: o.maxSeconds,
    // Media from a free port: another SIPp on this machine may hold the default 6000.
    extra: ['-mp', String(await freePort())],
  });
  return {
    stop: async () => {
      const [r, c] = await Promise.all([register.stop(5000), calls.stop(o.callHoldMs + 5000)]);
      return { register: r, calls: c };
    },
  };
}

/** `startSipLoad` on the lab's generated endpoints (`labLoadConfig(endpoints)`). */
export function startLabLoad(
  o: Omit<SipLoadOptions, 'target' | 'names'> & { endpoints: number },
): Promise<SipLoad> {
  return startSipLoad({ ...o, target: `${LAB.host}:${LAB.sipPort}`, names: loadEndpointNames(o.endpoints) });
}
