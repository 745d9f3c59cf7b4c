/**
 * A small SIP user agent over UDP for integration tests: REGISTER with digest auth, answers OPTIONS
 * and BYE from Asterisk, and places calls (INVITE with a PCMU SDP offer, optional 20 ms PCMU RTP).
 *
 * Usage:
 *   const phone = await SipUdpClient.open();
 *   await phone.register({ user: '2002', password: 'pw2002-sandbox' });
 *   const call = await phone.call('600', { sendRtp: true });
 *   await call.hangup();
 *   await phone.close();
 */
import * as dgram from 'node:dgram';
import { randomInt } from 'node:crypto';
import { SANDBOX } from '../sandbox';
import { ALLOW, SipAgent, USER_AGENT, type SipAgentOptions } from './sip-agent';
import {
  buildPcmuSdp,
  createRequest,
  extractUri,
  getHeader,
  getHeaders,
  headerParam,
  newBranch,
  newCallId,
  newTag,
  parseCSeq,
  parseSdp,
  serializeSipMessage,
  type SipHeaders,
  type SipRequest,
  type SipResponse,
} from './sip-message';

export interface SipUdpClientOptions extends SipAgentOptions {
  /** Asterisk's SIP address (default SANDBOX.host:SANDBOX.sipUdpPort = 127.0.0.1:15060). */
  readonly serverHost?: string;
  readonly serverPort?: number;
  /** Local address of the signalling and media sockets (default 127.0.0.1; ports are ephemeral). */
  readonly localHost?: string;
  /** After a provisional response, how long an INVITE waits for the answer before CANCEL (default 10 s). */
  readonly answerTimeoutMs?: number;
}

export interface CallOptions {
  /** Send 20 ms PCMU RTP packets to the answer's media address until the call ends. */
  readonly sendRtp: boolean;
  /**
   * With `sendRtp`, also send an RTCP sender report every second (to the answer's port + 1, no
   * rtcp-mux) that carries no reception report block: the phone says it sends but has received nothing
   * from Asterisk, what a phone whose incoming RTP is dropped (NAT, firewall) reports.
   */
  readonly sendDeafRtcp?: boolean;
  /** Hang up (BYE) automatically this long after the answer. */
  readonly durationMs?: number;
  /** Caller identity; default: the user/password of the last register(). */
  readonly user?: string;
  readonly password?: string;
  readonly authUser?: string;
  /** Overrides the client's answerTimeoutMs for this call. */
  readonly answerTimeoutMs?: number;
}

/**
 * calling → (proceeding | ringing) → answered → ended, or → failed (non-2xx final response / timeout).
 * 'ringing' covers 180 and 183.
 */
export type SipCallState = 'calling' | 'proceeding' | 'ringing' | 'answered' | 'ended' | 'failed';

export interface SipCallEnd {
  /** 'remote': Asterisk sent BYE or rejected the INVITE; 'local': we hung up / cancelled / gave up. */
  readonly by: 'local' | 'remote';
  /** Reason header of a BYE, reason phrase of a rejection, or what went wrong. */
  readonly reason?: string;
  /** Status of the final INVITE response for a failed call, or of the response to our BYE. */
  readonly status?: number;
}

interface Dialog {
  /** User part of our Contact. */
  contactUser: string;
  localTag: string;
  remoteTag: string;
  remoteTarget: string;
  routeSet: string[];
  localUri: string;
  remoteUri: string;
}

interface CallInternals {
  sendBye(call: SipCall): Promise<SipResponse>;
  release(call: SipCall): void;
}

/** One outgoing call of a SipUdpClient. */
export class SipCall {
  state: SipCallState = 'calling';
  /** RTP packets sent / received on the media socket (RTCP not counted). */
  rtpSent = 0;
  rtpReceived = 0;
  /** Provisional statuses seen (100, 180, 183 …), in order. */
  readonly provisional: number[] = [];
  /** Final INVITE response (after an answered challenge, the second one). */
  finalStatus: number | undefined;
  finalReason: string | undefined;
  /** INVITE requests sent (2 when a challenge was answered). */
  inviteAttempts = 0;
  /** Media address of the answer SDP. */
  remoteRtp: { address: string; port: number } | undefined;
  answerSdp: string | undefined;
  answeredAt: number | undefined;
  endedAt: number | undefined;
  /** How the call ended; undefined while it lasts. */
  end: SipCallEnd | undefined;
  /** Resolves (never rejects) when the call is over: BYE from either side, rejection, timeout, close(). */
  readonly ended: Promise<SipCallEnd>;

