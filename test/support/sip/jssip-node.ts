/**
 * JsSIP's `UA` running in Node, for REGISTER tests over the sandbox's WebSocket SIP (RFC 7118): the same
 * SIP stack a browser softphone uses, without a browser. Node 20 has no global `WebSocket`, and JsSIP's
 * `WebSocketInterface` needs one; `WsSocket` implements JsSIP's Socket interface over the `ws` package
 * instead, so nothing global is patched.
 *
 *   const phone = await JsSipNode.start({ user: '1001', password: 'pw1001-sandbox' });
 *   await phone.register();   // rejects with JsSipRegistrationError (status 401, 404 …) on failure
 *   await phone.stop();       // un-REGISTER when registered, then close the WebSocket
 *
 * JsSIP answers Asterisk's qualify OPTIONS with 200 by itself. Its debug output is silenced unless
 * `DEBUG` names JsSIP explicitly (`DEBUG='JsSIP*'`).
 */
import { randomBytes } from 'node:crypto';
import { debug as jssipDebug, UA, type Socket } from 'jssip';
import WebSocket from 'ws';
import { SANDBOX } from '../sandbox';

/** The `debug` package as JsSIP re-exports it (its types are not installed). */
interface DebugControl {
  enable(namespaces: string): void;
  disable(): string;
}

// JsSIP logs through `debug` (namespaces `JsSIP:*`, warnings and errors included); a test run with
// DEBUG=* for another library must not drown in SIP traces.
if (!/jssip/i.test(process.env.DEBUG ?? '')) {
  const control = jssipDebug as unknown as DebugControl;
  const previous = control.disable();
  control.enable([previous, '-JsSIP*'].filter((ns) => ns !== '').join(','));
}

const randomToken = (bytes: number): string => randomBytes(bytes).toString('hex');

/** A REGISTER that JsSIP reports as failed: a final SIP status, or none (timeout, transport error). */
export class JsSipRegistrationError extends Error {
  constructor(
    /** SIP status code of the final response, `null` when there was none. */
    readonly status: number | null,
    /** JsSIP's cause (`Authentication Error`, `Not Found`, `Request Timeout` …). */
    readonly causeText: string,
  ) {
    super(`REGISTER failed: ${status ?? 'no response'} (${causeText})`);
    this.name = 'JsSipRegistrationError';
  }
}

/**
 * JsSIP's Socket interface over the `ws` package: subprotocol `sip`, one SIP message per text frame.
 * JsSIP's Transport binds `onconnect`/`ondisconnect`/`ondata` before `connect()` and unbinds them
 * before `disconnect()`.
 */
export class WsSocket implements Socket {
  readonly url: string;
  readonly sip_uri: string;
  private viaTransport = 'WS';
  private ws: WebSocket | undefined;
  private closedPromise: Promise<void> = Promise.resolve();

  onconnect: () => void = () => undefined;
  ondisconnect: (error: boolean, code?: number, reason?: string) => void = () => undefined;
  ondata: <T>(data: T) => void = () => undefined;

  constructor(url: string) {
    const parsed = new URL(url);
    if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') {
      throw new TypeError(`not a WebSocket URL: ${url}`);
    }
    this.url = url;
    this.sip_uri = `sip:${parsed.host};transport=ws`;
    this.viaTransport = parsed.protocol === 'wss:' ? 'WSS' : 'WS';
  }

  get via_transport(): string {
    return this.viaTransport;
  }

  set via_transport(value: string) {
    this.viaTransport = value.toUpperCase();
  }

  /** Local TCP port of the current connection (the source port Asterisk sees), once open. */
  get localPort(): number | undefined {
    return (this.ws as unknown as { _socket?: { localPort?: number } } | undefined)?._socket?.localPort;
  }

  /** Resolves once the current WebSocket (if any) has closed. */
  get closed(): Promise<void> {
    return this.closedPromise;
  }

  connect(): void {
    if (this.isConnected() || this.isConnecting()) return;
    const ws = new WebSocket(this.url, 'sip');
    this.ws = ws;
    this.closedPromise = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    ws.on('open', () => {
      if (this.ws === ws) this.onconnect();
    });
    ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
      if (this.ws !== ws) return;
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      // Text frames as strings, as a browser WebSocket delivers them; JsSIP decodes binary itself.
      this.ondata(isBinary ? new Uint8Array(buf) : buf.toString('utf8'));
    });
    ws.on('close', (code: number, reason: Buffer) => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      this.ondisconnect(code !== 1000, code, reason.toString('utf8'));
    });
    ws.on('error', () => undefined); // a 'close' (1006) always follows; JsSIP acts on that
  }

  disconnect(): void {
    const ws = this.ws;
    if (!ws) return;
    this.ws = undefined;
    if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
    else ws.close(1000);
  }

  send(message: string | ArrayBufferLike | ArrayBufferView): boolean {
    if (!this.isConnected()) return false;
    this.ws!.send(typeof message === 'string' ? message : Buffer.from(message as ArrayBuffer));
    return true;
  }

  isConnected(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  isConnecting(): boolean {
    return this.ws?.readyState === WebSocket.CONNECTING;
  }

  /** Closes at once (no close handshake): the end of a test that must not hang. */
  terminate(): void {
    const ws = this.ws;
    this.ws = undefined;
    ws?.terminate();
  }
}

