import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { createHash } from 'node:crypto';
import { expectEventually } from '../support/expect-eventually';
import { SANDBOX, asteriskCli, waitFullyBooted } from '../support/sandbox';
import { computeDigest, parseDigestChallenge } from '../support/sip/digest';
import {
  createResponse,
  getHeader,
  getHeaders,
  headerParam,
  parseSdp,
  parseSipMessage,
  serializeSipMessage,
  type SipRequest,
  type SipResponse,
} from '../support/sip/sip-message';
import { SipUdpClient } from '../support/sip/sip-udp-client';
import { SipWsClient } from '../support/sip/sip-ws-client';

type AmiEvent = Record<string, string>;

// The integration project's testTimeout does not apply under --selectProjects; each test here is bounded.
jest.setTimeout(20_000);

/** Resolves `promise`, or 'timeout' after `ms` (timer cleared either way). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Minimal AMI tap over a raw TCP socket: logs in and records every event. */
class AmiTap {
  readonly events: AmiEvent[] = [];
  private buffer = '';
  private bannerSeen = false;

  private constructor(private readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', () => undefined);
  }

  static async connect(): Promise<AmiTap> {
    const socket = net.connect(SANDBOX.amiPort, SANDBOX.amiHost);
    const tap = new AmiTap(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    socket.write(
      `Action: Login\r\nActionID: login\r\nUsername: ${SANDBOX.amiUser}\r\nSecret: ${SANDBOX.amiSecret}\r\nEvents: on\r\n\r\n`,
    );
    const login = await tap.waitFor((f) => f.ActionID === 'login', 5000);
    if (login.Response !== 'Success') throw new Error(`AMI login failed: ${JSON.stringify(login)}`);
    return tap;
  }

  private frames: AmiEvent[] = [];

  private onData(chunk: string): void {
    this.buffer += chunk;
    if (!this.bannerSeen) {
      const eol = this.buffer.indexOf('\r\n');
      if (eol < 0) return;
      this.buffer = this.buffer.slice(eol + 2);
      this.bannerSeen = true;
    }
    for (;;) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const frame: AmiEvent = {};
      for (const line of this.buffer.slice(0, end).split('\r\n')) {
        const colon = line.indexOf(':');
        if (colon > 0) frame[line.slice(0, colon)] = line.slice(colon + 1).trim();
      }
      this.buffer = this.buffer.slice(end + 4);
      this.frames.push(frame);
      if (frame.Event !== undefined) this.events.push(frame);
    }
  }

  /** Resolves the first frame (event or response) matching `pred`, already received or to come. */
  async waitFor(pred: (frame: AmiEvent) => boolean, timeoutMs = 5000): Promise<AmiEvent> {
    return expectEventually(() => {
      const found = this.frames.find(pred);
      if (found === undefined) throw new Error('no matching AMI frame');
      return found;
    }, timeoutMs);
  }

  /** Sends an action and resolves its events up to the one named `completeEvent`. */
  async list(action: string, completeEvent: string, timeoutMs = 5000): Promise<AmiEvent[]> {
    const id = `${action}-${Math.random().toString(36).slice(2)}`;
    this.socket.write(`Action: ${action}\r\nActionID: ${id}\r\n\r\n`);
    await this.waitFor((f) => f.ActionID === id && f.Event === completeEvent, timeoutMs);
    return this.frames.filter((f) => f.ActionID === id && f.Event !== undefined && f.Event !== completeEvent);
  }

  close(): void {
    this.socket.destroy();
  }
}

async function contacts(): Promise<string> {
  return asteriskCli('pjsip show contacts');
}