  /** @internal */
  dialog: Dialog | undefined;
  /** @internal ACK of the 2xx, re-sent when Asterisk retransmits its 200 OK. */
  ackText: string | undefined;
  /** @internal */
  sdpVersion = 1;

  private resolveEnded!: (end: SipCallEnd) => void;
  private rtpTimer: NodeJS.Timeout | undefined;
  private rtcpTimer: NodeJS.Timeout | undefined;
  /** RTCP sender reports sent (see `CallOptions.sendDeafRtcp`). */
  rtcpSent = 0;
  private hangupTimer: NodeJS.Timeout | undefined;
  private hangingUp: Promise<void> | undefined;
  private readonly ssrc = randomInt(1, 0xffffffff);
  private seq = randomInt(0, 0xffff);
  private timestamp = randomInt(0, 0xffffffff);

  /** @internal */
  constructor(
    readonly callId: string,
    readonly exten: string,
    readonly localRtpPort: number,
    private readonly media: dgram.Socket,
    private readonly internals: CallInternals,
  ) {
    this.ended = new Promise<SipCallEnd>((resolve) => {
      this.resolveEnded = resolve;
    });
    media.on('message', (packet) => {
      if (isRtp(packet)) this.rtpReceived++;
    });
  }

  get isActive(): boolean {
    return this.state !== 'ended' && this.state !== 'failed';
  }

  /** Sends BYE and waits for its response; a no-op once the call is over. Rejects if BYE times out. */
  hangup(): Promise<void> {
    if (this.state !== 'answered') return this.hangingUp ?? Promise.resolve();
    this.hangingUp ??= (async () => {
      this.stopRtp();
      try {
        const res = await this.internals.sendBye(this);
        this.finish('ended', { by: 'local', status: res.status, reason: res.reason });
      } catch (err: unknown) {
        const message = err instanceof Error ? err.message : String(err);
        this.finish('ended', { by: 'local', reason: `BYE failed: ${message}` });
        throw err;
      }
    })();
    return this.hangingUp;
  }

  /** Starts sending 20 ms PCMU packets to the answer's media address (no-op if already sending). */
  startRtp(): void {
    const remote = this.remoteRtp;
    if (this.rtpTimer !== undefined || remote === undefined || this.state !== 'answered') return;
    let first = true;
    const send = (): void => {
      const packet = Buffer.alloc(12 + 160, 0xff);
      packet[0] = 0x80; // V=2, no padding/extension/CSRC
      packet[1] = (first ? 0x80 : 0) | 0; // marker on the first packet, PT 0 = PCMU
      packet.writeUInt16BE(this.seq, 2);
      packet.writeUInt32BE(this.timestamp >>> 0, 4);
      packet.writeUInt32BE(this.ssrc >>> 0, 8);
      first = false;
      this.seq = (this.seq + 1) & 0xffff;
      this.timestamp = (this.timestamp + 160) >>> 0;
      this.media.send(packet, remote.port, remote.address, (err) => {
        if (!err) this.rtpSent++;
      });
    };
    send();
    this.rtpTimer = setInterval(send, 20);
  }

  /** Stops sending RTP (the call stays up; with rtp_timeout Asterisk will hang up). */
  stopRtp(): void {
    if (this.rtpTimer !== undefined) clearInterval(this.rtpTimer);
    this.rtpTimer = undefined;
    if (this.rtcpTimer !== undefined) clearInterval(this.rtcpTimer);
    this.rtcpTimer = undefined;
  }

  /**
   * Sends an RTCP SR every second to the answer's port + 1: our SSRC (Asterisk only takes RTCP from
   * the SSRC whose RTP it receives), our packet count, and no report block (we "received nothing").
   */
  startDeafRtcp(): void {
    const remote = this.remoteRtp;
    if (this.rtcpTimer !== undefined || remote === undefined || this.state !== 'answered') return;
    const send = (): void => {
      const packet = Buffer.alloc(28);
      packet[0] = 0x80; // V=2, no padding, RC=0
      packet[1] = 200; // SR
      packet.writeUInt16BE(6, 2); // length in 32-bit words minus one
      packet.writeUInt32BE(this.ssrc >>> 0, 4);
      const now = Date.now();
      packet.writeUInt32BE((Math.floor(now / 1000) + 2_208_988_800) >>> 0, 8); // NTP seconds
      packet.writeUInt32BE(Math.floor(((now % 1000) / 1000) * 0x1_0000_0000) >>> 0, 12);
      packet.writeUInt32BE(this.timestamp >>> 0, 16);
      packet.writeUInt32BE(this.rtpSent >>> 0, 20);
      packet.writeUInt32BE((this.rtpSent * 160) >>> 0, 24);
      this.media.send(packet, remote.port + 1, remote.address, (err) => {
        if (!err) this.rtcpSent++;
      });
    };
    this.rtcpTimer = setInterval(send, 1000);
  }

