/**
 * A multi-port AMI simulator for benchmarks, and the recording proxy that feeds it.
 *
 * `recordAmiProxy()` sits between a client (the daemon) and a real Asterisk: it forwards the bytes
 * both ways untouched and, on the side, files every frame Asterisk sent under the action (by
 * ActionID) that asked for it. `AmiRecording` is the result: per action key (the action with its
 * fields, ActionID and Login credentials left out) the exact frames Asterisk answered, ActionID
 * replaced by a placeholder.
 *
 * `AmiSimulator` listens on N ports and plays a recording back: greeting, any Login accepted, the
 * recorded async frames that followed the Login (FullyBooted …), then every action answered with its
 * recorded frames under the client's own ActionID. Actions it has no recording of are answered
 * `Response: Error` and counted, so a benchmark can say what the daemon asked for that was not
 * recorded. `write()`/`broadcast()` push extra bytes (events) to logged-in sessions.
 */
import * as net from 'node:net';

/** Where a recorded answer carries the ActionID of the action it answers. */
export const ACTION_ID_PLACEHOLDER = '{{ActionID}}';

export interface AmiRecording {
  /** The greeting line, without its CRLF. */
  greeting: string;
  /** Async frames Asterisk sent right after the Login answer (FullyBooted, SuccessfulAuth), CRLF-terminated. */
  afterLogin: string;
  /** Action key → the frames that answered it (response, list items, list completion). */
  answers: Record<string, string>;
  /** Action keys in the order the recorded client first sent them. */
  order: string[];
}

/** An AMI frame's headers, in order (a header may repeat). */
export type AmiFields = Array<[string, string]>;

function parseFrame(text: string): AmiFields {
  const out: AmiFields = [];
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) out.push([line.slice(0, i), line.slice(i + 1).trimStart()]);
  }
  return out;
}

function field(fields: AmiFields, name: string): string | undefined {
  const lower = name.toLowerCase();
  return fields.find(([k]) => k.toLowerCase() === lower)?.[1];
}

/** `Action` plus its fields in order, without ActionID (and, for Login, without the credentials). */
export function actionKey(fields: AmiFields): string {
  const action = field(fields, 'Action') ?? '';
  if (action.toLowerCase() === 'login') return 'Login';
  const rest = fields
    .filter(([k]) => !['action', 'actionid'].includes(k.toLowerCase()))
    .map(([k, v]) => `${k}=${v}`);
  return [action, ...rest].join('|');
}

/** Splits a byte stream into CRLFCRLF-terminated frames (latin1 keeps bytes 1:1), greeting line first. */
class FrameSplitter {
  private pending = '';
  private greeted: boolean;

  constructor(
    expectGreeting: boolean,
    private readonly onFrame: (text: string) => void,
    private readonly onGreeting: (line: string) => void = () => undefined,
  ) {
    this.greeted = !expectGreeting;
  }

  push(chunk: Buffer): void {
    this.pending += chunk.toString('latin1');
    if (!this.greeted) {
      const nl = this.pending.indexOf('\r\n');
      if (nl < 0) return;
      this.onGreeting(this.pending.slice(0, nl));
      this.pending = this.pending.slice(nl + 2);
      this.greeted = true;
    }
    let start = 0;
    let end: number;
    while ((end = this.pending.indexOf('\r\n\r\n', start)) >= 0) {
      this.onFrame(this.pending.slice(start, end));
      start = end + 4;
    }
    if (start > 0) this.pending = this.pending.slice(start);
  }
}

export interface RecordingProxy {
  readonly port: number;
  /** What was recorded so far, secrets replaced by `xxxxxxxx`. */
  recording(): AmiRecording;
  /** Number of frames recorded that answered an action. */
  readonly answeredFrames: number;
  /** Actions the client sent other than the keepalive `Ping`, and `Date.now()` of the last one. */
  readonly clientActions: number;
  readonly lastClientActionAt: number;
  close(): Promise<void>;
}