describe('SIP test clients (unit)', () => {
  it('computes RFC 2617 / RFC 7616 digest responses and the RFC 2069 no-qop form', () => {
    // RFC 2617 §3.5
    const rfc2617 = parseDigestChallenge(
      'Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", ' +
        'opaque="5ccc069c403ebaf9f0171e9517f40e41"',
    )!;
    expect(rfc2617).toMatchObject({ algorithm: 'MD5', qop: ['auth', 'auth-int'] });
    const d1 = computeDigest({
      challenge: rfc2617,
      method: 'GET',
      uri: '/dir/index.html',
      username: 'Mufasa',
      password: 'Circle Of Life',
      cnonce: '0a4f113b',
      nc: 1,
    });
    expect(d1.response).toBe('6629fae49393a05397450978507c4ef1');
    expect(d1.header).toContain('qop=auth, nc=00000001');
    expect(d1.header).toContain('opaque="5ccc069c403ebaf9f0171e9517f40e41"');

    // RFC 7616 §3.9.1, SHA-256 and MD5
    const base =
      'realm="http-auth@example.org", qop="auth, auth-int", nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", ' +
      'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"';
    for (const [algorithm, expected] of [
      ['SHA-256', '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1'],
      ['MD5', '8ca523f5e9506fed4657c9700eebdbec'],
    ]) {
      const d = computeDigest({
        challenge: parseDigestChallenge(`Digest ${base}, algorithm=${algorithm}`)!,
        method: 'GET',
        uri: '/dir/index.html',
        username: 'Mufasa',
        password: 'Circle of Life',
        cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
        nc: 1,
      });
      expect(d.response).toBe(expected);
    }

    // No qop: response = MD5(HA1:nonce:HA2), no cnonce/nc.
    const md5 = (s: string) => createHash('md5').update(s).digest('hex');
    const noQop = computeDigest({
      challenge: parseDigestChallenge('Digest realm="asterisk", nonce="abc"')!,
      method: 'REGISTER',
      uri: 'sip:127.0.0.1',
      username: '2002',
      password: 'pw',
    });
    expect(noQop.response).toBe(md5(`${md5('2002:asterisk:pw')}:abc:${md5('REGISTER:sip:127.0.0.1')}`));
    expect(noQop.header).not.toMatch(/cnonce|qop|nc=/);
  });

  it('retransmits over UDP (500 ms, doubling) and rejects with a clear error when nobody answers', async () => {
    const sink = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => sink.bind(0, '127.0.0.1', resolve));
    const received: number[] = [];
    sink.on('message', () => received.push(Date.now()));
    const phone = await SipUdpClient.open({ serverPort: sink.address().port, transactionTimeoutMs: 1700 });
    try {
      const started = Date.now();
      await expect(phone.register({ user: '2002', password: 'x' })).rejects.toThrow(
        /SIP REGISTER sip:127\.0\.0\.1 to udp:127\.0\.0\.1:\d+: no final response within \d+ ms \(no response at all/,
      );
      expect(Date.now() - started).toBeLessThan(2500);
      // sent at 0, 500 and 1500 ms
      expect(received).toHaveLength(3);
    } finally {
      await phone.close();
      sink.close();
    }
  });

  it('cancels an INVITE that only rings, ACKs the 487, and the call fails by local', async () => {
    // A fake UAS: 100 + 180 to INVITE, 200 to CANCEL then 487 to the INVITE; records the ACK.
    const uas = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => uas.bind(0, '127.0.0.1', resolve));
    const methods: string[] = [];
    uas.on('message', (data, rinfo) => {
      const req = parseSipMessage(data);
      if (req.kind !== 'request') return;
      methods.push(req.method);
      const send = (res: SipResponse) => uas.send(serializeSipMessage(res), rinfo.port, rinfo.address);
      if (req.method === 'INVITE') {
        send(createResponse(req, 100, 'Trying'));
        send(createResponse(req, 180, 'Ringing', { toTag: 'uas1' }));
        invite = req;
      } else if (req.method === 'CANCEL') {
        send(createResponse(req, 200, 'OK', { toTag: 'uas1' }));
        send(createResponse(invite!, 487, 'Request Terminated', { toTag: 'uas1' }));
      }
    });
    let invite: SipRequest | undefined;
    const phone = await SipUdpClient.open({ serverPort: uas.address().port, answerTimeoutMs: 300 });
    try {
      const call = await phone.call('600', { sendRtp: true, user: '2002', password: 'x' });
      expect(call.state).toBe('failed');
      expect(call.provisional).toEqual([100, 180]);
      expect(await call.ended).toEqual({
        by: 'local',
        status: 487,
        reason: 'no answer within 300 ms: cancelled',
      });
      await expectEventually(() => expect(methods).toEqual(['INVITE', 'CANCEL', 'ACK']), 1000);
    } finally {
      await phone.close();
      uas.close();
    }
  });

  it('parses SIP messages case-insensitively, with folding, compact forms and Content-Length', () => {
    const msg = parseSipMessage(
      'SIP/2.0 200 OK\r\nvia: SIP/2.0/UDP 127.0.0.1:5;branch=z9hG4bKx;rport=5\r\nv: SIP/2.0/UDP b;branch=z9hG4bKy\r\n' +
        't: <sip:600@127.0.0.1>;tag=abc\r\nX-Folded: one\r\n two\r\nContent-Length: 12\r\n\r\nv=0\r\nc=IN IP4 1.2.3.4\r\nEXTRA',
    );
    expect(msg.kind).toBe('response');
    expect(getHeaders(msg, 'VIA')).toHaveLength(2);
    expect(headerParam(getHeader(msg, 'to')!, 'tag')).toBe('abc');
    expect(getHeader(msg, 'x-folded')).toBe('one two');
    expect(msg.body).toBe('v=0\r\nc=IN IP');
    expect(parseSdp('v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 0 101\r\n').audio).toMatchObject({
      address: '10.0.0.1',
      port: 4000,
      payloadTypes: [0, 101],
    });
  });
});

