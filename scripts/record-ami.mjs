#!/usr/bin/env node
// Records the exact bytes the sandbox Asterisk sends on AMI (CRLF kept, greeting included) into
// test/fixtures/*.ami, with any sandbox secret scrubbed. The sandbox must be up (npm run sandbox -- up).
//
//   node scripts/record-ami.mjs [--out test/fixtures] [login-and-lists] [reload-events] [security-events] [calls]
//
// Only received bytes are stored; what was sent is listed in test/fixtures/README.md (and printed).
// security-events also sends SIP REGISTERs over UDP from a tiny built-in client (no sipp needed); calls
// places two calls (INVITE/ACK/RTP/BYE) from a second tiny client.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SANDBOX_ROOT = path.join(
  path.resolve(process.env.PBXPULSE_SANDBOX_DIR || '/var/cache/pbxpulse/sandbox'),
  'root',
);

const AMI = { host: '127.0.0.1', port: 15038, user: 'pbxpulse', secret: 'sandbox-ami-secret' };
const SIP = { host: '127.0.0.1', port: 15060 };

/** Every secret in sandbox/asterisk/*.conf: none should reach AMI except via AuthDetail, scrub anyway. */
const SECRETS = [
  'sandbox-ami-secret',
  'sandbox-ro-secret',
  'sandbox-ari-secret',
  'pw1001-sandbox',
  'pw1002-sandbox',
  'pw2001-sandbox',
  'pw2002-sandbox',
];
const SCRUBBED = 'xxxxxxxx';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const say = (msg) => process.stdout.write(`${msg}\n`);

// ---------------------------------------------------------------------------------------------
// AMI recorder: keeps every received chunk, exposes a parsed view for waiting on replies.

class AmiRecorder {
  constructor() {
    this.chunks = [];
    this.text = '';
    this.nextId = 1;
    this.sent = [];
  }

  connect() {
    return new Promise((resolve, reject) => {
      this.sock = net.connect(AMI.port, AMI.host);
      this.sock.once('error', reject);
      this.sock.on('data', (buf) => {
        this.chunks.push(Buffer.from(buf));
        this.text += buf.toString('latin1');
      });
      this.sock.once('connect', () => resolve());
    });
  }

  /** Messages received so far (greeting line excluded), as header maps. */
  messages() {
    const body = this.text.replace(/^Asterisk Call Manager\/[^\r\n]*\r\n/, '');
    return body
      .split('\r\n\r\n')
      .slice(0, -1)
      .map((block) => {
        const m = new Map();
        for (const line of block.split('\r\n')) {
          const i = line.indexOf(':');
          if (i > 0 && !m.has(line.slice(0, i))) m.set(line.slice(0, i), line.slice(i + 1).trim());
        }
        return m;
      });
  }

  async waitFor(pred, what, timeoutMs = 10_000) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (pred()) return;
      await sleep(20);
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  /** Sends an action with ActionID rec-N and waits for its final reply (list actions: the Complete event). */
  async action(name, fields = {}, { list = false, timeoutMs = 10_000 } = {}) {
    const id = `rec-${this.nextId++}`;
    const lines = [
      `Action: ${name}`,
      `ActionID: ${id}`,
      ...Object.entries(fields).map(([k, v]) => `${k}: ${v}`),
    ];
    this.sent.push(lines.map((l) => (l.startsWith('Secret:') ? `Secret: ${SCRUBBED}` : l)).join(' | '));
    this.sock.write(`${lines.join('\r\n')}\r\n\r\n`);
    await this.waitFor(
      () =>
        this.messages().some(
          (m) =>
            m.get('ActionID') === id &&
            (m.get('Response') === 'Error' ||
              m.get('Response') === 'Goodbye' ||
              m.get('EventList') === 'Complete' ||
              (!list && m.has('Response'))),
        ),
      `${name} (${id})`,
      timeoutMs,
    );
    return id;
  }

  async close() {
    await new Promise((resolve) => {
      if (this.sock.destroyed) return resolve();
      this.sock.once('close', resolve);
      this.sock.end();
      setTimeout(() => {
        this.sock.destroy();
        resolve();
      }, 2000);
    });
  }