export interface JsSipNodeOptions {
  /** SIP user = endpoint name = auth username. */
  readonly user: string;
  readonly password: string;
  /** Default SANDBOX.sipWsUrl (ws://127.0.0.1:18088/ws). */
  readonly url?: string;
  /** Domain of the AOR and of the registrar URI. Default SANDBOX.sipDomain. */
  readonly domain?: string;
  /** Expires of our REGISTERs (JsSIP's default is 600 s). */
  readonly registerExpiresSec?: number;
  readonly userAgent?: string;
  /** Bound on connecting, registering and unregistering. Default 5000 ms. */
  readonly timeoutMs?: number;
}

/** Resolves `promise`, or rejects with `what` after `ms` (timer cleared either way). */
async function bounded<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no outcome within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** One JsSIP user agent with its own WebSocket connection; one registration at a time. */
export class JsSipNode {
  readonly user: string;
  /** The random `<token>.invalid` host of our Via and Contact (Asterisk's ViaAddress for ws). */
  readonly viaHost = `${randomToken(4)}.invalid`;
  /** User part of our Contact URI: random, so it identifies our contact among the AOR's. */
  readonly contactUser = randomToken(4);
  /**
   * The Contact URI we register (JsSIP adds `+sip.instance`/`reg-id` as header parameters). Asterisk
   * stores it rewritten to the connection's source (`sip:<contactUser>@127.0.0.1:<localPort>;
   * transport=ws;x-ast-orig-host=<viaHost>:0`): a WebSocket contact is only reachable over its connection.
   */
  readonly contactUri: string;
  readonly socket: WsSocket;
  readonly ua: UA;
  private readonly timeoutMs: number;
  private stopping: Promise<void> | undefined;

  private constructor(options: JsSipNodeOptions) {
    const domain = options.domain ?? SANDBOX.sipDomain;
    this.user = options.user;
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.contactUri = `sip:${this.contactUser}@${this.viaHost};transport=ws`;
    this.socket = new WsSocket(options.url ?? SANDBOX.sipWsUrl);
    this.ua = new UA({
      sockets: [this.socket],
      uri: `sip:${options.user}@${domain}`,
      password: options.password,
      contact_uri: this.contactUri,
      register: false,
      register_expires: options.registerExpiresSec ?? 600,
      user_agent: options.userAgent ?? 'pbxpulse-test JsSIP',
      // No reconnection storm if the sandbox goes away mid-test: one retry after 2 s at most.
      connection_recovery_min_interval: 2,
      connection_recovery_max_interval: 2,
    });
  }

  /** Creates the UA and opens its WebSocket; rejects if the connection fails or takes too long. */
  static async start(options: JsSipNodeOptions): Promise<JsSipNode> {
    const node = new JsSipNode(options);
    let onConnected: () => void = () => undefined;
    let onDisconnected: (e: { code?: number }) => void = () => undefined;
    const connected = new Promise<void>((resolve, reject) => {
      onConnected = () => resolve();
      onDisconnected = (e) =>
        reject(new Error(`SIP WebSocket ${node.socket.url}: closed before open (code ${e.code ?? '?'})`));
    });
    node.ua.once('connected', onConnected);
    node.ua.once('disconnected', onDisconnected);
    node.ua.start();
    try {
      await bounded(connected, node.timeoutMs, `SIP WebSocket ${node.socket.url}`);
    } catch (err) {
      await node.stop();
      throw err;
    } finally {
      node.ua.off('connected', onConnected);
      node.ua.off('disconnected', onDisconnected);
    }
    return node;
  }

  get registered(): boolean {
    return this.ua.isRegistered();
  }

  /**
   * Sends REGISTER (answering one digest challenge) and resolves the final status (2xx) once JsSIP
   * reports `registered`; rejects with JsSipRegistrationError on `registrationFailed`.
   */
  async register(): Promise<{ status: number }> {
    if (this.registered) throw new Error(`${this.user} is already registered`);
    const outcome = new Promise<{ status: number }>((resolve, reject) => {
      const onRegistered = (e: { response: { status_code: number } }): void => {
        this.ua.off('registrationFailed', onFailed);
        resolve({ status: e.response.status_code });
      };
      const onFailed = (e: { response: { status_code: number } | null; cause?: unknown }): void => {
        this.ua.off('registered', onRegistered);
        reject(new JsSipRegistrationError(e.response?.status_code ?? null, String(e.cause)));
      };
      this.ua.once('registered', onRegistered);
      this.ua.once('registrationFailed', onFailed);
    });
    this.ua.register();
    return bounded(outcome, this.timeoutMs, `REGISTER ${this.user}`);
  }

  /** Sends un-REGISTER (Expires: 0) for our contact; resolves its final status (no-op when not registered). */
  async unregister(): Promise<{ status: number | null }> {
    if (!this.registered) return { status: null };
    const outcome = new Promise<{ status: number | null }>((resolve) => {
      this.ua.once('unregistered', (e) =>
        resolve({ status: (e.response as { status_code?: number } | null)?.status_code ?? null }),
      );
    });
    this.ua.unregister();
    return bounded(outcome, this.timeoutMs, `un-REGISTER ${this.user}`);
  }

  /**
   * Unregisters first when registered (best effort), stops the UA and resolves once the WebSocket is
   * closed (terminated if that takes over 3 s). Idempotent.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.unregister().catch(() => undefined);
      // The un-REGISTER transaction ends on a 0 ms timer (Timer K, reliable transport); UA.stop()
      // would otherwise wait 2 s for it before closing the WebSocket.
      await new Promise((resolve) => setTimeout(resolve, 0));
      this.ua.stop();
      try {
        await bounded(this.socket.closed, 3000, 'SIP WebSocket close');
      } catch {
        this.socket.terminate();
      }
    })();
    return this.stopping;
  }
}