describe('SIP test clients against the sandbox Asterisk', () => {
  let ami: AmiTap;
  const clients: Array<SipUdpClient | SipWsClient> = [];
  const udp = async (): Promise<SipUdpClient> => {
    const c = await SipUdpClient.open();
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    await waitFullyBooted(30_000);
    ami = await AmiTap.connect();
  });

  afterEach(async () => {
    await Promise.allSettled(clients.splice(0).map((c) => c.close()));
  });

  afterAll(() => {
    ami?.close();
  });

  it('UDP: registers 2002 (401 then 200), listed by pjsip show contacts, gone after unregister', async () => {
    const { name, password } = SANDBOX.endpoints.plainPhone;
    const phone = await udp();
    const result = await phone.register({ user: name, password });
    expect(result).toMatchObject({
      status: 200,
      attempts: 2,
      contactUri: `sip:2002@127.0.0.1:${phone.localPort}`,
    });
    expect(result.expires).toBeGreaterThan(0);
    expect(result.expires).toBeLessThanOrEqual(60);
    expect(phone.registered).toBe(true);
    const uri = `2002/${result.contactUri}`;
    expect(await contacts()).toContain(uri);
    await ami.waitFor((e) => e.Event === 'SuccessfulAuth' && e.SessionID === phone.registerCallId);
    await ami.waitFor((e) => e.Event === 'ContactStatus' && e.URI === result.contactUri && e.AOR === '2002');

    const off = await phone.unregister();
    expect(off).toMatchObject({ status: 200, attempts: 2 });
    expect(phone.registered).toBe(false);
    await expectEventually(async () => expect(await contacts()).not.toContain(uri), 3000);
  });

  it('UDP: a wrong password for 2001 gets a final 401 after the one retry', async () => {
    const phone = await udp();
    const result = await phone.register({ user: SANDBOX.endpoints.deskPhone.name, password: 'wrong' });
    expect(result).toMatchObject({ status: 401, attempts: 2 });
    expect(getHeader(result.response, 'WWW-Authenticate')).toMatch(/^Digest /);
    expect(phone.registered).toBe(false);
    const failed = await ami.waitFor(
      (e) => e.Event === 'ChallengeResponseFailed' && e.SessionID === phone.registerCallId,
    );
    expect(failed).toMatchObject({ Service: 'PJSIP', AccountID: '2001' });
    expect(failed.RemoteAddress).toBe(`IPV4/UDP/127.0.0.1/${phone.localPort}`);
  });

  it('UDP: 1002 with the right password gets 404 (its AOR is named 1002-aor)', async () => {
    const { name, password } = SANDBOX.endpoints.aorMismatch;
    const phone = await udp();
    const result = await phone.register({ user: name, password });
    expect(result).toMatchObject({ status: 404, attempts: 2 });
    await ami.waitFor(
      (e) =>
        e.Event === 'RequestNotSupported' &&
        e.SessionID === phone.registerCallId &&
        e.RequestType === 'registrar_requested_aor_not_found' &&
        e.AccountID === '1002',
    );
  });

  it('UDP: an unknown user is challenged like a real one, then refused with 401 (never 403/404)', async () => {
    const phone = await udp();
    const result = await phone.register({ user: 'nosuchuser', password: 'whatever' });
    // Asterisk 22 answers an unknown From user with an artificial 401 challenge, and the digest answer
    // with 401 again: a scanner cannot tell unknown users from wrong passwords.
    expect(result).toMatchObject({ status: 401, attempts: 2 });
    await ami.waitFor(
      (e) =>
        e.Event === 'InvalidAccountID' &&
        e.SessionID === phone.registerCallId &&
        e.AccountID === 'nosuchuser',
    );
  });

  it('WS: registers 1001 over WebSocket, listed with transport ws, answers OPTIONS', async () => {
    const { name, password } = SANDBOX.endpoints.webrtc;
    const ws = await SipWsClient.open();
    clients.push(ws);
    const result = await ws.register({ user: name, password });
    expect(result).toMatchObject({ status: 200, attempts: 2 });
    // Asterisk rewrites a WebSocket contact to the connection's address and keeps ours in
    // x-ast-orig-host; the CLI truncates the column, the AMI has the whole URI.
    expect(result.contactUri).toBe(`sip:1001@${ws.viaHost};transport=ws`);
    expect(await contacts()).toMatch(/Contact: +1001\/sip:1001@127\.0\.0\.1:\d+;transport=ws/);
    const listed = await ami.list('PJSIPShowContacts', 'ContactListComplete');
    const mine = listed.find((e) => e.CallId === ws.registerCallId);
    // ContactList has no AOR field: the object name is '<aor>;@<hash>'.
    expect(mine).toMatchObject({ Endpoint: '1001', ViaAddr: ws.viaHost, UserAgent: 'pbxpulse-test/1' });
    expect(mine?.ObjectName).toMatch(/^1001;@/);
    expect(mine?.Uri).toMatch(
      new RegExp(
        `^sip:1001@127\\.0\\.0\\.1:\\d+;transport=ws;x-ast-orig-host=${ws.viaHost.replace('.', '\\.')}`,
      ),
    );
    // qualify_frequency=30: Asterisk qualifies a new contact at once, over the same WebSocket.
    await expectEventually(() => expect(ws.optionsAnswered).toBeGreaterThan(0), 3000);
    await ami.waitFor(
      (e) => e.Event === 'ContactStatus' && e.AOR === '1001' && e.ContactStatus === 'Reachable',
    );

    expect((await ws.unregister()).status).toBe(200);
    await expectEventually(async () => expect(await contacts()).not.toContain(ws.viaHost), 3000);
  });

  it('call: 2002 calls 600 (Echo) with RTP, gets its audio back, hangs up', async () => {
    const { name, password } = SANDBOX.endpoints.plainPhone;
    const phone = await udp();
    expect((await phone.register({ user: name, password })).status).toBe(200);
    const call = await phone.call(SANDBOX.extensions.echo, { sendRtp: true });
    expect(call.state).toBe('answered');
    expect(call.inviteAttempts).toBe(2);
    expect(call.remoteRtp?.address).toBe('127.0.0.1');
    expect(call.remoteRtp?.port).toBeGreaterThanOrEqual(SANDBOX.rtpPortStart);
    expect(call.remoteRtp?.port).toBeLessThanOrEqual(SANDBOX.rtpPortEnd);
    expect(parseSdp(call.answerSdp!).audio?.payloadTypes).toContain(0);

    // ~1 s of audio: Echo() returns each of our 20 ms packets.
    await expectEventually(() => expect(call.rtpReceived).toBeGreaterThanOrEqual(50), 3000);
    expect(call.rtpSent).toBeGreaterThanOrEqual(call.rtpReceived);

    await call.hangup();
    const end = await call.ended;
    expect(end).toMatchObject({ by: 'local', status: 200 });
    expect(call.state).toBe('ended');
    console.log(
      `echo call: ${call.provisional.join(',')} then ${call.finalStatus}; rtp sent ${call.rtpSent}, ` +
        `received ${call.rtpReceived} in ${call.endedAt! - call.answeredAt!} ms`,
    );
  });

  it('call: 2001 calls 600 without RTP, Asterisk hangs up after rtp_timeout=5 s with BYE', async () => {
    const { name, password } = SANDBOX.endpoints.deskPhone;
    const phone = await udp();
    expect((await phone.register({ user: name, password })).status).toBe(200);
    const call = await phone.call(SANDBOX.extensions.echo, { sendRtp: false });
    expect(call.state).toBe('answered');
    // qualify_frequency=30: Asterisk qualified the new contact at once, and we answered.
    expect(phone.optionsAnswered).toBeGreaterThan(0);

    const end = await within(call.ended, 10_000);
    expect(end).toMatchObject({ by: 'remote' });
    expect(call.rtpSent).toBe(0);
    const afterMs = call.endedAt! - call.answeredAt!;
    expect(afterMs).toBeGreaterThanOrEqual(4500);
    expect(afterMs).toBeLessThan(10_000);
    expect(phone.byesReceived.map((b) => b.callId)).toContain(call.callId);
    console.log(`rtp timeout: BYE after ${afterMs} ms, reason ${JSON.stringify(call.end?.reason)}`);
    const hangup = await ami.waitFor((e) => e.Event === 'Hangup' && e.Channel?.startsWith('PJSIP/2001-'));
    expect(hangup.Cause).toBe('44');
  });
});
