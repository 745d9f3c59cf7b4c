/**
 * Real SIP traffic against the sandbox Asterisk for `npm run demo`: a 401 loop (wrong password on 2001),
 * an AOR-not-found (1002), a few unknown accounts, a good registration (2002) and a short Echo call with
 * RTP. With `--continuous` it then goes on until SIGTERM: a wrong-password REGISTER of 2001 every 20 s
 * (the loop stays active, so PbxpulseAuthLoop fires after its 2 minutes) and a 20 s Echo call from 2002
 * every minute (calls to watch on the board and /ws). Compiled with the SIP test clients
 * (tsconfig.scripts.json).
 */
import { SipUdpClient } from '../test/support/sip/sip-udp-client';

async function main(): Promise<void> {
  const phone = await SipUdpClient.open();
  try {
    for (let i = 0; i < 5; i++) await phone.register({ user: '2001', password: 'not-the-password' });
    console.log('demo traffic: 2001 registered 5 times with a wrong password (a 401 loop)');

    const r = await phone.register({ user: '1002', password: 'pw1002-sandbox' });
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
  const loop = await SipUdpClient.open();
  const desk = await SipUdpClient.open();
  await desk.register({ user: '2002', password: 'pw2002-sandbox', expires: 3600 });
  console.log(
    'demo traffic: continuing (a wrong 2001 password every 20 s, a 20 s call from 2002 every minute)',
  );
  const keepLooping = (async () => {
    while (!stopping) {
      await loop.register({ user: '2001', password: 'not-the-password' }).catch(() => undefined);
      await pause(20_000);
    }
  })();
  const keepCalling = (async () => {
    while (!stopping) {
      await pause(40_000);
      if (stopping) break;
      const call = await desk.call('600', { sendRtp: true }).catch(() => undefined);
      await pause(20_000);
      await call?.hangup().catch(() => undefined);
    }
  })();
  await Promise.all([keepLooping, keepCalling]);
  await Promise.allSettled([loop.close({ graceful: false }), desk.close({ graceful: false })]);
}

const run = process.argv.includes('--continuous') ? continuous : main;
run().catch((err: Error) => {
  console.error(`demo traffic failed: ${err.message}`);
  process.exit(1);
});