  bytes() {
    let s = Buffer.concat(this.chunks).toString('latin1');
    for (const secret of SECRETS) s = s.split(secret).join(SCRUBBED);
    return Buffer.from(s, 'latin1');
  }
}

async function loggedIn() {
  const ami = new AmiRecorder();
  await ami.connect();
  await ami.waitFor(() => ami.text.includes('\r\n'), 'greeting');
  await ami.action('Login', { Username: AMI.user, Secret: AMI.secret });
  const login = ami.messages().find((m) => m.get('ActionID') === 'rec-1');
  if (login?.get('Response') !== 'Success') throw new Error(`AMI login failed: ${login?.get('Message')}`);
  return ami;
}

async function cli(cmd) {
  const { stdout } = await execFileP('chroot', [SANDBOX_ROOT, '/usr/sbin/asterisk', '-rx', cmd], {
    timeout: 30_000,
  });
  return stdout;
}

// ---------------------------------------------------------------------------------------------
// Fixtures

async function loginAndLists() {
  const ami = await loggedIn();
  // FullyBooted is queued right after a successful login; give it (and the AMI SuccessfulAuth) a moment.
  await ami.waitFor(() => ami.text.includes('Event: FullyBooted'), 'FullyBooted', 3000).catch(() => {});
  await sleep(300);
  await ami.action('PJSIPShowEndpoints', {}, { list: true });
  await ami.action('PJSIPShowAors', {}, { list: true });
  await ami.action('PJSIPShowRegistrationInboundContactStatuses', {}, { list: true });
  await ami.action('PJSIPShowContacts', {}, { list: true });
  await ami.action('CoreShowChannels', {}, { list: true });
  await ami.action('Ping');
  await ami.action('Command', { Command: 'core show version' });
  await ami.action('PJSIPShowEndpoint', { Endpoint: '1001' }, { list: true });
  await ami.action('PJSIPShowEndpoint', { Endpoint: '1002' }, { list: true });
  await ami.action('Logoff');
  await ami.close();
  return ami;
}

async function reloadEvents() {
  const ami = await loggedIn();
  await ami.waitFor(() => ami.text.includes('Event: FullyBooted'), 'FullyBooted', 3000).catch(() => {});
  await sleep(300);
  const steps = [];
  say('  CLI: module reload res_pjsip.so');
  steps.push(
    `CLI: module reload res_pjsip.so -> ${(await cli('module reload res_pjsip.so')).trim() || '(no output)'}`,
  );
  await sleep(2500);
  say('  CLI: core reload');
  steps.push(`CLI: core reload -> ${(await cli('core reload')).trim() || '(no output)'}`);
  await sleep(4000);
  await ami.action('Reload', { Module: 'res_pjsip.so' });
  await sleep(2500);
  await ami.action('Logoff');
  await ami.close();
  ami.sent.splice(1, 0, ...steps);
  return ami;
}

// ---------------------------------------------------------------------------------------------
// A minimal SIP UDP client: REGISTER with MD5 digest, answers OPTIONS (qualify) with 200.

const md5 = (s) => createHash('md5').update(s).digest('hex');

/**
 * The `Authorization: Digest` header answering the MD5 challenge of a 401 (`raw` is the whole
 * response), with qop=auth when Asterisk offers it.
 */
