import { Logger } from '@nestjs/common';
import * as net from 'node:net';
import { randomBytes } from 'node:crypto';
import { Backoff } from '../common/backoff';
import { LivenessWatch } from '../common/liveness-watch';
import { StatusStream } from '../common/status-stream';
import type { AmiMessage } from './ami.message';
import { AmiFrameParser, type MalformedReason } from './ami.parser';
import { AmiActionError, AmiActionTimeoutError, AmiConnectionClosedError, AmiLoginError } from './ami.errors';

/** Settings of one AMI link. Secrets stay in here and are never logged. */
export interface AmiConnectionOptions {
  /** Node name, for log lines. */
  node: string;
  host: string;
  port: number;
  username: string;
  secret: string;
  reconnectInitialDelayMs: number;
  reconnectMaxDelayMs: number;
  actionTimeoutMs: number;
  /** TCP connect + greeting + Login must finish within this. */
  connectTimeoutMs: number;
  /**
   * Liveness budget: after this long without a byte from Asterisk the link is dropped. A `Ping` is sent
   * after a third of it in silence, so a quiet but healthy link always answers in time.
   */
  keepaliveIntervalMs: number;
  maxFrameBytes: number;
  random?: () => number;
}

/** Header values of an action. An array sends the header once per value (`Variable:`). */
export type AmiActionFields = Record<string, string | number | readonly string[] | undefined>;

export interface AmiActionOptions {
  timeoutMs?: number;
}

export interface AmiListOptions extends AmiActionOptions {
  /**
   * Several PJSIP list actions answer `Response: Error` ("No endpoints found", "No Contacts found")
   * instead of an empty list. With this set, such an answer resolves to an empty list.
   */
  errorMeansEmpty?: boolean;
}

/**
 * A list action whose items are turned into what the caller keeps as they arrive (`undefined` drops
 * one): a 10,000-endpoint list then never holds 10,000 parsed frames at once. Items that came before an
 * Error are not kept for the `AmiActionError` in this form.
 */
export interface AmiMappedListOptions<T> extends AmiListOptions {
  item: (msg: AmiMessage) => T | undefined;
}

/** The collected answer of a list action (`EventList: start` … `EventList: Complete`). */
export interface AmiListResult<T = AmiMessage> {
  response: AmiMessage;
  items: T[];
  /** The `…Complete` event; absent when `errorMeansEmpty` turned an Error into an empty list. */
  complete?: AmiMessage;
}

/**
 * Why a logged-in session ended: Asterisk closed it (shutdown, restart, or it gave up on a reader that
 * let a write wait past `writetimeout`), the TCP connection was reset, nothing arrived within the
 * keepalive budget, or another socket error.
 */
export type AmiDisconnectReason = 'closed' | 'reset' | 'keepalive' | 'error';
export const AMI_DISCONNECT_REASONS: readonly AmiDisconnectReason[] = [
  'closed',
  'reset',
  'keepalive',
  'error',
];

/** Counters read at scrape time by the metrics layer. */
export interface AmiConnectionStats {
  /** Connection attempts after the first one. */
  reconnects: number;
  /** Logged-in sessions lost, by reason (each is followed by a reconnect and a resync). */
  disconnects: Record<AmiDisconnectReason, number>;
  /** Frames skipped because they were oversized or not `Key: Value`. */
  malformedFrames: number;
  /** Every event frame received (async events and list items). */
  events: number;
}

interface PendingAction {
  action: string;
  timeoutMs: number;
  timer: NodeJS.Timeout;
  resolve(value: AmiMessage | AmiListResult<unknown>): void;
  reject(err: Error): void;
  list?: {
    errorMeansEmpty: boolean;
    response?: AmiMessage;
    items: unknown[];
    item?: (msg: AmiMessage) => unknown;
  };
}

const RETRY_LOG_INTERVAL_MS = 60_000;

/**
 * One supervised AMI session to one Asterisk: TCP connect, Login, actions correlated by ActionID with
 * a timeout and typed errors, list collection until `EventList: Complete`, keepalive pings, and
 * reconnect forever with capped exponential backoff. A plain class (no Nest), constructible in a test.
 *
 * Status: `connecting` until the first login, `up` while logged in, `down` after a loss or a failed
 * attempt (and through the retries that follow, so retries don't flap the status).
 */
