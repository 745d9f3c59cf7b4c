import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import WebSocket from 'ws';
import { AmiConnection, type AmiConnectionOptions } from '../../src/ami/ami.connection';
import { AriConnection, type AriConnectionOptions } from '../../src/ari/ari.connection';

// The real AMI and ARI reconnect loops, with `net.createConnection` and the `ws` WebSocket replaced by
// scripted sockets so that jest's fake timers control every delay (a real refused connect completes on
// real I/O, outside the fake clock).
jest.mock('node:net', () => ({ ...jest.requireActual('node:net'), createConnection: jest.fn() }));
jest.mock('ws', () => {
  // Defined in the factory: it runs when ari.connection imports 'ws', before this file's body.
  const { EventEmitter: Emitter } = jest.requireActual<typeof import('node:events')>('node:events');
  class ScriptedWebSocket extends Emitter {
    static readonly CONNECTING = 0;
    static readonly OPEN = 1;
    static readonly CLOSING = 2;
    static readonly CLOSED = 3;
    static readonly instances: ScriptedWebSocket[] = [];
    readyState = 0;
    constructor(readonly url: string) {
      super();
      ScriptedWebSocket.instances.push(this);
    }
    /** Asterisk refuses (ECONNREFUSED): `error`, then the socket closes. */
    refuse(): void {
      this.emit('error', new Error('connect ECONNREFUSED 127.0.0.1:8088'));
    }
    accept(): void {
      this.readyState = 1;
      this.emit('open');
    }
    ping(): void {}
    close(): void {
      this.terminate();
    }
    terminate(): void {
      if (this.readyState === 3) return;
      this.readyState = 3;
      this.emit('close', 1006, Buffer.alloc(0));
    }
  }
  return { __esModule: true, default: ScriptedWebSocket, WebSocket: ScriptedWebSocket };
});

/** The scripted WebSockets created so far (see the `ws` mock). */
interface ScriptedWebSocket {
  url: string;
  refuse(): void;
  accept(): void;
  terminate(): void;
}
const wsInstances = (): ScriptedWebSocket[] =>
  (WebSocket as unknown as { instances: ScriptedWebSocket[] }).instances;

/** A socket the test refuses, accepts (greeting + Login Success) or closes, synchronously. */
class ScriptedSocket extends EventEmitter {
  destroyed = false;
  readonly written: string[] = [];

  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  write(data: string | Buffer): boolean {
    const frame = data.toString();
    this.written.push(frame);
    const id = /ActionID: (.+)\r\n/.exec(frame)?.[1];
    if (/^Action: Login\r\n/i.test(frame)) {
      this.emit(
        'data',
        Buffer.from(`Response: Success\r\nActionID: ${id}\r\nMessage: Authentication accepted\r\n\r\n`),
      );
    }
    return true;
  }
  end(): this {
    return this.destroy();
  }
  destroy(): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    this.emit('close', false);
    return this;
  }
  refuse(): void {
    const err = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5038'), { code: 'ECONNREFUSED' });
    this.emit('error', err);
    this.destroy();
  }
  greet(): void {
    this.emit('data', Buffer.from('Asterisk Call Manager/11.0.0\r\n'));
  }
}

const INITIAL = 100;
const MAX = 1000;
/** The jitter draws, in order; the last one repeats. */
const DRAWS = [0, 0.5, 0.25, 0.75, 0.9999, 0];
/**
 * The delays those draws must give, worked out by hand from the documented rule (ceiling = INITIAL·2^n
 * capped at MAX, delay in [ceiling/2, ceiling]): 100→50, 200→150, 400→250, 800→700, 1000→1000, 1000→500.
 */
const EXPECTED = [50, 150, 250, 700, 1000, 500];