function digestAuthorization(raw, { user, password, method, uri }) {
  const challenges = raw.split('\r\n').filter((l) => /^WWW-Authenticate:/i.test(l));
  const header = challenges.find((l) => /algorithm=("?)MD5\1(,|$)/i.test(l)) ?? challenges[0];
  const param = (k) =>
    (header.match(new RegExp(`${k}="([^"]*)"`, 'i')) ??
      header.match(new RegExp(`${k}=([^,\\s]+)`, 'i')) ??
      [])[1];
  const realm = param('realm');
  const nonce = param('nonce');
  const opaque = param('opaque');
  const qop = param('qop');
  const ha1 = md5(`${user}:${realm}:${password}`);
  const ha2 = md5(`${method}:${uri}`);
  const cnonce = rand(4);
  const nc = '00000001';
  const parts = [
    `username="${user}"`,
    `realm="${realm}"`,
    `nonce="${nonce}"`,
    `uri="${uri}"`,
    'algorithm=MD5',
  ];
  if (qop) {
    parts.push(
      `response="${md5(`${ha1}:${nonce}:${nc}:${cnonce}:auth:${ha2}`)}"`,
      'qop=auth',
      `nc=${nc}`,
      `cnonce="${cnonce}"`,
    );
  } else {
    parts.push(`response="${md5(`${ha1}:${nonce}:${ha2}`)}"`);
  }
  if (opaque) parts.push(`opaque="${opaque}"`);
  return `Authorization: Digest ${parts.join(', ')}`;
}
const rand = (n = 8) => randomBytes(n).toString('hex');

class SipClient {
  async open() {
    this.sock = dgram.createSocket('udp4');
    this.waiters = [];
    this.sock.on('message', (buf) => this.onMessage(buf.toString('utf8')));
    await new Promise((resolve) => this.sock.bind(0, '127.0.0.1', resolve));
    this.port = this.sock.address().port;
  }

  onMessage(msg) {
    const [start] = msg.split('\r\n');
    if (start.startsWith('OPTIONS ')) {
      // Qualify from Asterisk: answer 200 OK so the contact becomes Reachable.
      const keep = msg
        .split('\r\n')
        .filter((l) => /^(Via|From|To|Call-ID|CSeq):/i.test(l))
        .map((l) => (/^To:/i.test(l) && !/;tag=/.test(l) ? `${l};tag=${rand(4)}` : l));
      this.send(['SIP/2.0 200 OK', ...keep, 'Content-Length: 0', '', ''].join('\r\n'));
      return;
    }
    if (!start.startsWith('SIP/2.0 ')) return;
    const status = Number(start.split(' ')[1]);
    if (status < 200) return;
    const waiter = this.waiters.shift();
    if (waiter) waiter({ status, reason: start.slice(12), raw: msg });
  }

  send(text) {
    this.sock.send(Buffer.from(text, 'utf8'), SIP.port, SIP.host);
  }

  request(text) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no SIP response within 5 s')), 5000);
      this.waiters.push((r) => {
        clearTimeout(timer);
        resolve(r);
      });
      this.send(text);
    });
  }

  /**
   * One REGISTER dialog: first request without credentials, then up to `attempts` answers to the
   * challenge with `password`. Returns the final statuses, e.g. [401, 401, 401] or [401, 200].
   */
  async register({ user, password, attempts = 1, expires = 60, callId = `${rand()}@pbxpulse-recorder` }) {
    const domain = SIP.host;
    const uri = `sip:${domain}:${SIP.port}`;
    const fromTag = rand(4);
    let cseq = 1;
    let auth = null;
    const statuses = [];
    for (let i = 0; i <= attempts; i++) {
      const lines = [
        `REGISTER ${uri} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${this.port};rport;branch=z9hG4bK${rand()}`,
        'Max-Forwards: 70',
        `From: <sip:${user}@${domain}>;tag=${fromTag}`,
        `To: <sip:${user}@${domain}>`,
        `Call-ID: ${callId}`,
        `CSeq: ${cseq++} REGISTER`,
        `Contact: <sip:${user}@127.0.0.1:${this.port};transport=udp>`,
        `Expires: ${expires}`,
        'User-Agent: pbxpulse-record-ami',
      ];
      if (auth) lines.push(auth);
      const res = await this.request([...lines, 'Content-Length: 0', '', ''].join('\r\n'));
      statuses.push(res.status);
      if (res.status !== 401 || i === attempts) break;
      auth = digestAuthorization(res.raw, { user, password, method: 'REGISTER', uri });
    }
    return statuses;
  }

  close() {
    this.sock.close();
  }
}

