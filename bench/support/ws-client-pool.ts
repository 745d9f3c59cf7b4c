/**
 * Many `/ws` clients in a child process, so that reading them does not load the benchmark's own process.
 * The parent (`startClientPool`) drives it over IPC: connect N clients to a URL (each waits for `hello`
 * and its `snapshot`), record, stop, then turn the receipt times into a latency histogram against
 * source stamps the parent worked out (seq → epoch ms).
 *
 * Clock: every time is `performance.timeOrigin + performance.now()`, epoch milliseconds with
 * sub-millisecond resolution; every process of the benchmark runs on this machine, so the stamps of
 * different processes compare (the wall clock is the one clock they share).
 *
 * A client reads only what it must: the `type` and `seq` at the head of each text frame (the server
 * writes `{"type":…,"seq":N,…}`), so that a thousand clients on a 2-core machine measure the server,
 * not JSON.parse. One client per pool may `capture`: it also keeps every frame's text and arrival, which
 * the parent uses to match deltas to AMI events and to replay the same messages from a bare server.
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { childReply } from './child-reply';

export const now = (): number => performance.timeOrigin + performance.now();

// ---- the IPC protocol -------------------------------------------------------------------------------

type Command =
  | { cmd: 'connect'; url: string; count: number; capture: boolean; concurrency: number }
  | { cmd: 'record' }
  | { cmd: 'progress' }
  | { cmd: 'stop' }
  | { cmd: 'measure'; tables: Record<string, Array<[number, number]>> }
  | { cmd: 'close' };

/** What one client saw. */
export interface ClientSummary {
  /** Delta frames received while recording. */
  received: number;
  /** Sequence numbers skipped (a delta missing from a gap-free stream). */
  gaps: number;
  /** A seq at or below the previous one. */
  disorder: number;
  /** Closed by the server (or errored) before `stop`. */
  dropped: boolean;
  closeCode?: number;
  snapshots: number;
}

export interface Captured {
  hello: string;
  snapshot: string;
  /** [arrival epoch ms, frame text], from `record` on. */
  frames: Array<[number, string]>;
}

/** Latency histogram: 0.1 ms bins below 1 s, 1 ms bins above. */
export interface LatencyHist {
  bins: Record<number, number>;
  count: number;
  max: number;
  /** (client, seq) pairs with a stamp that the client never received. */
  missing: number;
}

type Reply =
  | { ev: 'connected'; ok: number; failed: number; errors: string[]; ms: number }
  | { ev: 'recording'; base: number }
  | { ev: 'progress'; open: number; min: number; max: number }
  | { ev: 'stopped'; clients: ClientSummary[]; captured?: Captured }
  | { ev: 'measured'; hists: Record<string, LatencyHist> }
  | { ev: 'closed' };

export function binOf(ms: number): number {
  const v = Math.max(0, ms);
  return v < 1000 ? Math.floor(v * 10) : 10_000 + Math.floor(v - 1000);
}
export function binValue(bin: number): number {
  return bin < 10_000 ? bin / 10 : 1000 + (bin - 10_000);
}

// ---- the child ----------------------------------------------------------------------------------------

interface Client {
  ws: WebSocket;
  lastSeq: number;
  summary: ClientSummary;
  /** Arrival (ms since `t0`) of seq `base + i`; 0 = not received. */
  arrivals: Float32Array;
  capture: boolean;
  done: boolean;
}

/** `"seq":<digits>` within the first bytes of a frame; -1 when absent. */
function seqOf(buf: Buffer): number {
  const head = buf.subarray(0, 80).toString('latin1');
  const i = head.indexOf('"seq":');
  if (i < 0) return -1;
  let n = 0;
  let j = i + 6;
  for (; j < head.length; j++) {
    const c = head.charCodeAt(j) - 48;
    if (c < 0 || c > 9) break;
    n = n * 10 + c;
  }
  return j === i + 6 ? -1 : n;
}

function typeOf(buf: Buffer): string {
  const head = buf.subarray(0, 40).toString('latin1');
  const m = /^\{"type":"([^"]+)"/.exec(head);
  return m ? m[1] : '';
}