  /** @internal */
  scheduleHangup(ms: number): void {
    this.hangupTimer = setTimeout(() => {
      this.hangupTimer = undefined;
      this.hangup().catch(() => undefined);
    }, ms);
  }

  /** @internal Idempotent: the first end wins. */
  finish(state: 'ended' | 'failed', end: SipCallEnd): void {
    if (!this.isActive) return;
    this.state = state;
    this.end = end;
    this.endedAt = Date.now();
    this.stopRtp();
    if (this.hangupTimer !== undefined) clearTimeout(this.hangupTimer);
    this.hangupTimer = undefined;
    this.internals.release(this);
    try {
      this.media.close();
    } catch {
      // already closed
    }
    this.resolveEnded(end);
  }
}

/** RTP (version 2), not RTCP (payload types 200-204 sit where PT+marker would be 72-76 | 0x80). */
function isRtp(packet: Buffer): boolean {
  if (packet.length < 12 || packet[0] >> 6 !== 2) return false;
  const pt = packet[1];
  return pt < 200 || pt > 204;
}

function bindUdp(host: string): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    const onError = (err: Error): void => reject(err);
    socket.once('error', onError);
    socket.bind(0, host, () => {
      socket.off('error', onError);
      socket.on('error', () => undefined); // e.g. ICMP errors: never crash the test process
      resolve(socket);
    });
  });
}

export class SipUdpClient extends SipAgent {
  protected readonly reliable = false;
  protected readonly destination: string;
  readonly serverHost: string;
  readonly serverPort: number;
  readonly localHost: string;
  readonly answerTimeoutMs: number;
  /** BYE requests Asterisk sent us (answered 200 OK when they matched a call). */
  readonly byesReceived: Array<{ callId: string; reason: string | undefined; at: number }> = [];

