/**
 * Transport-independent core of the SIP test clients: client transactions (with UDP
 * retransmission and bounded waits), REGISTER with digest authentication, and the automatic
 * answers to requests from Asterisk (OPTIONS qualify → 200 OK).
 *
 * Subclasses supply the transport (UDP datagrams, WebSocket messages) and may handle more requests.
 */
import { computeDigest, pickDigestChallenge } from './digest';
import {
  createRequest,
  createResponse,
  extractUri,
  getHeader,
  getHeaders,
  headerParam,
  newBranch,
  newCallId,
  newTag,
  parseCSeq,
  parseSipMessage,
  serializeSipMessage,
  topViaBranch,
  type SipHeaders,
  type SipRequest,
  type SipResponse,
} from './sip-message';

export const USER_AGENT = 'pbxpulse-test/1';
export const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, NOTIFY';

/** T1 of RFC 3261: first retransmission interval over UDP. */
const T1_MS = 500;
/** T2: cap of the retransmission interval of non-INVITE requests. */
const T2_MS = 4000;
/** How long a completed INVITE transaction re-ACKs a retransmitted non-2xx final response. */
const INVITE_COMPLETED_LINGER_MS = 4000;

export interface SipAgentOptions {
  /** Bound on every client transaction: no final response within it → the request rejects. Default 4000. */
  readonly transactionTimeoutMs?: number;
  /** Domain of request URIs and From/To (default '127.0.0.1'). */
  readonly domain?: string;
}

export interface RegisterOptions {
  /** SIP user (From user; Contact user). */
  readonly user: string;
  readonly password: string;
  /** Requested Expires in seconds (default 60; Asterisk's minimum_expiration is 60 by default). */
  readonly expires?: number;
  /** Digest username (default: user). */
  readonly authUser?: string;
  /** Domain of the Request-URI and From/To (default: the client's domain, '127.0.0.1'). */
  readonly domain?: string;
  /** User of the To header = the AOR asked for (default: user). */
  readonly toUser?: string;
}

export interface RegisterResult {
  /** Status of the final response (after at most one answered challenge). */
  readonly status: number;
  readonly reason: string;
  /** REGISTER requests sent (1, or 2 when a 401/407 challenge was answered); retransmissions not counted. */
  readonly attempts: number;
  /** The Contact URI that was registered (or unregistered). */
  readonly contactUri: string;
  /** Expiry Asterisk granted to our contact (Contact ;expires or Expires header), when it said. */
  readonly expires: number | undefined;
  readonly response: SipResponse;
}

/** A request Asterisk sent us. */
export interface ReceivedSipRequest {
  readonly method: string;
  readonly callId: string;
  readonly at: number;
  readonly request: SipRequest;
}

export interface SendRequestOptions {
  /** Bound until the first response / final response (default: transactionTimeoutMs). */
  readonly timeoutMs?: number;
  /** After a provisional response, the bound becomes this (INVITE waiting for an answer). */
  readonly provisionalTimeoutMs?: number;
  readonly onProvisional?: (response: SipResponse) => void;
}

/** Rejection of a request that got no final response in time. */
export class SipTimeoutError extends Error {
  override readonly name = 'SipTimeoutError';
}

interface ClientTransaction {
  readonly key: string;
  readonly request: SipRequest;
  readonly text: string;
  readonly resolve: (response: SipResponse) => void;
  readonly reject: (err: Error) => void;
  readonly options: SendRequestOptions;
  readonly sentAt: number;
  timeout: NodeJS.Timeout | undefined;
  retransmit: NodeJS.Timeout | undefined;
  interval: number;
  lastProvisional: SipResponse | undefined;
}

interface Registration {
  readonly user: string;
  readonly password: string;
  readonly expires: number;
  readonly authUser: string;
  readonly domain: string;
  readonly toUser: string;
}

export function isFinal(status: number): boolean {
  return status >= 200;
}

export abstract class SipAgent {
  readonly domain: string;
  readonly transactionTimeoutMs: number;
  /** Call-ID of every REGISTER of this client (unique per client). */
  readonly registerCallId = newCallId();
  /** Every request Asterisk sent us, in arrival order. */
  readonly receivedRequests: ReceivedSipRequest[] = [];
  /** OPTIONS (qualify) requests answered with 200 OK. */
  optionsAnswered = 0;
  /** Datagrams / messages that did not parse as SIP. */
  parseErrors = 0;

  protected closed = false;
  private cseq = Math.floor(Math.random() * 1000) + 1;
  private readonly registerFromTag = newTag();
  private readonly transactions = new Map<string, ClientTransaction>();
  private readonly completedInvites = new Map<string, string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private lastRegistration: Registration | undefined;
  private activeRegistration: Registration | undefined;