function childMain(): void {
  const clients: Client[] = [];
  let recording = false;
  let base = Infinity;
  let t0 = 0;
  let captured: Captured = { hello: '', snapshot: '', frames: [] };
  const send = (r: Reply): void => {
    process.send?.(r);
  };

  const onFrame = (c: Client, raw: Buffer): void => {
    const t = now();
    const type = typeOf(raw);
    const seq = seqOf(raw);
    if (type === 'hello') {
      if (c.capture) captured.hello = raw.toString('utf8');
      return;
    }
    if (type === 'snapshot') {
      c.summary.snapshots++;
      if (c.capture && !recording) captured.snapshot = raw.toString('utf8');
      if (seq >= 0) c.lastSeq = seq;
      return;
    }
    if (seq < 0) return; // subscribed / error: not in the stream
    if (c.lastSeq >= 0) {
      if (seq <= c.lastSeq) c.summary.disorder++;
      else if (seq > c.lastSeq + 1 && recording) c.summary.gaps += seq - c.lastSeq - 1;
    }
    c.lastSeq = Math.max(c.lastSeq, seq);
    if (!recording || seq < base) return;
    c.summary.received++;
    const i = seq - base;
    if (i >= c.arrivals.length) {
      const grown = new Float32Array(Math.max(i + 1, c.arrivals.length * 2));
      grown.set(c.arrivals);
      c.arrivals = grown;
    }
    c.arrivals[i] = t - t0;
    if (c.capture) captured.frames.push([t, raw.toString('utf8')]);
  };

  const open = (url: string, capture: boolean): Promise<Client | string> =>
    new Promise((resolve) => {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      const c: Client = {
        ws,
        lastSeq: -1,
        capture,
        done: false,
        arrivals: new Float32Array(1024),
        summary: { received: 0, gaps: 0, disorder: 0, dropped: false, snapshots: 0 },
      };
      const timer = setTimeout(() => {
        ws.terminate();
        resolve('no snapshot within 60 s');
      }, 60_000);
      ws.on('message', (raw: Buffer, isBinary: boolean) => {
        if (isBinary) return;
        onFrame(c, raw);
        if (c.summary.snapshots > 0 && !c.done) {
          c.done = true;
          clearTimeout(timer);
          resolve(c);
        }
      });
      ws.on('error', (e) => {
        clearTimeout(timer);
        if (!c.done) resolve(e.message);
      });
      ws.on('close', (code) => {
        clearTimeout(timer);
        if (!c.done) resolve(`closed ${code} before the snapshot`);
        else if (!c.summary.dropped) {
          c.summary.dropped = true;
          c.summary.closeCode = code;
        }
      });
    });

  process.on('message', (m: Command) => {
    void (async () => {
      switch (m.cmd) {
        case 'connect': {
          const started = now();
          const errors: string[] = [];
          let next = 0;
          const worker = async (): Promise<void> => {
            while (next < m.count) {
              const i = next++;
              const r = await open(m.url, m.capture && i === 0);
              if (typeof r === 'string') errors.push(r);
              else clients.push(r);
            }
          };
          await Promise.all(Array.from({ length: Math.min(m.concurrency, m.count) }, worker));
          send({
            ev: 'connected',
            ok: clients.length,
            failed: errors.length,
            errors: [...new Set(errors)].slice(0, 5),
            ms: now() - started,
          });
          return;
        }
        case 'record': {
          // From the newest seq any client has: what came before is the connect phase.
          base = Math.max(0, ...clients.map((c) => c.lastSeq)) + 1;
          t0 = now();
          for (const c of clients) {
            c.arrivals.fill(0);
            c.summary.received = 0;
            c.summary.gaps = 0;
            c.summary.disorder = 0;
          }
          captured.frames = [];
          recording = true;
          send({ ev: 'recording', base });
          return;
        }
        case 'progress': {
          // Dropped clients have nothing more to wait for; with none open, there is nothing to wait for.
          const open = clients.filter((c) => !c.summary.dropped).map((c) => c.lastSeq);
          send({ ev: 'progress', open: open.length, min: Math.min(...open), max: Math.max(...open) });
          return;
        }
        case 'stop': {
          recording = false;
          const cap = clients.find((c) => c.capture);
          send({
            ev: 'stopped',
            clients: clients.map((c) => c.summary),
            captured: cap ? captured : undefined,
          });
          captured = { hello: captured.hello, snapshot: captured.snapshot, frames: [] };
          return;
        }
        case 'measure': {
          const hists: Record<string, LatencyHist> = {};
          for (const [name, table] of Object.entries(m.tables)) {
            const h: LatencyHist = { bins: {}, count: 0, max: 0, missing: 0 };
            for (const c of clients) {
              for (const [seq, stamp] of table) {
                const i = seq - base;
                if (i < 0) continue;
                const a = i < c.arrivals.length ? c.arrivals[i] : 0;
                if (a === 0) {
                  h.missing++;
                  continue;
                }
                const ms = t0 + a - stamp;
                const b = binOf(ms);
                h.bins[b] = (h.bins[b] ?? 0) + 1;
                h.count++;
                if (ms > h.max) h.max = ms;
              }
            }
            hists[name] = h;
          }
          send({ ev: 'measured', hists });
          return;
        }
        case 'close': {
          for (const c of clients) c.ws.terminate();
          clients.length = 0;
          base = Infinity;
          send({ ev: 'closed' });
          return;
        }
      }
    })();
  });
}

