import { Logger } from '@nestjs/common';
import WebSocket from 'ws';
import { Backoff } from '../common/backoff';
import { LivenessWatch } from '../common/liveness-watch';
import { StatusStream } from '../common/status-stream';
import {
  AriAuthError,
  AriHttpError,
  AriNotConnectedError,
  AriProtocolError,
  AriRequestTimeoutError,
  ariAuthFailedText,
} from './ari.errors';
import { type AriAsteriskInfoResponse, type AriEventMessage, parseAriMessage } from './ari.messages';

export interface AriConnectionOptions {
  /** Node name, for log lines and error messages. */
  node: string;
  /** Base URL of the Asterisk HTTP server, e.g. `http://127.0.0.1:8088` (no `/ari`). */
  url: string;
  username: string;
  password: string;
  /** Unique ARI application name, e.g. `pbxpulse-<node>-<hostname>-<pid>`. */
  app: string;
  reconnectInitialDelayMs: number;
  reconnectMaxDelayMs: number;
  /** Budget of each REST call (connect, headers and body). */
  requestTimeoutMs: number;
  /** Budget for the events WebSocket to open; also the grace period for a clean close in `stop()`. */
  connectTimeoutMs: number;
  /**
   * Liveness budget of the events socket: after this long without a frame (an event, a pong) it is
   * dropped; a ping goes out after a third of it in silence. 0 disables.
   */
  keepaliveIntervalMs: number;
  /** Random source in [0, 1) for the backoff jitter and the replacement app suffix (tests). */
  random?: () => number;
}

export type AriHttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface AriRequestOptions {
  query?: Record<string, string>;
  /** Sent as JSON. */
  body?: unknown;
  /** Overrides `requestTimeoutMs` for this call. */
  timeoutMs?: number;
}

/** The part of `GET /ari/asterisk/info` pbxpulse uses. */
export interface AsteriskInfo {
  /** `system.version`, e.g. `22.10.1`. */
  version: string;
  /** `status.startup_time`, as Asterisk formats it. */
  startupTime: string;
  /** `status.last_reload_time`. */
  lastReloadTime: string;
  /** `system.entity_id` (a MAC-like id), when present. */
  entityId?: string;
  /** `config.name` (asterisk.conf `systemname`), when set. */
  systemName?: string;
}

/** Retry lines while a link stays down are repeated at most this often unless the error changes. */
const RETRY_LOG_INTERVAL_MS = 60_000;

interface SocketContext {
  ws: WebSocket;
  connectTimer?: NodeJS.Timeout;
  liveness?: LivenessWatch;
  opened: boolean;
  /** The socket has been given up (dropped or stopped); later events from it are ignored. */
  done: boolean;
  /** Resolves on the socket's `close` event. */
  closed: Promise<void>;
}

/**
 * One node's ARI link: the events WebSocket (`/ari/events?app=…&subscribeAll=true`, reconnected
 * forever with capped, jittered backoff) and REST calls over `fetch`. Credentials travel only in the
 * `Authorization` header, never in a URL, a log line or an error message.
 *
 * A plain class: the Nest service sets `onMessage`/`onConnected`, calls `start()` at bootstrap and
 * awaits `stop()` at shutdown.
 */
export class AriConnection {
  private readonly logger = new Logger(AriConnection.name);

  /** `connecting` → `up` → `down` …; `lastError` never contains the password. */
  readonly status = new StatusStream('down');

  /** Every parsed event from the events socket, `ApplicationReplaced` included. Exceptions are logged. */
  onMessage?: (msg: AriEventMessage) => void;

  /**
   * Called after each successful (re)connect of the events socket: the resync hook. A throw or a
   * rejection is logged and never breaks the link. It may run again before a previous run finished
   * if the link flaps.
   */
  onConnected?: () => void | Promise<void>;

  private readonly backoff: Backoff;
  private readonly random: () => number;
  private readonly base: URL;
  private readonly basePath: string;
  private readonly safeBase: string;
  private readonly authHeader: string;
  private readonly sockets = new Set<SocketContext>();
  private readonly inflight = new Set<AbortController>();
  private current?: SocketContext;
  private reconnectTimer?: NodeJS.Timeout;
  private started = false;
  private stopped = false;
  private attempts = 0;
  private malformed = 0;
  private replacements = 0;
  private appName: string;
  private failuresSinceUp = 0;
  private lastRetryLog?: { at: number; error: string; suppressed: number };