export class AmiConnection {
  readonly status = new StatusStream('down');
  readonly stats: AmiConnectionStats = {
    reconnects: 0,
    malformedFrames: 0,
    events: 0,
    disconnects: { closed: 0, reset: 0, keepalive: 0, error: 0 },
  };

  /** Async events (not items of a list this connection asked for). Called synchronously per frame. */
  onEvent?: (msg: AmiMessage) => void;
  /** Called after each successful login: the resync hook. Errors are logged, never thrown. */
  onConnected?: () => void | Promise<void>;
  /** Called per skipped frame, after the counter moved. */
  onMalformed?: (reason: MalformedReason) => void;

  /** The AMI protocol version from the greeting, e.g. `11.0.0` for Asterisk 22. */
  amiVersion?: string;

  private readonly logger: Logger;
  private readonly backoff: Backoff;
  private readonly parser: AmiFrameParser;
  private readonly pending = new Map<string, PendingAction>();
  private socket?: net.Socket;
  private loggedIn = false;
  private stopped = true;
  private attempts = 0;
  private idPrefix = '';
  private seq = 0;
  private reconnectTimer?: NodeJS.Timeout;
  private connectTimer?: NodeJS.Timeout;
  private liveness?: LivenessWatch;
  /** Why the current socket is being dropped, when we drop it ourselves. */
  private dropReason?: string;
  private dropKind?: AmiDisconnectReason;
  private lastRetryLog = { text: '', at: 0 };

  constructor(private readonly options: AmiConnectionOptions) {
    this.logger = new Logger(`AmiConnection:${options.node}`);
    this.backoff = new Backoff({
      initialMs: options.reconnectInitialDelayMs,
      maxMs: options.reconnectMaxDelayMs,
      random: options.random,
    });
    this.parser = new AmiFrameParser(options.maxFrameBytes, {
      onMessage: (msg) => this.route(msg),
      onMalformed: (reason) => {
        this.stats.malformedFrames += 1;
        this.onMalformed?.(reason);
      },
      onGreeting: (version) => this.onGreeting(version),
    });
  }

  get isUp(): boolean {
    return this.loggedIn;
  }

  /** Begin connecting in the background. Never throws, never blocks. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.status.set('connecting');
    this.connect();
  }

  /** Same as `start()`: an AMI connection can always be started again after `stop()`. */
  resume(): void {
    this.start();
  }

  /** Log off (bounded), close the socket, reject what is pending, cancel every timer. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    const socket = this.socket;
    if (socket && this.loggedIn) {
      await this.action('Logoff', {}, { timeoutMs: 1000 }).catch(() => undefined);
    }
    this.stopKeepalive();
    clearTimeout(this.connectTimer);
    if (socket && !socket.destroyed) {
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      socket.end();
      const timer = setTimeout(() => socket.destroy(), 1000);
      await closed;
      clearTimeout(timer);
    }
    this.rejectAll('connection stopped');
    this.loggedIn = false;
    this.status.set('down', 'stopped');
  }

  /** Send an action and resolve with its response; `Response: Error` rejects with `AmiActionError`. */
  action(action: string, fields: AmiActionFields = {}, opts: AmiActionOptions = {}): Promise<AmiMessage> {
    return this.send(action, fields, opts.timeoutMs, undefined) as Promise<AmiMessage>;
  }

  /** Send a list action and collect its items (or what `opts.item` makes of each) until `EventList: Complete`. */
  listAction(action: string, fields?: AmiActionFields, opts?: AmiListOptions): Promise<AmiListResult>;
  listAction<T>(
    action: string,
    fields: AmiActionFields,
    opts: AmiMappedListOptions<T>,
  ): Promise<AmiListResult<T>>;
  listAction<T>(
    action: string,
    fields: AmiActionFields = {},
    opts: AmiListOptions & { item?: (msg: AmiMessage) => T | undefined } = {},
  ): Promise<AmiListResult<T | AmiMessage>> {
    return this.send(action, fields, opts.timeoutMs, {
      errorMeansEmpty: opts.errorMeansEmpty ?? false,
      items: [],
      item: opts.item,
    }) as Promise<AmiListResult<T | AmiMessage>>;
  }