// ---- the parent's handle ------------------------------------------------------------------------------

export interface ClientPool {
  readonly pids: number[];
  /** Opens `count` clients spread over the children; `capture` makes the first one of child 0 capture. */
  connect(
    url: string,
    count: number,
    capture: boolean,
  ): Promise<{ ok: number; failed: number; errors: string[]; ms: number }>;
  record(): Promise<void>;
  /**
   * Waits until every connected client holds the same newest seq and no new one came for `quietMs`, at
   * most `maxMs`; resolves with the ms it took.
   */
  settle(quietMs: number, maxMs: number): Promise<number>;
  stop(): Promise<{ clients: ClientSummary[]; captured?: Captured }>;
  measure(tables: Record<string, Array<[number, number]>>): Promise<Record<string, LatencyHist>>;
  /** Closes every client (the children stay, for the next phase). */
  closeClients(): Promise<void>;
  kill(): void;
}

/** Forks `procs` children of this module (compiled: dist-bench/bench/support/ws-client-pool.js). */
export function startClientPool(procs: number): ClientPool {
  const children: ChildProcess[] = [];
  for (let i = 0; i < procs; i++) {
    children.push(
      fork(path.join(__dirname, 'ws-client-pool.js'), ['--child'], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        serialization: 'advanced',
      }),
    );
  }
  const ask = <E extends Reply['ev']>(
    child: ChildProcess,
    cmd: Command,
    ev: E,
  ): Promise<Extract<Reply, { ev: E }>> => {
    const reply = childReply<Reply, E>(child, ev, `a /ws client process (during ${cmd.cmd})`);
    child.send(cmd);
    return reply;
  };
  const all = <E extends Reply['ev']>(cmd: Command | ((i: number) => Command), ev: E) =>
    Promise.all(children.map((c, i) => ask(c, typeof cmd === 'function' ? cmd(i) : cmd, ev)));

  return {
    pids: children.map((c) => c.pid ?? -1),
    async connect(url, count, capture) {
      const share = (i: number): number => Math.floor(count / procs) + (i < count % procs ? 1 : 0);
      const r = await all(
        (i) => ({ cmd: 'connect', url, count: share(i), capture: capture && i === 0, concurrency: 25 }),
        'connected',
      );
      return {
        ok: r.reduce((a, x) => a + x.ok, 0),
        failed: r.reduce((a, x) => a + x.failed, 0),
        errors: [...new Set(r.flatMap((x) => x.errors))],
        ms: Math.max(...r.map((x) => x.ms)),
      };
    },
    async record() {
      await all({ cmd: 'record' }, 'recording');
    },
    async settle(quietMs, maxMs) {
      const start = Date.now();
      let last = -1;
      let lastChange = Date.now();
      while (Date.now() - start < maxMs) {
        const r = (await all({ cmd: 'progress' }, 'progress')).filter((x) => x.open > 0);
        if (r.length === 0) break;
        const min = Math.min(...r.map((x) => x.min));
        const max = Math.max(...r.map((x) => x.max));
        if (max !== last) {
          last = max;
          lastChange = Date.now();
        } else if (min === max && Date.now() - lastChange >= quietMs) break;
        await new Promise((res) => setTimeout(res, 100));
      }
      return Date.now() - start;
    },
    async stop() {
      const r = await all({ cmd: 'stop' }, 'stopped');
      return { clients: r.flatMap((x) => x.clients), captured: r.find((x) => x.captured)?.captured };
    },
    async measure(tables) {
      const r = await all({ cmd: 'measure', tables }, 'measured');
      const out: Record<string, LatencyHist> = {};
      for (const name of Object.keys(tables)) {
        const h: LatencyHist = { bins: {}, count: 0, max: 0, missing: 0 };
        for (const x of r) {
          const p = x.hists[name];
          for (const [b, n] of Object.entries(p.bins)) h.bins[Number(b)] = (h.bins[Number(b)] ?? 0) + n;
          h.count += p.count;
          h.missing += p.missing;
          h.max = Math.max(h.max, p.max);
        }
        out[name] = h;
      }
      return out;
    },
    async closeClients() {
      await all({ cmd: 'close' }, 'closed');
    },
    kill() {
      for (const c of children) c.kill('SIGKILL');
    },
  };
}

/** The p-th percentile (0–100) of a histogram, in ms (the bin's lower edge). */
export function histPercentile(h: LatencyHist, p: number): number {
  if (h.count === 0) return NaN;
  const target = Math.ceil((p / 100) * h.count);
  let seen = 0;
  for (const b of Object.keys(h.bins)
    .map(Number)
    .sort((x, y) => x - y)) {
    seen += h.bins[b];
    if (seen >= target) return binValue(b);
  }
  return h.max;
}

if (require.main === module && process.argv.includes('--child')) childMain();