  constructor(private readonly options: AriConnectionOptions) {
    this.random = options.random ?? Math.random;
    this.backoff = new Backoff({
      initialMs: options.reconnectInitialDelayMs,
      maxMs: options.reconnectMaxDelayMs,
      random: this.random,
    });
    try {
      this.base = new URL(options.url);
    } catch {
      // The config loader validates URLs; the text is left out in case it carries credentials.
      throw new Error(`node '${options.node}': ARI url is not a valid URL`);
    }
    // Credentials pasted into the URL would leak into logs; the header is the only place for them.
    this.base.username = '';
    this.base.password = '';
    this.base.search = '';
    this.base.hash = '';
    // A path prefix (reverse proxy) is kept; `/ari/...` is appended to it.
    this.basePath = this.base.pathname.replace(/\/+$/, '');
    this.safeBase = `${this.base.protocol}//${this.base.host}${this.basePath}`;
    this.authHeader = `Basic ${Buffer.from(`${options.username}:${options.password}`).toString('base64')}`;
    this.appName = options.app;
  }

  /** Connection attempts after the first one (`pbxpulse_ari_reconnects_total`). */
  get reconnects(): number {
    return Math.max(0, this.attempts - 1);
  }

  /** Frames skipped because they were binary, not JSON, or not an object with a string `type`. */
  get malformedMessages(): number {
    return this.malformed;
  }

  /** The app name in use: `options.app`, plus a `-r…` suffix after an `ApplicationReplaced`. */
  get app(): string {
    return this.appName;
  }

