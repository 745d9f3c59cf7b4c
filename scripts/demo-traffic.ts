/**
 * Real SIP traffic against the sandbox Asterisk for `npm run demo`: a 401 loop (wrong password on 2001),
 * an AOR-not-found (1002), a few unknown accounts, a good registration (2002) and a short Echo call with
 * RTP. With `--continuous` it then goes on until SIGTERM: the REGISTERs of `RECURRING_REGISTERS` (so
 * both alerts stay active for as long as the demo runs) and a 20 s Echo call from 2002 every minute
 * (calls to watch on the board and /ws). Compiled with the SIP test clients (tsconfig.scripts.json).
 */
import { SANDBOX } from '../test/support/sandbox';
import { SipUdpClient } from '../test/support/sip/sip-udp-client';

/** A REGISTER the continuous demo repeats, as a misconfigured phone keeps retrying. */
export interface RecurringRegister {
  readonly user: string;
  readonly password: string;
  readonly everyMs: number;
  readonly what: string;
}

/**
 * Sent once, either alert would resolve a few minutes into the demo and a newcomer opening the alerts
 * page later would see nothing: each interval stays well inside the window that keeps its alert active.
 */
export const RECURRING_REGISTERS: readonly RecurringRegister[] = [
  // Within the 401-loop window (3 failures in 60 s, quiet after 120 s): the loop never clears.
  { user: '2001', password: 'not-the-password', everyMs: 20_000, what: 'a wrong 2001 password every 20 s' },
  // Inside the 5 minutes of the AOR-not-found alert (pbxpulse's and PbxpulseAorNotFound's).
  {
    user: SANDBOX.endpoints.aorMismatch.name,
    password: SANDBOX.endpoints.aorMismatch.password,
    everyMs: 60_000,
    what: 'a 1002 REGISTER (404) every minute',
  },
];

async function main(): Promise<void> {
  const phone = await SipUdpClient.open();
  try {
    for (let i = 0; i < 5; i++) await phone.register({ user: '2001', password: 'not-the-password' });
    console.log('demo traffic: 2001 registered 5 times with a wrong password (a 401 loop)');

    const { name, password } = SANDBOX.endpoints.aorMismatch;
    const r = await phone.register({ user: name, password });
    console.log(`demo traffic: 1002 REGISTER answered ${r.status} (its AOR is named 1002-aor)`);

    for (let i = 0; i < 3; i++) await phone.register({ user: `scanner-${i}`, password: 'guess' });
    console.log('demo traffic: 3 REGISTERs for unknown accounts');
  } finally {
    await phone.close({ graceful: false });
  }

  const desk = await SipUdpClient.open();
  const ok = await desk.register({ user: '2002', password: 'pw2002-sandbox', expires: 3600 });
  console.log(`demo traffic: 2002 registered (${ok.status})`);
  const call = await desk.call('600', { sendRtp: true });
  console.log('demo traffic: 2002 is calling 600 (Echo) for 8 s');
  await new Promise((r) => setTimeout(r, 8000));
  await call.hangup();
  console.log(`demo traffic: call ended; ${call.rtpSent} RTP packets sent, ${call.rtpReceived} echoed back`);
  // Leave 2002 registered for the demo: drop the socket without un-REGISTERing (`--tidy`, for the test
  // of this script, un-REGISTERs so no contact outlives it).
  await desk.close({ graceful: process.argv.includes('--tidy') });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function continuous(): Promise<void> {
  let stopping = false;
  const stopped = new Promise<void>((resolve) => {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      process.once(sig, () => {
        stopping = true;
        resolve();
      });
    }
  });
  const pause = (ms: number) => Promise.race([sleep(ms), stopped]);
  // One socket per recurring REGISTER: each keeps its own Call-ID and CSeq, as separate phones would.
  const phones = await Promise.all(RECURRING_REGISTERS.map(() => SipUdpClient.open()));
  const desk = await SipUdpClient.open();
  await desk.register({ user: '2002', password: 'pw2002-sandbox', expires: 3600 });
  const plan = RECURRING_REGISTERS.map((r) => r.what).join(', ');
  console.log(`demo traffic: continuing (${plan}, a 20 s call from 2002 every minute)`);
  const keepRegistering = RECURRING_REGISTERS.map(async ({ user, password, everyMs }, i) => {
    while (!stopping) {
      await pause(everyMs);
      if (stopping) break;
      await phones[i].register({ user, password }).catch(() => undefined);
    }
  });
  const keepCalling = (async () => {
    while (!stopping) {
      await pause(40_000);
      if (stopping) break;
      const call = await desk.call('600', { sendRtp: true }).catch(() => undefined);
      await pause(20_000);
      await call?.hangup().catch(() => undefined);
    }
  })();
  await Promise.all([...keepRegistering, keepCalling]);
  await Promise.allSettled([...phones, desk].map((p) => p.close({ graceful: false })));
}

// Only when run: a test imports RECURRING_REGISTERS without sending any traffic.
if (require.main === module) {
  const run = process.argv.includes('--continuous') ? continuous : main;
  run().catch((err: Error) => {
    console.error(`demo traffic failed: ${err.message}`);
    process.exit(1);
  });
}