describe('AmiConnection reconnect loop (fake timers)', () => {
  const sockets: ScriptedSocket[] = [];
  let conn: AmiConnection;
  let draws: number[];

  const options = (): AmiConnectionOptions => ({
    node: 'timing',
    host: '127.0.0.1',
    port: 5038,
    username: 'ops',
    secret: 'right-secret',
    reconnectInitialDelayMs: INITIAL,
    reconnectMaxDelayMs: MAX,
    actionTimeoutMs: 1000,
    connectTimeoutMs: 60_000,
    keepaliveIntervalMs: 3_600_000,
    maxFrameBytes: 4096,
    random: () => (draws.length > 1 ? draws.shift()! : draws[0]),
  });

  /** Advance to 1 ms before `delay` (no new attempt), then the last 1 ms (exactly one new attempt). */
  const expectAttemptAfter = (delay: number): void => {
    const before = sockets.length;
    jest.advanceTimersByTime(delay - 1);
    expect({ delay, attempts: sockets.length - before }).toEqual({ delay, attempts: 0 });
    jest.advanceTimersByTime(1);
    expect({ delay, attempts: sockets.length - before }).toEqual({ delay, attempts: 1 });
  };

  beforeEach(() => {
    jest.useFakeTimers();
    sockets.length = 0;
    draws = [...DRAWS];
    jest.mocked(net.createConnection).mockImplementation(() => {
      const s = new ScriptedSocket();
      sockets.push(s);
      return s as unknown as net.Socket;
    });
    conn = new AmiConnection(options());
  });

  afterEach(async () => {
    await conn.stop();
    jest.useRealTimers();
  });

  it('retries a refused connection at the exponential, capped, jittered delays, and keeps retrying', () => {
    conn.start();
    expect(sockets).toHaveLength(1);
    for (const delay of EXPECTED) {
      sockets.at(-1)!.refuse();
      expect(conn.status.value.status).toBe('down');
      expectAttemptAfter(delay);
    }
    // Forever: the draw is now always 0, so every further delay is the cap's lower half.
    for (let i = 0; i < 200; i++) {
      sockets.at(-1)!.refuse();
      expectAttemptAfter(MAX / 2);
    }
    expect(sockets).toHaveLength(1 + EXPECTED.length + 200);
    expect(conn.stats.reconnects).toBe(EXPECTED.length + 200);
    // Only one timer is pending while waiting: retries do not pile up.
    sockets.at(-1)!.refuse();
    expect(jest.getTimerCount()).toBe(1);
  });

  it('with the real random source, every delay stays within [ceiling/2, ceiling]', () => {
    conn = new AmiConnection({ ...options(), random: undefined });
    conn.start();
    for (let n = 0; n < 30; n++) {
      const ceiling = Math.min(MAX, INITIAL * 2 ** n);
      const before = sockets.length;
      sockets.at(-1)!.refuse();
      jest.advanceTimersByTime(Math.ceil(ceiling / 2) - 1);
      expect({ n, early: sockets.length - before }).toEqual({ n, early: 0 });
      jest.advanceTimersByTime(ceiling - Math.ceil(ceiling / 2) + 1);
      expect({ n, onTime: sockets.length - before }).toEqual({ n, onTime: 1 });
    }
  });

  it('a successful login resets the backoff: the next loss retries at the first delay again', async () => {
    conn.start();
    for (const delay of EXPECTED.slice(0, 4)) {
      sockets.at(-1)!.refuse();
      expectAttemptAfter(delay);
    }
    const socket = sockets.at(-1)!;
    socket.greet();
    await Promise.resolve(); // Login's Success resolves on a microtask
    await Promise.resolve();
    expect(conn.status.value.status).toBe('up');
    expect(socket.written[0]).toMatch(/^Action: Login\r\n/);

    // Asterisk goes away: back to the first ceiling (INITIAL), not the fifth (MAX).
    draws = [1 - 1e-9];
    socket.destroy();
    expect(conn.status.value.status).toBe('down');
    expectAttemptAfter(INITIAL);
    sockets.at(-1)!.refuse();
    expectAttemptAfter(2 * INITIAL);
  });

  it('stop() during a backoff wait cancels the pending retry', async () => {
    conn.start();
    sockets.at(-1)!.refuse();
    expect(jest.getTimerCount()).toBe(1);
    await conn.stop();
    // Cancelled, not merely ignored when it fires.
    expect(jest.getTimerCount()).toBe(0);
    jest.advanceTimersByTime(10 * MAX);
    expect(sockets).toHaveLength(1);
  });
});

describe('AriConnection reconnect loop (fake timers)', () => {
  let conn: AriConnection;
  let draws: number[];

  const options = (): AriConnectionOptions => ({
    node: 'timing',
    url: 'http://127.0.0.1:8088',
    username: 'pbxpulse',
    password: 'pw',
    app: 'pbxpulse-timing',
    reconnectInitialDelayMs: INITIAL,
    reconnectMaxDelayMs: MAX,
    requestTimeoutMs: 1000,
    connectTimeoutMs: 60_000,
    keepaliveIntervalMs: 0,
    random: () => (draws.length > 1 ? draws.shift()! : draws[0]),
  });

  const expectAttemptAfter = (delay: number): void => {
    const before = wsInstances().length;
    jest.advanceTimersByTime(delay - 1);
    expect({ delay, attempts: wsInstances().length - before }).toEqual({ delay, attempts: 0 });
    jest.advanceTimersByTime(1);
    expect({ delay, attempts: wsInstances().length - before }).toEqual({ delay, attempts: 1 });
  };

  beforeEach(() => {
    jest.useFakeTimers();
    wsInstances().length = 0;
    draws = [...DRAWS];
    conn = new AriConnection(options());
  });

  afterEach(async () => {
    await conn.stop();
    jest.useRealTimers();
  });

  it('retries a refused events socket at the same capped, jittered delays, forever', () => {
    conn.start();
    expect(wsInstances()).toHaveLength(1);
    expect(wsInstances()[0].url).toContain('/ari/events?app=pbxpulse-timing');
    for (const delay of EXPECTED) {
      wsInstances().at(-1)!.refuse();
      expect(conn.status.value.status).toBe('down');
      expectAttemptAfter(delay);
    }
    for (let i = 0; i < 200; i++) {
      wsInstances().at(-1)!.refuse();
      expectAttemptAfter(MAX / 2);
    }
    expect(conn.reconnects).toBe(EXPECTED.length + 200);
    wsInstances().at(-1)!.refuse();
    expect(jest.getTimerCount()).toBe(1);
  });

  it('an open socket resets the backoff; stop() cancels the pending retry', async () => {
    conn.start();
    for (const delay of EXPECTED.slice(0, 4)) {
      wsInstances().at(-1)!.refuse();
      expectAttemptAfter(delay);
    }
    wsInstances().at(-1)!.accept();
    expect(conn.status.value.status).toBe('up');
    draws = [1 - 1e-9];
    wsInstances().at(-1)!.terminate();
    expect(conn.status.value.status).toBe('down');
    expectAttemptAfter(INITIAL);
    wsInstances().at(-1)!.refuse();
    const attempts = wsInstances().length;
    expect(jest.getTimerCount()).toBe(1);
    await conn.stop();
    // Cancelled, not merely ignored when it fires.
    expect(jest.getTimerCount()).toBe(0);
    jest.advanceTimersByTime(10 * MAX);
    expect(wsInstances()).toHaveLength(attempts);
  });
});