  /** Begin connecting in the background. Never throws, never blocks; a second call is a no-op. */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.connect();
  }

  /**
   * Connect again after `stop()` (a cluster daemon got the node's lease back), with a fresh backoff.
   * Does nothing while running or before `start()`.
   */
  resume(): void {
    if (!this.started || !this.stopped) return;
    this.stopped = false;
    this.backoff.reset();
    this.failuresSinceUp = 0;
    this.lastRetryLog = undefined;
    this.status.set('connecting');
    this.connect();
  }

  /**
   * Cancel timers, abort in-flight requests, close the socket with code 1000 and resolve once it is
   * closed (a peer that ignores the close is cut off after `connectTimeoutMs`). Final: no reconnect,
   * and `start()` afterwards does nothing.
   */
  async stop(): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = undefined;
      for (const controller of this.inflight) controller.abort();
      this.current = undefined;
      this.status.set('down', 'stopped');
    }
    await Promise.all([...this.sockets].map((ctx) => this.closeSocket(ctx)));
  }

  /**
   * One REST call. `path` is relative to `/ari` (e.g. `/asterisk/info`); the caller encodes path
   * segments. Resolves with the parsed JSON body, or `undefined` for an empty body (204).
   *
   * Rejects only with `AriRequestTimeoutError`, `AriAuthError` (401: the link is also marked down),
   * `AriHttpError`, `AriNotConnectedError` (unreachable, or after `stop()`) or `AriProtocolError`
   * (2xx with a body that is not JSON). Works whether or not the events socket is up.
   */
  async request<T>(method: AriHttpMethod, path: string, opts: AriRequestOptions = {}): Promise<T> {
    const { node } = this.options;
    if (this.stopped) throw new AriNotConnectedError(node, 'connection stopped');
    const url = this.restUrl(path, opts.query);
    const timeoutMs = opts.timeoutMs ?? this.options.requestTimeoutMs;
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    this.inflight.add(controller);
    const failure = (err: unknown): Error => {
      if (timedOut) return new AriRequestTimeoutError(node, method, path, timeoutMs);
      if (this.stopped) return new AriNotConnectedError(node, 'connection stopped');
      return new AriNotConnectedError(node, this.describeError(err));
    };
    try {
      const headers: Record<string, string> = { Authorization: this.authHeader, Accept: 'application/json' };
      let body: string | undefined;
      if (opts.body !== undefined) {
        headers['Content-Type'] = 'application/json';
        try {
          body = JSON.stringify(opts.body);
        } catch {
          throw new AriProtocolError(node, method, path, 'request body is not JSON-serialisable');
        }
      }
      let res: Response;
      let text: string;
      try {
        res = await fetch(url, { method, headers, body, signal: controller.signal, redirect: 'manual' });
        text = await res.text();
      } catch (err) {
        throw failure(err);
      }
      if (res.status === 401) {
        this.authRejected();
        throw new AriAuthError(node, this.options.username);
      }
      if (res.status < 200 || res.status > 299) {
        throw new AriHttpError(node, method, path, res.status, this.asteriskMessage(text));
      }
      if (text.trim() === '') return undefined as T;
      try {
        return JSON.parse(text) as T;
      } catch {
        throw new AriProtocolError(node, method, path, 'body is not JSON');
      }
    } finally {
      clearTimeout(timer);
      this.inflight.delete(controller);
    }
  }

  /** `GET /ari/asterisk/info`, reduced to what pbxpulse uses. */
  async getAsteriskInfo(): Promise<AsteriskInfo> {
    const raw = await this.request<unknown>('GET', '/asterisk/info');
    const info = toAsteriskInfo(raw);
    if (!info) {
      throw new AriProtocolError(
        this.options.node,
        'GET',
        '/asterisk/info',
        'missing system.version or status times',
      );
    }
    return info;
  }

  private connect(): void {
    if (this.stopped) return;
    this.attempts += 1;
    // `connecting` only until the first success or failure; retries stay `down` so they don't flap
    // the status (and every consumer of it) once per attempt.
    if (this.attempts === 1) this.status.set('connecting');
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.eventsUrl(), {
        headers: { Authorization: this.authHeader },
        perMessageDeflate: false,
        followRedirects: false,
      });
    } catch (err) {
      // Only a malformed URL throws synchronously; keep retrying so the status tells the story.
      this.afterFailure(this.describeError(err), false);
      return;
    }
    let markClosed!: () => void;
    const ctx: SocketContext = {
      ws,
      opened: false,
      done: false,
      closed: new Promise<void>((resolve) => (markClosed = resolve)),
    };
    this.current = ctx;
    this.sockets.add(ctx);
    ctx.connectTimer = setTimeout(
      () => this.drop(ctx, `connect timeout after ${this.options.connectTimeoutMs} ms`),
      this.options.connectTimeoutMs,
    );
    ws.on('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      this.drop(
        ctx,
        status === 401
          ? ariAuthFailedText(this.options.username)
          : `WebSocket upgrade rejected with HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}`,
      );
    });
    ws.on('open', () => this.handleOpen(ctx));
    ws.on('message', (data, isBinary) => this.handleFrame(ctx, data, isBinary));
    ws.on('pong', () => ctx.liveness?.seen());
    ws.on('ping', () => ctx.liveness?.seen());
    ws.on('error', (err) => this.drop(ctx, this.describeError(err)));
    ws.on('close', (code, reason) => {
      this.sockets.delete(ctx);
      markClosed();
      const text = reason.toString('utf8');
      this.drop(ctx, `socket closed (code ${code}${text ? `, ${text}` : ''})`);
    });
  }

  private handleOpen(ctx: SocketContext): void {
    if (ctx.done) return;
    clearTimeout(ctx.connectTimer);
    ctx.opened = true;
    this.backoff.reset();
    const failures = this.failuresSinceUp;
    this.failuresSinceUp = 0;
    this.lastRetryLog = undefined;
    this.status.set('up');
    this.logger.log(
      `node '${this.options.node}': connected to ${this.safeBase} as app '${this.appName}'` +
        (failures > 0 ? ` after ${failures} failed attempt${failures === 1 ? '' : 's'}` : ''),
    );
    this.startKeepalive(ctx);
    this.runOnConnected();
  }

  private handleFrame(ctx: SocketContext, data: WebSocket.RawData, isBinary: boolean): void {
    if (ctx.done) return;
    // Any frame proves the socket is alive, not only a pong.
    ctx.liveness?.seen();
    const msg = isBinary ? undefined : parseAriMessage(rawToText(data));
    if (!msg) {
      this.malformed += 1;
      this.logger.debug(
        `node '${this.options.node}': skipped a malformed ARI frame (${this.malformed} so far)`,
      );
      return;
    }
    try {
      this.onMessage?.(msg);
    } catch (err) {
      this.logger.error(
        `node '${this.options.node}': ARI consumer failed on ${msg.type}: ${errorMessage(err)}`,
        err instanceof Error ? err.stack : undefined,
      );
    }
    if (msg.type === 'ApplicationReplaced') this.handleReplaced(ctx);
  }

  /**
   * Someone else opened a WebSocket with our app name; Asterisk now sends them our events and this
   * socket goes deaf. Reclaiming the same name would make the two fight (each steal triggers the other's
   * ApplicationReplaced), so we reconnect under a fresh suffix and resync through `onConnected`.
   */
  private handleReplaced(ctx: SocketContext): void {
    const previous = this.appName;
    this.replacements += 1;
    const tag = Math.floor(this.random() * 36 ** 4)
      .toString(36)
      .padStart(4, '0');
    this.appName = `${this.options.app}-r${this.replacements}${tag}`;
    this.logger.warn(
      `node '${this.options.node}': ARI app '${previous}' was taken over by another WebSocket ` +
        `(ApplicationReplaced); reconnecting as '${this.appName}'`,
    );
    this.drop(ctx, `ARI app '${previous}' replaced by another WebSocket`, { quiet: true });
  }

  private startKeepalive(ctx: SocketContext): void {
    const budget = this.options.keepaliveIntervalMs;
    if (budget <= 0) return;
    ctx.liveness = new LivenessWatch({
      deadAfterMs: budget,
      probe: () => ctx.ws.ping(),
      dead: (silentMs) => this.drop(ctx, `keepalive timeout: nothing received for ${silentMs} ms`),
    });
    ctx.liveness.start();
  }

  private runOnConnected(): void {
    const hook = this.onConnected;
    if (!hook) return;
    const report = (err: unknown): void =>
      this.logger.error(
        `node '${this.options.node}': ARI onConnected hook failed: ${errorMessage(err)}`,
        err instanceof Error ? err.stack : undefined,
      );
    try {
      // Promise.resolve also covers a sync return and a foreign thenable.
      void Promise.resolve(hook()).catch(report);
    } catch (err) {
      report(err);
    }
  }

  /** Give up on a socket (once), mark the link down and schedule the next attempt. */
  private drop(ctx: SocketContext, reason: string, opts: { quiet?: boolean } = {}): void {
    if (ctx.done) return;
    ctx.done = true;
    clearTimeout(ctx.connectTimer);
    ctx.liveness?.stop();
    // Recreate rather than reuse: a wedged or half-open socket is never trusted again.
    ctx.ws.terminate();
    if (this.current === ctx) this.current = undefined;
    if (this.stopped) return;
    this.afterFailure(this.redact(reason), ctx.opened, opts.quiet);
  }

  private afterFailure(error: string, wasUp: boolean, quiet = false): void {
    this.status.set('down', error);
    const delay = this.backoff.next();
    // A replacement is a deliberate move, not a failed attempt.
    if (!quiet) this.failuresSinceUp += 1;
    const now = Date.now();
    const last = this.lastRetryLog;
    const node = this.options.node;
    if (quiet) {
      this.lastRetryLog = { at: now, error, suppressed: 0 };
    } else if (wasUp) {
      this.logger.warn(`node '${node}': ARI connection lost (${error}); retrying in ${delay} ms`);
      this.lastRetryLog = { at: now, error, suppressed: 0 };
    } else if (!last || last.error !== error || now - last.at >= RETRY_LOG_INTERVAL_MS) {
      const more =
        last && last.suppressed > 0 ? ` (${last.suppressed} more failed attempts since last report)` : '';
      this.logger.warn(
        `node '${node}': cannot connect ARI to ${this.safeBase} (${error}); retrying in ${delay} ms${more}`,
      );
      this.lastRetryLog = { at: now, error, suppressed: 0 };
    } else {
      last.suppressed += 1;
    }
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect();
    }, delay);
  }

  /** A REST 401: the credentials no longer work, so the link is not usable even if the socket is up. */
  private authRejected(): void {
    if (this.stopped) return;
    const error = ariAuthFailedText(this.options.username);
    const ctx = this.current;
    if (ctx?.opened) this.drop(ctx, error);
    else this.status.set('down', error);
  }

  private async closeSocket(ctx: SocketContext): Promise<void> {
    ctx.done = true;
    clearTimeout(ctx.connectTimer);
    ctx.liveness?.stop();
    if (ctx.ws.readyState === WebSocket.OPEN) {
      ctx.ws.close(1000, 'pbxpulse stopping');
      const force = setTimeout(() => ctx.ws.terminate(), this.options.connectTimeoutMs);
      await ctx.closed;
      clearTimeout(force);
      return;
    }
    if (ctx.ws.readyState !== WebSocket.CLOSING) ctx.ws.terminate();
    await ctx.closed;
  }

  private eventsUrl(): string {
    const url = new URL(this.base.href);
    url.protocol = url.protocol === 'https:' || url.protocol === 'wss:' ? 'wss:' : 'ws:';
    url.pathname = `${this.basePath}/ari/events`;
    url.searchParams.set('app', this.appName);
    url.searchParams.set('subscribeAll', 'true');
    return url.href;
  }

  private restUrl(path: string, query?: Record<string, string>): string {
    const url = new URL(this.base.href);
    url.protocol = url.protocol === 'wss:' ? 'https:' : url.protocol === 'ws:' ? 'http:' : url.protocol;
    url.pathname = `${this.basePath}/ari${path.startsWith('/') ? path : `/${path}`}`;
    for (const [key, value] of Object.entries(query ?? {})) url.searchParams.set(key, value);
    return url.href;
  }

  /** ARI error bodies are `{"message": "…"}`; fall back to a short plain-text body. */
  private asteriskMessage(text: string): string | undefined {
    let message: string | undefined;
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed === 'object' && parsed !== null && 'message' in parsed) {
        const m = parsed.message;
        if (typeof m === 'string') message = m;
      }
    } catch {
      message = text.trim().slice(0, 200) || undefined;
    }
    return message === undefined ? undefined : this.redact(message);
  }

  /** Turn socket/fetch failures into short, stable, secret-free text. */
  private describeError(err: unknown): string {
    const hostPort = `${this.base.hostname}:${this.base.port || (this.base.protocol === 'https:' || this.base.protocol === 'wss:' ? '443' : '80')}`;
    let text: string | undefined;
    for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
      const code = (e as { code?: unknown }).code;
      switch (code) {
        case 'ECONNREFUSED':
          return `connection refused (${hostPort})`;
        case 'ECONNRESET':
          return `connection reset (${hostPort})`;
        case 'ENOTFOUND':
        case 'EAI_AGAIN':
          return `host not found (${this.base.hostname})`;
        case 'ETIMEDOUT':
          return `TCP connect timed out (${hostPort})`;
        case 'EHOSTUNREACH':
        case 'ENETUNREACH':
          return `host unreachable (${hostPort})`;
      }
      const message = e instanceof Error ? e.message : typeof e === 'string' ? e : undefined;
      // undici's outer TypeError says only "fetch failed"; the cause has the useful part.
      if (message && message !== 'fetch failed' && text === undefined) text = message;
      e = (e as { cause?: unknown }).cause;
    }
    return this.redact(text ?? 'unknown error');
  }

  /** Defence in depth: whatever text we keep, the password and the auth header never survive. */
  private redact(text: string): string {
    let out = text.split(this.authHeader.slice('Basic '.length)).join('***');
    if (this.options.password) out = out.split(this.options.password).join('***');
    return out;
  }
}

/** Map `/asterisk/info` to `AsteriskInfo`; `undefined` when the fields we need are missing. */
export function toAsteriskInfo(raw: unknown): AsteriskInfo | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const { system, config, status } = raw as AriAsteriskInfoResponse;
  if (typeof system?.version !== 'string') return undefined;
  if (typeof status?.startup_time !== 'string' || typeof status.last_reload_time !== 'string')
    return undefined;
  const info: AsteriskInfo = {
    version: system.version,
    startupTime: status.startup_time,
    lastReloadTime: status.last_reload_time,
  };
  if (typeof system.entity_id === 'string' && system.entity_id) info.entityId = system.entity_id;
  if (typeof config?.name === 'string' && config.name) info.systemName = config.name;
  return info;
}

function rawToText(data: WebSocket.RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
