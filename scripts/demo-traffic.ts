/**
 * Real SIP traffic against the sandbox Asterisk, once, for `npm run demo`: a 401 loop (wrong password
 * on 2001), an AOR-not-found (1002), a few unknown accounts, a good registration (2002) and a short
 * Echo call with RTP. Compiled with the SIP test clients (tsconfig.scripts.json).
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
  // Leave 2002 registered for the demo: drop the socket without un-REGISTERing.
  await desk.close({ graceful: false });
}

main().catch((err: Error) => {
  console.error(`demo traffic failed: ${err.message}`);
  process.exit(1);
});