  protected constructor(options: SipAgentOptions) {
    this.domain = options.domain ?? '127.0.0.1';
    this.transactionTimeoutMs = options.transactionTimeoutMs ?? 4000;
  }

  /** True over WebSocket (no retransmissions), false over UDP. */
  protected abstract readonly reliable: boolean;
  /** Human-readable destination for error messages. */
  protected abstract readonly destination: string;
  /** Sends one serialized message to Asterisk. */
  protected abstract sendToServer(text: string): void;
  /** A Via header value for a new request. */
  protected abstract viaHeader(branch: string): string;
  /** The Contact URI for `user`. */
  abstract contactUri(user: string): string;

  /** True while the last REGISTER succeeded with a non-zero expiry and no unregister() followed. */
  get registered(): boolean {
    return this.activeRegistration !== undefined;
  }

  /** Credentials and user of the last successful register() (for calls). */
  protected get identity(): Registration | undefined {
    return this.activeRegistration ?? this.lastRegistration;
  }

  // ------------------------------------------------------------------------------------------ timers

  /** setTimeout that close() clears. */
  protected setTimer(fn: () => void, ms: number): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
    return timer;
  }

  protected clearTimer(timer: NodeJS.Timeout | undefined): void {
    if (timer === undefined) return;
    clearTimeout(timer);
    this.timers.delete(timer);
  }

  protected nextCSeq(): number {
    return this.cseq++;
  }

  // ------------------------------------------------------------------------------------------ receive

  /** Entry point of every message from the transport; `reply` sends a response back the same way. */
  protected receive(data: Buffer | string, reply: (text: string) => void): void {
    if (this.closed) return;
    const text = typeof data === 'string' ? data : data.toString('utf8');
    if (text.trim() === '') return; // keep-alive CRLF
    let msg;
    try {
      msg = parseSipMessage(text);
    } catch {
      this.parseErrors++;
      return;
    }
    if (msg.kind === 'response') this.receiveResponse(msg);
    else this.receiveRequest(msg, reply);
  }

  private receiveResponse(res: SipResponse): void {
    const branch = topViaBranch(res);
    const cseq = parseCSeq(getHeader(res, 'CSeq'));
    if (branch === undefined || cseq === undefined) return;
    const key = `${branch}|${cseq.method}`;
    const tx = this.transactions.get(key);
    if (tx === undefined) {
      const ack = this.completedInvites.get(key);
      if (ack !== undefined && res.status >= 300) this.sendToServer(ack);
      else this.onStrayResponse(res);
      return;
    }
    this.clearTimer(tx.retransmit);
    tx.retransmit = undefined;
    if (!isFinal(res.status)) {
      tx.lastProvisional = res;
      if (tx.options.provisionalTimeoutMs !== undefined) {
        this.clearTimer(tx.timeout);
        tx.timeout = this.setTimer(() => this.timeoutTransaction(tx), tx.options.provisionalTimeoutMs);
      }
      tx.options.onProvisional?.(res);
      return;
    }
    this.clearTimer(tx.timeout);
    this.transactions.delete(key);
    if (tx.request.method === 'INVITE' && res.status >= 300) {
      const ack = serializeSipMessage(this.buildNon2xxAck(tx.request, res));
      this.sendToServer(ack);
      if (!this.reliable) {
        this.completedInvites.set(key, ack);
        this.setTimer(() => this.completedInvites.delete(key), INVITE_COMPLETED_LINGER_MS);
      }
    }
    tx.resolve(res);
  }

  /** ACK of a non-2xx final response to INVITE: part of the INVITE transaction (same branch). */
  private buildNon2xxAck(invite: SipRequest, res: SipResponse): SipRequest {
    const cseq = parseCSeq(getHeader(invite, 'CSeq'));
    const headers: SipHeaders = [
      ['Via', getHeaders(invite, 'Via')[0] ?? ''],
      ['Max-Forwards', '70'],
      ['From', getHeader(invite, 'From') ?? ''],
      ['To', getHeader(res, 'To') ?? ''],
      ['Call-ID', getHeader(invite, 'Call-ID') ?? ''],
      ['CSeq', `${cseq?.seq ?? 0} ACK`],
      ...getHeaders(invite, 'Route').map((r): [string, string] => ['Route', r]),
      ['User-Agent', USER_AGENT],
    ];
    return createRequest('ACK', invite.uri, headers);
  }

  /** A response that matches no pending transaction (e.g. a retransmitted 200 OK to INVITE). */
  protected onStrayResponse(_res: SipResponse): void {
    // nothing by default
  }

  private receiveRequest(req: SipRequest, reply: (text: string) => void): void {
    this.receivedRequests.push({
      method: req.method,
      callId: getHeader(req, 'Call-ID') ?? '',
      at: Date.now(),
      request: req,
    });
    if (req.method === 'ACK') return; // never answered
    if (req.method === 'OPTIONS') {
      this.optionsAnswered++;
      this.respond(req, reply, 200, 'OK', [
        ['Allow', ALLOW],
        ['Accept', 'application/sdp'],
      ]);
      return;
    }
    if (this.handleRequest(req, reply)) return;
    switch (req.method) {
      case 'NOTIFY':
        this.respond(req, reply, 200, 'OK');
        return;
      case 'INVITE':
        this.respond(req, reply, 486, 'Busy Here');
        return;
      case 'BYE':
      case 'CANCEL':
        this.respond(req, reply, 481, 'Call/Transaction Does Not Exist');
        return;
      default:
        this.respond(req, reply, 405, 'Method Not Allowed', [['Allow', ALLOW]]);
    }
  }

  /** Subclass hook for requests other than OPTIONS/ACK; return true when answered. */
  protected handleRequest(_req: SipRequest, _reply: (text: string) => void): boolean {
    return false;
  }

  /** Sends a response to `req`, adding a To tag and User-Agent. */
  protected respond(
    req: SipRequest,
    reply: (text: string) => void,
    status: number,
    reason: string,
    headers: SipHeaders = [],
    body = '',
    toTag: string = newTag(),
  ): void {
    const res = createResponse(req, status, reason, {
      toTag,
      headers: [['User-Agent', USER_AGENT], ...headers],
      body,
    });
    reply(serializeSipMessage(res));
  }

  // ------------------------------------------------------------------------------------------ send

  /**
   * Sends a request as a client transaction and resolves its final response. Over UDP the request is
   * retransmitted (500 ms, doubling; non-INVITE capped at 4 s) until a response arrives. Rejects with
   * a SipTimeoutError when no final response comes within the bound.
   */
  protected sendRequest(req: SipRequest, options: SendRequestOptions = {}): Promise<SipResponse> {
    if (this.closed) return Promise.reject(new Error(`SIP client closed; cannot send ${req.method}`));
    const branch = topViaBranch(req);
    const cseq = parseCSeq(getHeader(req, 'CSeq'));
    if (branch === undefined || cseq === undefined) {
      return Promise.reject(new Error(`${req.method} needs a Via branch and a CSeq`));
    }
    const key = `${branch}|${cseq.method}`;
    const text = serializeSipMessage(req);
    return new Promise<SipResponse>((resolve, reject) => {
      const tx: ClientTransaction = {
        key,
        request: req,
        text,
        resolve,
        reject,
        options,
        sentAt: Date.now(),
        timeout: undefined,
        retransmit: undefined,
        interval: T1_MS,
        lastProvisional: undefined,
      };
      this.transactions.set(key, tx);
      tx.timeout = this.setTimer(
        () => this.timeoutTransaction(tx),
        options.timeoutMs ?? this.transactionTimeoutMs,
      );
      if (!this.reliable) this.scheduleRetransmit(tx);
      try {
        this.sendToServer(text);
      } catch (err: unknown) {
        this.failTransaction(tx, err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  private scheduleRetransmit(tx: ClientTransaction): void {
    tx.retransmit = this.setTimer(() => {
      if (!this.transactions.has(tx.key)) return;
      try {
        this.sendToServer(tx.text);
      } catch {
        // the timeout reports it
      }
      tx.interval = tx.request.method === 'INVITE' ? tx.interval * 2 : Math.min(tx.interval * 2, T2_MS);
      this.scheduleRetransmit(tx);
    }, tx.interval);
  }

  private timeoutTransaction(tx: ClientTransaction): void {
    const last = tx.lastProvisional
      ? `last response ${tx.lastProvisional.status} ${tx.lastProvisional.reason}`
      : 'no response at all';
    const waited = Date.now() - tx.sentAt;
    this.failTransaction(
      tx,
      new SipTimeoutError(
        `SIP ${tx.request.method} ${tx.request.uri} to ${this.destination}: no final response within ` +
          `${waited} ms (${last}; Call-ID ${getHeader(tx.request, 'Call-ID') ?? '?'})`,
      ),
    );
  }

  private failTransaction(tx: ClientTransaction, err: Error): void {
    if (this.transactions.get(tx.key) !== tx) return;
    this.transactions.delete(tx.key);
    this.clearTimer(tx.timeout);
    this.clearTimer(tx.retransmit);
    tx.reject(err);
  }

  /**
   * Sends `build()`; on 401/407 with a usable Digest challenge, answers it once with a rebuilt request
   * (new branch and CSeq) and resolves the second final response. Never loops.
   */
  protected async sendWithDigest(
    build: () => SipRequest,
    credentials: { username: string; password: string },
    options: SendRequestOptions = {},
  ): Promise<{ request: SipRequest; response: SipResponse; attempts: number }> {
    let request = build();
    let response = await this.sendRequest(request, options);
    if (response.status !== 401 && response.status !== 407) return { request, response, attempts: 1 };
    const proxy = response.status === 407;
    const challenge = pickDigestChallenge(
      getHeaders(response, proxy ? 'Proxy-Authenticate' : 'WWW-Authenticate'),
    );
    if (challenge === undefined) return { request, response, attempts: 1 };
    request = build();
    const digest = computeDigest({
      challenge,
      method: request.method,
      uri: request.uri,
      username: credentials.username,
      password: credentials.password,
    });
    request.headers.push([proxy ? 'Proxy-Authorization' : 'Authorization', digest.header]);
    response = await this.sendRequest(request, options);
    return { request, response, attempts: 2 };
  }

  // ------------------------------------------------------------------------------------------ REGISTER

  /** REGISTER with digest authentication; resolves the final response (one challenge answered at most). */
  async register(options: RegisterOptions): Promise<RegisterResult> {
    const registration: Registration = {
      user: options.user,
      password: options.password,
      expires: options.expires ?? 60,
      authUser: options.authUser ?? options.user,
      domain: options.domain ?? this.domain,
      toUser: options.toUser ?? options.user,
    };
    this.lastRegistration = registration;
    const result = await this.sendRegister(registration, registration.expires);
    if (result.status >= 200 && result.status < 300) {
      this.activeRegistration = registration.expires > 0 ? registration : undefined;
    }
    return result;
  }

  /** REGISTER of the last register()'s contact with Expires: 0. */
  async unregister(): Promise<RegisterResult> {
    const registration = this.activeRegistration ?? this.lastRegistration;
    if (registration === undefined) throw new Error('unregister() before register()');
    const result = await this.sendRegister(registration, 0);
    if (result.status >= 200 && result.status < 300) this.activeRegistration = undefined;
    return result;
  }

  private async sendRegister(reg: Registration, expires: number): Promise<RegisterResult> {
    const requestUri = `sip:${reg.domain}`;
    const contactUri = this.contactUri(reg.user);
    const build = (): SipRequest =>
      createRequest('REGISTER', requestUri, [
        ['Via', this.viaHeader(newBranch())],
        ['Max-Forwards', '70'],
        ['From', `<sip:${reg.user}@${reg.domain}>;tag=${this.registerFromTag}`],
        ['To', `<sip:${reg.toUser}@${reg.domain}>`],
        ['Call-ID', this.registerCallId],
        ['CSeq', `${this.nextCSeq()} REGISTER`],
        ['Contact', `<${contactUri}>`],
        ['Expires', String(expires)],
        ['Allow', ALLOW],
        ['User-Agent', USER_AGENT],
      ]);
    const { response, attempts } = await this.sendWithDigest(build, {
      username: reg.authUser,
      password: reg.password,
    });
    return {
      status: response.status,
      reason: response.reason,
      attempts,
      contactUri,
      expires: grantedExpires(response, contactUri),
      response,
    };
  }

  // ------------------------------------------------------------------------------------------ close

  /** Rejects every pending transaction and clears every timer (the subclass closes its transport). */
  protected shutdownCore(reason: string): void {
    this.closed = true;
    for (const tx of [...this.transactions.values()]) this.failTransaction(tx, new Error(reason));
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.completedInvites.clear();
  }
}

/** Expiry granted to `contactUri` in a REGISTER response. */
function grantedExpires(res: SipResponse, contactUri: string): number | undefined {
  for (const line of getHeaders(res, 'Contact')) {
    // Several contacts may share one line, comma-separated (commas do not occur inside our URIs).
    for (const contact of line.split(/,(?=\s*<)/)) {
      if (extractUri(contact) !== contactUri) continue;
      const expires = headerParam(contact, 'expires');
      if (expires !== undefined && /^\d+$/.test(expires)) return Number(expires);
    }
  }
  const header = getHeader(res, 'Expires');
  return header !== undefined && /^\d+$/.test(header.trim()) ? Number(header.trim()) : undefined;
}