async function securityEvents() {
  const ami = await loggedIn();
  await ami.waitFor(() => ami.text.includes('Event: FullyBooted'), 'FullyBooted', 3000).catch(() => {});
  await sleep(300);
  const sip = new SipClient();
  await sip.open();
  const steps = [];
  const step = async (label, args) => {
    const statuses = await sip.register(args);
    const line = `SIP: ${label} -> ${statuses.join(', ')}`;
    say(`  ${line}`);
    steps.push(line);
    await sleep(1500);
  };
  await step('REGISTER 2001 with a wrong password, client retries twice ("401 loop")', {
    user: '2001',
    password: 'wrong-password',
    attempts: 2,
  });
  await step('REGISTER 9999 (no such endpoint)', { user: '9999', password: 'whatever', attempts: 1 });
  await step('REGISTER 1002 (aors=1002-aor: AOR not found)', { user: '1002', password: 'pw1002-sandbox' });
  await step('REGISTER 2001 with the right password', { user: '2001', password: 'pw2001-sandbox' });
  // qualify_frequency=30 on AOR 2001: Asterisk qualifies ~1 s after the REGISTER; we answer 200.
  await sleep(2500);
  await step('REGISTER 2001 Expires: 0 (unregister, leaves the sandbox clean)', {
    user: '2001',
    password: 'pw2001-sandbox',
    expires: 0,
  });
  await sleep(1500);
  sip.close();
  await ami.action('Logoff');
  await ami.close();
  ami.sent.splice(1, 0, ...steps);
  return ami;
}

// ---------------------------------------------------------------------------------------------
// calls: a minimal SIP UDP caller (INVITE with digest, ACK, optional 20 ms PCMU RTP, BYE) and the two
// calls of test/fixtures/calls.ami. No REGISTER is needed: Asterisk identifies the endpoint by the
// From user and challenges the INVITE.

const PASSWORDS = { 2001: 'pw2001-sandbox', 2002: 'pw2002-sandbox' };

class SipCaller {
  async open() {
    this.sock = dgram.createSocket('udp4');
    this.waiters = [];
    this.cseq = 1;
    this.byes = [];
    this.sock.on('message', (buf) => this.onMessage(buf.toString('utf8')));
    await new Promise((resolve) => this.sock.bind(0, '127.0.0.1', resolve));
    this.port = this.sock.address().port;
  }

  header(msg, name) {
    const line = msg.split('\r\n').find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
    return line === undefined ? undefined : line.slice(line.indexOf(':') + 1).trim();
  }

  onMessage(msg) {
    const [start] = msg.split('\r\n');
    if (start.startsWith('BYE ')) {
      // Asterisk ends the call (rtp_timeout): answer 200 OK with the request's dialog headers.
      const keep = msg.split('\r\n').filter((l) => /^(Via|From|To|Call-ID|CSeq):/i.test(l));
      this.send(['SIP/2.0 200 OK', ...keep, 'Content-Length: 0', '', ''].join('\r\n'));
      this.byes.push({ callId: this.header(msg, 'Call-ID'), reason: this.header(msg, 'Reason') });
      return;
    }
    if (!start.startsWith('SIP/2.0 ')) return;
    const status = Number(start.split(' ')[1]);
    const res = { status, reason: start.slice(12), raw: msg };
    const cseq = this.header(msg, 'CSeq') ?? '';
    if (status >= 200 && /INVITE$/.test(cseq) && this.acked?.has(`${this.header(msg, 'Call-ID')} ${cseq}`)) {
      // A retransmitted 200 OK (our ACK crossed it): ACK again.
      this.send(this.acked.get(`${this.header(msg, 'Call-ID')} ${cseq}`));
      return;
    }
    if (status < 200) return;
    const i = this.waiters.findIndex((w) => w.cseq === cseq);
    if (i >= 0) this.waiters.splice(i, 1)[0].resolve(res);
  }

  send(text) {
    this.sock.send(Buffer.from(text, 'utf8'), SIP.port, SIP.host);
  }