  private send(
    action: string,
    fields: AmiActionFields,
    timeoutMs: number | undefined,
    list: PendingAction['list'],
    beforeLogin = false,
  ): Promise<AmiMessage | AmiListResult<unknown>> {
    const socket = this.socket;
    if (!socket || socket.destroyed || (!this.loggedIn && !beforeLogin)) {
      return Promise.reject(new AmiConnectionClosedError(action, 'not connected'));
    }
    let frame: string;
    const id = `${this.idPrefix}-${++this.seq}`;
    try {
      frame = formatAction(action, id, fields);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const ms = timeoutMs ?? this.options.actionTimeoutMs;
    return new Promise((resolve, reject) => {
      const pending: PendingAction = {
        action,
        timeoutMs: ms,
        resolve,
        reject,
        list,
        timer: setTimeout(() => this.settle(id, new AmiActionTimeoutError(action, ms)), ms),
      };
      this.pending.set(id, pending);
      socket.write(frame);
    });
  }

  private settle(id: string, outcome: Error | AmiMessage | AmiListResult<unknown>): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (outcome instanceof Error) p.reject(outcome);
    else p.resolve(outcome);
  }

  /** Frames from the parser: responses and list items go to their pending action, the rest are events. */
  private route(msg: AmiMessage): void {
    const f = msg.fields;
    const id = f.ActionID;
    // `Event` decides, not `Response`: security events such as ChallengeResponseFailed carry a
    // `Response:` header (the client's digest) and are events all the same.
    if (f.Event === undefined) {
      const p = id === undefined ? undefined : this.pending.get(id);
      if (!p || id === undefined) return;
      const isError = f.Response === 'Error';
      if (!p.list) {
        this.settle(id, isError ? new AmiActionError(p.action, f.Message ?? '') : msg);
      } else if (isError) {
        this.settle(
          id,
          p.list.errorMeansEmpty
            ? { response: msg, items: [] }
            : new AmiActionError(
                p.action,
                f.Message ?? '',
                p.list.item ? [] : (p.list.items as AmiMessage[]),
              ),
        );
      } else if (f.EventList === undefined) {
        // Answered Success without a list: nothing to collect.
        this.settle(id, { response: msg, items: [] });
      } else {
        p.list.response = msg;
        p.timer.refresh();
      }
      return;
    }

    this.stats.events += 1;
    if (id !== undefined) {
      const p = this.pending.get(id);
      if (p?.list) {
        if (f.EventList === 'Complete') {
          this.settle(id, { response: p.list.response ?? msg, items: p.list.items, complete: msg });
        } else {
          this.collect(id, p.list, msg);
          p.timer.refresh();
        }
        return;
      }
    }
    this.onEvent?.(msg);
  }

  private collect(id: string, list: NonNullable<PendingAction['list']>, msg: AmiMessage): void {
    if (!list.item) {
      list.items.push(msg);
      return;
    }
    try {
      const kept = list.item(msg);
      if (kept !== undefined) list.items.push(kept);
    } catch (err) {
      // A caller's mapping fails its own action, never the socket's read loop.
      this.settle(id, err instanceof Error ? err : new Error(String(err)));
    }
  }