  private readonly calls = new Map<string, SipCall>();
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly socket: dgram.Socket,
    options: SipUdpClientOptions,
  ) {
    super({ ...options, domain: options.domain ?? SANDBOX.sipDomain });
    this.serverHost = options.serverHost ?? SANDBOX.host;
    this.serverPort = options.serverPort ?? SANDBOX.sipUdpPort;
    this.localHost = options.localHost ?? '127.0.0.1';
    this.answerTimeoutMs = options.answerTimeoutMs ?? 10_000;
    this.destination = `udp:${this.serverHost}:${this.serverPort}`;
    socket.on('message', (data, rinfo) => {
      this.receive(data, (text) => this.socket.send(text, rinfo.port, rinfo.address));
    });
  }

  /** Binds the signalling socket on localHost:0 (default 127.0.0.1). */
  static async open(options: SipUdpClientOptions = {}): Promise<SipUdpClient> {
    const socket = await bindUdp(options.localHost ?? '127.0.0.1');
    return new SipUdpClient(socket, options);
  }

  /** Local signalling port. */
  get localPort(): number {
    return this.socket.address().port;
  }

  contactUri(user: string): string {
    return `sip:${user}@${this.localHost}:${this.localPort}`;
  }

  /** Calls not yet ended. */
  get activeCalls(): SipCall[] {
    return [...this.calls.values()];
  }

  protected sendToServer(text: string): void {
    this.socket.send(text, this.serverPort, this.serverHost);
  }

  protected viaHeader(branch: string): string {
    return `SIP/2.0/UDP ${this.localHost}:${this.localPort};branch=${branch};rport`;
  }

  // ------------------------------------------------------------------------------------------ calls

  /**
   * Places a call to `exten` and resolves once the INVITE is answered (state 'answered') or finally
   * rejected (state 'failed', `ended` already resolved with the status). Answers one 401/407 challenge.
   * Rejects when Asterisk does not respond at all (transaction timeout). If only provisional responses
   * come, the INVITE is cancelled after answerTimeoutMs and the call resolves failed (487).
   */
  async call(exten: string, options: CallOptions): Promise<SipCall> {
    if (this.closed) throw new Error('SIP client closed');
    const identity = this.identity;
    const user = options.user ?? identity?.user;
    const password = options.password ?? identity?.password;
    if (user === undefined || password === undefined) {
      throw new Error('call() needs a register() first, or options.user and options.password');
    }
    const authUser =
      options.authUser ?? (options.user === undefined ? identity?.authUser : undefined) ?? user;
    const answerTimeoutMs = options.answerTimeoutMs ?? this.answerTimeoutMs;

    const media = await bindUdp(this.localHost);
    const mediaPort = media.address().port;
    const callId = newCallId();
    const localTag = newTag();
    const requestUri = `sip:${exten}@${this.domain}`;
    const localUri = `sip:${user}@${this.domain}`;
    const sessionId = randomInt(1, 2 ** 31);
    const offer = buildPcmuSdp({ address: this.localHost, port: mediaPort, sessionId });

    const call = new SipCall(callId, exten, mediaPort, media, {
      sendBye: (c) => this.sendBye(c, { username: authUser, password }),
      release: (c) => this.calls.delete(c.callId),
    });
    this.calls.set(callId, call);

    let currentInvite: SipRequest | undefined;
    let cancelTimer: NodeJS.Timeout | undefined;
    let cancelSent = false;
    const build = (): SipRequest => {
      call.inviteAttempts++;
      currentInvite = createRequest(
        'INVITE',
        requestUri,
        [
          ['Via', this.viaHeader(newBranch())],
          ['Max-Forwards', '70'],
          ['From', `<${localUri}>;tag=${localTag}`],
          ['To', `<${requestUri}>`],
          ['Call-ID', callId],
          ['CSeq', `${this.nextCSeq()} INVITE`],
          ['Contact', `<${this.contactUri(user)}>`],
          ['Allow', ALLOW],
          ['User-Agent', USER_AGENT],
          ['Content-Type', 'application/sdp'],
        ],
        offer,
      );
      return currentInvite;
    };
    const onProvisional = (res: SipResponse): void => {
      call.provisional.push(res.status);
      if (call.state === 'calling' || call.state === 'proceeding') {
        call.state = res.status === 100 ? 'proceeding' : 'ringing';
      }
      if (cancelTimer === undefined && currentInvite !== undefined) {
        const invite = currentInvite;
        cancelTimer = this.setTimer(() => {
          cancelSent = true;
          this.sendCancel(invite);
        }, answerTimeoutMs);
      }
    };

    let response: SipResponse;
    try {
      const result = await this.sendWithDigest(
        build,
        { username: authUser, password },
        { onProvisional, provisionalTimeoutMs: answerTimeoutMs + this.transactionTimeoutMs },
      );
      response = result.response;
    } catch (err: unknown) {
      const message = err instanceof Error ? err.message : String(err);
      call.finish('failed', { by: 'local', reason: message });
      throw err;
    } finally {
      this.clearTimer(cancelTimer);
    }

    call.finalStatus = response.status;
    call.finalReason = response.reason;
    if (response.status >= 300 || response.status < 200) {
      call.finish(
        'failed',
        response.status === 487 && cancelSent
          ? { by: 'local', status: 487, reason: `no answer within ${answerTimeoutMs} ms: cancelled` }
          : { by: 'remote', status: response.status, reason: response.reason },
      );
      return call;
    }

    // 2xx: the dialog is established; ACK it (a new transaction, end to end).
    const remoteTarget = extractUri(getHeader(response, 'Contact') ?? '') || requestUri;
    call.dialog = {
      contactUser: user,
      localTag,
      remoteTag: headerParam(getHeader(response, 'To') ?? '', 'tag') ?? '',
      remoteTarget,
      routeSet: getHeaders(response, 'Record-Route').reverse(),
      localUri,
      remoteUri: extractUri(getHeader(response, 'To') ?? '') || requestUri,
    };
    const inviteSeq = parseCSeq(getHeader(response, 'CSeq'))?.seq ?? 0;
    call.ackText = serializeSipMessage(this.inDialogRequest(call.dialog, callId, 'ACK', inviteSeq));
    this.sendToServer(call.ackText);

    call.answerSdp = response.body;
    const sdp = parseSdp(response.body);
    if (sdp.audio?.address !== undefined && sdp.audio.port > 0) {
      call.remoteRtp = { address: sdp.audio.address, port: sdp.audio.port };
    }
    call.state = 'answered';
    call.answeredAt = Date.now();
    if (options.sendRtp) call.startRtp();
    if (options.sendRtp && options.sendDeafRtcp) call.startDeafRtcp();
    if (options.durationMs !== undefined) call.scheduleHangup(options.durationMs);
    return call;
  }

  private inDialogRequest(dialog: Dialog, callId: string, method: string, seq: number): SipRequest {
    const headers: SipHeaders = [
      ['Via', this.viaHeader(newBranch())],
      ['Max-Forwards', '70'],
      ...dialog.routeSet.map((r): [string, string] => ['Route', r]),
      ['From', `<${dialog.localUri}>;tag=${dialog.localTag}`],
      ['To', `<${dialog.remoteUri}>${dialog.remoteTag === '' ? '' : `;tag=${dialog.remoteTag}`}`],
      ['Call-ID', callId],
      ['CSeq', `${seq} ${method}`],
      ['User-Agent', USER_AGENT],
    ];
    return createRequest(method, dialog.remoteTarget, headers);
  }

  private async sendBye(
    call: SipCall,
    credentials: { username: string; password: string },
  ): Promise<SipResponse> {
    const dialog = call.dialog;
    if (dialog === undefined) throw new Error('BYE without a dialog');
    const { response } = await this.sendWithDigest(
      () => this.inDialogRequest(dialog, call.callId, 'BYE', this.nextCSeq()),
      credentials,
    );
    return response;
  }

  /** CANCEL of a pending INVITE (same branch and CSeq number); the INVITE then gets 487 and is ACKed. */
  private sendCancel(invite: SipRequest): void {
    const cseq = parseCSeq(getHeader(invite, 'CSeq'));
    const cancel = createRequest('CANCEL', invite.uri, [
      ['Via', getHeaders(invite, 'Via')[0] ?? ''],
      ['Max-Forwards', '70'],
      ['From', getHeader(invite, 'From') ?? ''],
      ['To', getHeader(invite, 'To') ?? ''],
      ['Call-ID', getHeader(invite, 'Call-ID') ?? ''],
      ['CSeq', `${cseq?.seq ?? 0} CANCEL`],
      ['User-Agent', USER_AGENT],
    ]);
    this.sendRequest(cancel).catch(() => undefined);
  }

  protected override onStrayResponse(res: SipResponse): void {
    // Asterisk retransmits its 200 OK to INVITE until our ACK arrives: ACK again.
    const cseq = parseCSeq(getHeader(res, 'CSeq'));
    if (cseq?.method !== 'INVITE' || res.status < 200 || res.status >= 300) return;
    const call = this.calls.get(getHeader(res, 'Call-ID') ?? '');
    if (call?.ackText !== undefined) this.sendToServer(call.ackText);
  }

  protected override handleRequest(req: SipRequest, reply: (text: string) => void): boolean {
    const callId = getHeader(req, 'Call-ID') ?? '';
    const call = this.calls.get(callId);
    const toTag = call?.dialog?.localTag ?? newTag();
    if (req.method === 'BYE') {
      const reason = getHeader(req, 'Reason');
      this.byesReceived.push({ callId, reason, at: Date.now() });
      if (call === undefined) return false; // 481
      this.respond(req, reply, 200, 'OK', [], '', toTag);
      call.finish('ended', { by: 'remote', reason: reason ?? 'BYE' });
      return true;
    }
    if (req.method === 'INVITE' && call?.dialog !== undefined && call.isActive) {
      // re-INVITE (session refresh, media update): accept it with our current offer.
      const sdp = parseSdp(req.body);
      if (sdp.audio?.address !== undefined && sdp.audio.port > 0) {
        call.remoteRtp = { address: sdp.audio.address, port: sdp.audio.port };
      }
      call.sdpVersion++;
      const body = buildPcmuSdp({
        address: this.localHost,
        port: call.localRtpPort,
        sessionId: 1,
        version: call.sdpVersion,
      });
      this.respond(
        req,
        reply,
        200,
        'OK',
        [
          ['Contact', `<${this.contactUri(call.dialog.contactUser)}>`],
          ['Allow', ALLOW],
          ['Content-Type', 'application/sdp'],
        ],
        body,
        toTag,
      );
      return true;
    }
    return false;
  }

  // ------------------------------------------------------------------------------------------ close

  /**
   * Closes the client. Graceful (default): hangs up answered calls and unregisters a registered
   * contact first (bounded waits, errors ignored). `{ graceful: false }` just drops the sockets, like a
   * phone losing power. Either way every call's `ended` resolves and no timer is left.
   */
  close(options: { graceful?: boolean } = {}): Promise<void> {
    this.closing ??= (async () => {
      if (options.graceful ?? true) {
        await Promise.allSettled(this.activeCalls.map((c) => c.hangup()));
        if (this.registered) await this.unregister().catch(() => undefined);
      }
      for (const call of this.activeCalls) call.finish('ended', { by: 'local', reason: 'client closed' });
      this.shutdownCore('SIP client closed');
      await new Promise<void>((resolve) => {
        try {
          this.socket.close(() => resolve());
        } catch {
          resolve();
        }
      });
    })();
    return this.closing;
  }
}