  request(lines, body = '') {
    const cseq = this.header(lines.join('\r\n'), 'CSeq');
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no SIP response to ${cseq} within 5 s`)), 5000);
      this.waiters.push({
        cseq,
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
      });
      this.send([...lines, `Content-Length: ${Buffer.byteLength(body)}`, '', body].join('\r\n'));
    });
  }

  /** INVITE `exten` as `user`, answer the challenge, ACK the 200. Resolves the dialog. */
  async call(user, exten, { sendRtp }) {
    const media = dgram.createSocket('udp4');
    await new Promise((resolve) => media.bind(0, '127.0.0.1', resolve));
    media.on('error', () => {});
    const mediaPort = media.address().port;
    const callId = `${rand()}@pbxpulse-recorder`;
    const tag = rand(4);
    const uri = `sip:${exten}@${SIP.host}`;
    const sdp = [
      'v=0',
      `o=pbxpulse-recorder 1 1 IN IP4 127.0.0.1`,
      's=pbxpulse-recorder',
      'c=IN IP4 127.0.0.1',
      't=0 0',
      `m=audio ${mediaPort} RTP/AVP 0`,
      'a=rtpmap:0 PCMU/8000',
      'a=ptime:20',
      'a=sendrecv',
      '',
    ].join('\r\n');
    const invite = (cseq, branch, auth) => [
      `INVITE ${uri} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${this.port};rport;branch=${branch}`,
      'Max-Forwards: 70',
      `From: <sip:${user}@${SIP.host}>;tag=${tag}`,
      `To: <${uri}>`,
      `Call-ID: ${callId}`,
      `CSeq: ${cseq} INVITE`,
      `Contact: <sip:${user}@127.0.0.1:${this.port}>`,
      'User-Agent: pbxpulse-record-ami',
      'Content-Type: application/sdp',
      ...(auth ? [auth] : []),
    ];
    let cseq = this.cseq++;
    let branch = `z9hG4bK${rand()}`;
    let res = await this.request(invite(cseq, branch), sdp);
    if (res.status === 401) {
      // ACK the 401 (same branch: it belongs to the INVITE transaction), then retry with a digest.
      this.send(
        [
          `ACK ${uri} SIP/2.0`,
          `Via: SIP/2.0/UDP 127.0.0.1:${this.port};rport;branch=${branch}`,
          'Max-Forwards: 70',
          `From: <sip:${user}@${SIP.host}>;tag=${tag}`,
          `To: ${this.header(res.raw, 'To')}`,
          `Call-ID: ${callId}`,
          `CSeq: ${cseq} ACK`,
          'Content-Length: 0',
          '',
          '',
        ].join('\r\n'),
      );
      const auth = digestAuthorization(res.raw, { user, password: PASSWORDS[user], method: 'INVITE', uri });
      cseq = this.cseq++;
      branch = `z9hG4bK${rand()}`;
      res = await this.request(invite(cseq, branch, auth), sdp);
    }
    if (res.status !== 200) throw new Error(`INVITE ${exten} as ${user}: ${res.status} ${res.reason}`);
    const to = this.header(res.raw, 'To');
    const target = /<([^>]+)>/.exec(this.header(res.raw, 'Contact') ?? '')?.[1] ?? uri;
    const ack = [
      `ACK ${target} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${this.port};rport;branch=z9hG4bK${rand()}`,
      'Max-Forwards: 70',
      `From: <sip:${user}@${SIP.host}>;tag=${tag}`,
      `To: ${to}`,
      `Call-ID: ${callId}`,
      `CSeq: ${cseq} ACK`,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    this.acked ??= new Map();
    this.acked.set(`${callId} ${cseq} INVITE`, ack);
    this.send(ack);
    const body = res.raw.slice(res.raw.indexOf('\r\n\r\n') + 4);
    const rtpAddr = /^c=IN IP4 (\S+)/m.exec(body)?.[1] ?? '127.0.0.1';
    const rtpPort = Number(/^m=audio (\d+)/m.exec(body)?.[1]);
    let timer;
    let sent = 0;
    if (sendRtp) {
      let seq = 1;
      let ts = 0;
      const ssrc = randomBytes(4).readUInt32BE(0);
      timer = setInterval(() => {
        const pkt = Buffer.alloc(12 + 160, 0xff);
        pkt[0] = 0x80;
        pkt[1] = seq === 1 ? 0x80 : 0;
        pkt.writeUInt16BE(seq++ & 0xffff, 2);
        pkt.writeUInt32BE(ts >>> 0, 4);
        pkt.writeUInt32BE(ssrc, 8);
        ts += 160;
        media.send(pkt, rtpPort, rtpAddr);
        sent++;
      }, 20);
    }
    return {
      callId,
      get rtpSent() {
        return sent;
      },
      stop: () => {
        clearInterval(timer);
        media.close();
      },
      bye: async () => {
        clearInterval(timer);
        const bye = [
          `BYE ${target} SIP/2.0`,
          `Via: SIP/2.0/UDP 127.0.0.1:${this.port};rport;branch=z9hG4bK${rand()}`,
          'Max-Forwards: 70',
          `From: <sip:${user}@${SIP.host}>;tag=${tag}`,
          `To: ${to}`,
          `Call-ID: ${callId}`,
          `CSeq: ${this.cseq++} BYE`,
          'User-Agent: pbxpulse-record-ami',
        ];
        const r = await this.request(bye);
        media.close();
        return r.status;
      },
    };
  }

  close() {
    this.sock.close();
  }
}

async function calls() {
  const ami = await loggedIn();
  await ami.waitFor(() => ami.text.includes('Event: FullyBooted'), 'FullyBooted', 3000).catch(() => {});
  await sleep(300);
  const sip = new SipCaller();
  await sip.open();
  const steps = [];
  const step = (line) => {
    say(`  ${line}`);
    steps.push(line);
  };

  // 1. 2002 → 600 (Answer + Echo) with RTP both ways, ended after 2 s by the client's BYE.
  const normal = await sip.call('2002', '600', { sendRtp: true });
  step('SIP: INVITE 600 as 2002 (digest) -> 200, ACK, 20 ms PCMU RTP');
  await sleep(1000);
  // A resync listing taken mid-call: one CoreShowChannel item (BridgeId, Duration, Application).
  await ami.action('CoreShowChannels', {}, { list: true });
  await sleep(1000);
  step(`SIP: BYE after 2 s (${normal.rtpSent} RTP packets sent) -> ${await normal.bye()}`);
  await sleep(1500);

  // 2. 2001 (rtp_timeout=5) → 600 without sending any RTP: Asterisk hangs up after ~5 s.
  const silent = await sip.call('2001', '600', { sendRtp: false });
  const t0 = Date.now();
  step('SIP: INVITE 600 as 2001 (digest) -> 200, ACK, no RTP');
  await ami.waitFor(() => sip.byes.some((b) => b.callId === silent.callId), 'BYE from Asterisk', 15_000);
  const bye = sip.byes.find((b) => b.callId === silent.callId);
  step(`SIP: BYE from Asterisk after ${Date.now() - t0} ms (Reason: ${bye.reason ?? 'none'}) -> 200`);
  silent.stop();
  await sleep(1500);
  sip.close();
  await ami.action('Logoff');
  await ami.close();
  ami.sent.splice(1, 0, ...steps);
  return ami;
}

// ---------------------------------------------------------------------------------------------

const FIXTURES = {
  'login-and-lists': loginAndLists,
  'reload-events': reloadEvents,
  'security-events': securityEvents,
  calls,
};

async function main(argv) {
  let out = path.join(REPO, 'test', 'fixtures');
  const names = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out') out = path.resolve(argv[++i]);
    else if (FIXTURES[argv[i]]) names.push(argv[i]);
    else throw new Error(`unknown argument ${argv[i]}; fixtures: ${Object.keys(FIXTURES).join(', ')}`);
  }
  fs.mkdirSync(out, { recursive: true });
  for (const name of names.length ? names : Object.keys(FIXTURES)) {
    say(`recording ${name}…`);
    const ami = await FIXTURES[name]();
    const file = path.join(out, `${name}.ami`);
    const bytes = ami.bytes();
    fs.writeFileSync(file, bytes);
    say(
      `  wrote ${path.relative(REPO, file)} (${bytes.length} bytes, ${ami.messages().length} messages); sent:`,
    );
    for (const s of ami.sent) say(`    ${s}`);
  }
}

main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`record-ami: ${err.stack ?? err}\n`);
  process.exit(1);
});