  private connect(): void {
    this.attempts += 1;
    if (this.attempts > 1) this.stats.reconnects += 1;
    this.loggedIn = false;
    this.dropReason = undefined;
    this.dropKind = undefined;
    this.idPrefix = randomBytes(4).toString('hex');
    this.parser.reset();
    const { host, port } = this.options;
    const socket = net.createConnection({ host, port });
    this.socket = socket;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 10_000);
    let socketError: string | undefined;
    let errorKind: AmiDisconnectReason | undefined;
    this.connectTimer = setTimeout(
      () => this.drop(socket, `connect and login timed out after ${this.options.connectTimeoutMs} ms`),
      this.options.connectTimeoutMs,
    );
    socket.on('data', (chunk: Buffer) => {
      if (socket !== this.socket) return;
      this.liveness?.seen();
      this.parser.push(chunk);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      socketError = describeSocketError(err, host, port);
      errorKind = err.code === 'ECONNRESET' ? 'reset' : 'error';
    });
    socket.on('close', () =>
      this.onClose(
        socket,
        this.dropReason ?? socketError ?? 'connection closed by Asterisk',
        this.dropKind ?? errorKind ?? 'closed',
      ),
    );
  }

  private onGreeting(version: string): void {
    this.amiVersion = version;
    const socket = this.socket;
    if (!socket) return;
    const { username, secret } = this.options;
    this.send(
      'Login',
      { Username: username, Secret: secret, Events: 'on' },
      this.options.connectTimeoutMs,
      undefined,
      true,
    )
      .then(() => this.onLoggedIn(socket))
      .catch((err: Error) => {
        const reason =
          err instanceof AmiActionError
            ? new AmiLoginError(username, err.asteriskMessage).message
            : err.message;
        this.drop(socket, reason);
      });
  }

  private onLoggedIn(socket: net.Socket): void {
    if (socket !== this.socket || this.stopped) return;
    clearTimeout(this.connectTimer);
    this.loggedIn = true;
    this.backoff.reset();
    this.lastRetryLog = { text: '', at: 0 };
    this.status.set('up');
    this.logger.log(`logged in to ${this.options.host}:${this.options.port} (AMI ${this.amiVersion ?? '?'})`);
    this.startKeepalive(socket);
    if (this.onConnected) {
      Promise.resolve()
        .then(() => this.onConnected?.())
        .catch((err: Error) => this.logger.error(`resync after connect failed: ${err.message}`, err.stack));
    }
  }

  private onClose(socket: net.Socket, reason: string, kind: AmiDisconnectReason): void {
    if (socket !== this.socket) return;
    clearTimeout(this.connectTimer);
    this.stopKeepalive();
    const wasUp = this.loggedIn;
    if (wasUp && !this.stopped) this.stats.disconnects[kind] += 1;
    this.loggedIn = false;
    this.socket = undefined;
    this.rejectAll(reason);
    if (this.stopped) return;
    this.status.set('down', reason);
    const delay = this.backoff.next();
    if (wasUp) {
      this.logger.warn(`connection lost: ${reason}; reconnecting in ${delay} ms`);
      this.lastRetryLog = { text: reason, at: Date.now() };
    } else if (
      reason !== this.lastRetryLog.text ||
      Date.now() - this.lastRetryLog.at >= RETRY_LOG_INTERVAL_MS
    ) {
      this.logger.warn(`cannot connect: ${reason}; retrying in ${delay} ms (attempt ${this.attempts})`);
      this.lastRetryLog = { text: reason, at: Date.now() };
    }
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  /** Drop a socket we consider dead or refused; `close` then schedules the reconnect. */
  private drop(socket: net.Socket, reason: string, kind: AmiDisconnectReason = 'error'): void {
    if (socket !== this.socket) return;
    this.dropReason = reason;
    this.dropKind = kind;
    socket.destroy();
  }

  private startKeepalive(socket: net.Socket): void {
    this.stopKeepalive();
    const budget = this.options.keepaliveIntervalMs;
    this.liveness = new LivenessWatch({
      deadAfterMs: budget,
      // The answer is only a sign of life: the watch decides, so the Ping's own outcome is ignored.
      probe: () => void this.action('Ping', {}, { timeoutMs: budget }).catch(() => undefined),
      dead: (silentMs) =>
        this.drop(socket, `nothing received from Asterisk for ${silentMs} ms (keepalive)`, 'keepalive'),
    });
    this.liveness.start();
  }

  private stopKeepalive(): void {
    this.liveness?.stop();
    this.liveness = undefined;
  }

  private rejectAll(reason: string): void {
    for (const [id, p] of this.pending) {
      this.settle(id, new AmiConnectionClosedError(p.action, reason));
    }
  }
}

/** Serialise an action. Values with CR or LF would inject headers: refuse them. */
export function formatAction(action: string, actionId: string, fields: AmiActionFields): string {
  let out = `Action: ${action}\r\nActionID: ${actionId}\r\n`;
  for (const [key, raw] of Object.entries(fields)) {
    if (raw === undefined) continue;
    const values = Array.isArray(raw) ? (raw as readonly string[]) : [String(raw)];
    for (const value of values) {
      if (/[\r\n]/.test(key) || /[\r\n]/.test(value)) {
        throw new TypeError(`AMI header ${key} of action ${action} contains a line break`);
      }
      out += `${key}: ${value}\r\n`;
    }
  }
  return out + '\r\n';
}

function describeSocketError(err: NodeJS.ErrnoException, host: string, port: number): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return `connection refused (${host}:${port})`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `host not found (${host})`;
    case 'ETIMEDOUT':
      return `connect timed out (${host}:${port})`;
    case 'ECONNRESET':
      return `connection reset by Asterisk (${host}:${port})`;
    case undefined:
    default:
      return `${err.code ?? 'socket error'}: ${err.message}`;
  }
}