/**
 * A TCP proxy to `upstream` recording the first session's answers. `secrets` are replaced in what is
 * stored (never in what is forwarded); `Password:`/`password =` values are scrubbed too.
 */
export async function recordAmiProxy(
  upstream: { host: string; port: number },
  secrets: readonly string[] = [],
): Promise<RecordingProxy> {
  const rec = { greeting: '', afterLogin: '', order: [] as string[] };
  const keyById = new Map<string, string>();
  const bufs = new Map<string, string[]>();
  let loginId: string | undefined;
  let loginAnswered = false;
  let afterLoginOpen = false;
  let answeredFrames = 0;
  let clientActions = 0;
  let lastClientActionAt = 0;
  let sessions = 0;
  const sockets = new Set<net.Socket>();

  const scrub = (text: string): string => {
    let out = text
      .replace(/^(Password: ).*$/gim, '$1xxxxxxxx')
      .replace(/(password\s*=\s*)\S+/gi, '$1xxxxxxxx');
    for (const s of secrets) out = out.split(s).join('xxxxxxxx');
    return out;
  };

  const server = net.createServer((client) => {
    const first = sessions++ === 0;
    const up = net.connect(upstream.port, upstream.host);
    sockets.add(client).add(up);
    const end = (): void => {
      client.destroy();
      up.destroy();
      sockets.delete(client);
      sockets.delete(up);
    };
    client.on('error', end).on('close', end);
    up.on('error', end).on('close', end);
    client.pipe(up);
    up.pipe(client);
    if (!first) return;
    const fromClient = new FrameSplitter(false, (text) => {
      const fields = parseFrame(text);
      const id = field(fields, 'ActionID');
      if (id === undefined) return;
      const key = actionKey(fields);
      if (key === 'Login') loginId = id;
      keyById.set(id, key);
      if (key !== 'Ping') {
        clientActions++;
        lastClientActionAt = Date.now();
      }
      if (!rec.order.includes(key)) rec.order.push(key);
    });
    const fromAsterisk = new FrameSplitter(
      true,
      (text) => {
        const fields = parseFrame(text);
        const id = field(fields, 'ActionID');
        const frame = scrub(text) + '\r\n\r\n';
        if (id !== undefined && keyById.has(id)) {
          if (id === loginId) {
            loginAnswered = true;
            afterLoginOpen = true;
            return;
          }
          afterLoginOpen = false;
          answeredFrames++;
          const list = bufs.get(id) ?? [];
          list.push(frame.split(`ActionID: ${id}\r\n`).join(`ActionID: ${ACTION_ID_PLACEHOLDER}\r\n`));
          bufs.set(id, list);
        } else if (loginAnswered && afterLoginOpen && field(fields, 'Event') !== undefined) {
          rec.afterLogin += frame;
        }
      },
      (line) => (rec.greeting = line),
    );
    client.on('data', (d: Buffer) => fromClient.push(d));
    up.on('data', (d: Buffer) => fromAsterisk.push(d));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  const recording = (): AmiRecording => {
    // The first answer of each key is kept (later ones are reconcile polls of the same thing).
    const answers: Record<string, string> = {};
    for (const [id, frames] of bufs) {
      const key = keyById.get(id)!;
      if (!(key in answers)) answers[key] = frames.join('');
    }
    return { greeting: rec.greeting, afterLogin: rec.afterLogin, answers, order: [...rec.order] };
  };
  return {
    port,
    recording,
    get answeredFrames() {
      return answeredFrames;
    },
    get clientActions() {
      return clientActions;
    },
    get lastClientActionAt() {
      return lastClientActionAt;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** One logged-in (or logging-in) client of the simulator. */
export interface SimSession {
  readonly port: number;
  readonly socket: net.Socket;
  /** `Date.now()` when the simulator accepted the TCP connection. */
  readonly acceptedAt: number;
  loggedIn: boolean;
}

export interface AmiSimulatorOptions {
  recording: AmiRecording;
  /** How many ports to listen on (each picked free). */
  ports: number;
  /** Called once a session's Login was answered (and the recorded after-login frames sent). */
  onLogin?: (s: SimSession) => void;
}

export interface AmiSimulatorStats {
  logins: number;
  actions: number;
  /** `Date.now()` of the last action other than the keepalive `Ping` (0 before any). */
  lastActionAt: number;
  /** Action key → how often it was asked for without a recording. */
  unknown: Record<string, number>;
}

/** Pre-split answer: the recorded text cut at every ActionID placeholder. */
type Template = string[];

export class AmiSimulator {
  readonly ports: number[] = [];
  readonly sessions = new Set<SimSession>();
  readonly stats: AmiSimulatorStats = { logins: 0, actions: 0, lastActionAt: 0, unknown: {} };
  private readonly servers: net.Server[] = [];
  private readonly templates = new Map<string, Template>();

  private constructor(private readonly opts: AmiSimulatorOptions) {
    for (const [key, text] of Object.entries(opts.recording.answers)) {
      this.templates.set(key, text.split(ACTION_ID_PLACEHOLDER));
    }
  }

  static async start(opts: AmiSimulatorOptions): Promise<AmiSimulator> {
    const sim = new AmiSimulator(opts);
    for (let i = 0; i < opts.ports; i++) {
      const server = net.createServer((socket) =>
        sim.accept(socket, (server.address() as net.AddressInfo).port),
      );
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      sim.servers.push(server);
      sim.ports.push((server.address() as net.AddressInfo).port);
    }
    return sim;
  }

  /** Writes to every logged-in session; returns how many. */
  broadcast(bytes: string | Buffer): number {
    let n = 0;
    for (const s of this.sessions) {
      if (!s.loggedIn || s.socket.destroyed) continue;
      s.socket.write(bytes);
      n++;
    }
    return n;
  }

  async close(): Promise<void> {
    for (const s of this.sessions) s.socket.destroy();
    await Promise.all(this.servers.map((srv) => new Promise<void>((r) => srv.close(() => r()))));
  }

  private accept(socket: net.Socket, port: number): void {
    socket.setNoDelay(true);
    const session: SimSession = { port, socket, acceptedAt: Date.now(), loggedIn: false };
    this.sessions.add(session);
    socket.on('error', () => undefined);
    socket.on('close', () => this.sessions.delete(session));
    socket.write(`${this.opts.recording.greeting || 'Asterisk Call Manager/11.0.0'}\r\n`);
    const splitter = new FrameSplitter(false, (text) => this.onAction(session, parseFrame(text)));
    socket.on('data', (d: Buffer) => splitter.push(d));
  }

  private onAction(s: SimSession, fields: AmiFields): void {
    const id = field(fields, 'ActionID') ?? '';
    const key = actionKey(fields);
    const out = s.socket;
    if (key === 'Login') {
      this.stats.logins++;
      out.write(`Response: Success\r\nActionID: ${id}\r\nMessage: Authentication accepted\r\n\r\n`);
      out.write(this.opts.recording.afterLogin);
      s.loggedIn = true;
      this.opts.onLogin?.(s);
      return;
    }
    this.stats.actions++;
    const action = (field(fields, 'Action') ?? '').toLowerCase();
    if (action !== 'ping') this.stats.lastActionAt = Date.now();
    if (action === 'logoff') {
      out.end(`Response: Goodbye\r\nActionID: ${id}\r\nMessage: Thanks for all the fish.\r\n\r\n`);
      return;
    }
    const template = this.templates.get(key);
    if (template) {
      out.write(template.join(id));
    } else if (action === 'ping') {
      out.write(
        `Response: Success\r\nActionID: ${id}\r\nPing: Pong\r\nTimestamp: ${Date.now() / 1000}\r\n\r\n`,
      );
    } else {
      this.stats.unknown[key] = (this.stats.unknown[key] ?? 0) + 1;
      out.write(`Response: Error\r\nActionID: ${id}\r\nMessage: not in the simulator's recording\r\n\r\n`);
    }
  }
}
