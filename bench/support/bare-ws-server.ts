/**
 * The baseline of the WebSocket fan-out benchmark: a bare `ws` server, in its own process like the
 * daemon, that greets each client with given `hello` and `snapshot` frames and then broadcasts a list
 * of frames at given offsets, the way the `ws` README broadcasts (`for (const c of wss.clients)
 * c.send(text)`): no sequencing, no filters, no budget. Driven over IPC by `startBareServer`.
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { WebSocket, WebSocketServer } from 'ws';
import { childReply } from './child-reply';

const now = (): number => performance.timeOrigin + performance.now();

type Command =
  | { cmd: 'listen'; hello: string; snapshot: string }
  | { cmd: 'play'; file: string; leadMs: number }
  | { cmd: 'close' };
type Reply =
  | { ev: 'listening'; port: number }
  | { ev: 'playing'; startAt: number }
  | { ev: 'played'; sent: number; lateMaxMs: number }
  | { ev: 'closed' };

function childMain(): void {
  let wss: WebSocketServer | undefined;
  const send = (r: Reply): void => {
    process.send?.(r);
  };
  process.on('message', (m: Command) => {
    switch (m.cmd) {
      case 'listen': {
        wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
        wss.on('connection', (ws) => {
          ws.on('error', () => undefined);
          ws.send(m.hello);
          ws.send(m.snapshot);
        });
        wss.once('listening', () => {
          const addr = wss!.address();
          send({ ev: 'listening', port: typeof addr === 'object' && addr ? addr.port : 0 });
        });
        return;
      }
      case 'play': {
        // [offset ms from the first frame, text]: the captured frames with their original spacing.
        const frames = JSON.parse(fs.readFileSync(m.file, 'utf8')) as Array<[number, string]>;
        const startAt = now() + m.leadMs;
        send({ ev: 'playing', startAt });
        let i = 0;
        let sent = 0;
        let lateMaxMs = 0;
        const tick = (): void => {
          const t = now();
          // Everything due by now goes out in this turn, in order; then wait for the next one.
          while (i < frames.length && startAt + frames[i][0] <= t) {
            lateMaxMs = Math.max(lateMaxMs, t - (startAt + frames[i][0]));
            const text = frames[i][1];
            for (const c of wss!.clients) if (c.readyState === WebSocket.OPEN) c.send(text);
            sent++;
            i++;
          }
          if (i >= frames.length) {
            send({ ev: 'played', sent, lateMaxMs });
            return;
          }
          setTimeout(tick, Math.max(0, startAt + frames[i][0] - now()));
        };
        setTimeout(tick, m.leadMs);
        return;
      }
      case 'close': {
        for (const c of wss?.clients ?? []) c.terminate();
        wss?.close(() => send({ ev: 'closed' }));
        if (!wss) send({ ev: 'closed' });
        return;
      }
    }
  });
}

export interface BareServer {
  readonly pid: number;
  readonly url: string;
  /** Plays the frames; resolves with the epoch ms of offset 0 once playing starts, and when all went out. */
  play(
    file: string,
    leadMs: number,
  ): Promise<{ startAt: number; done: Promise<{ sent: number; lateMaxMs: number }> }>;
  stop(): Promise<void>;
}

export async function startBareServer(hello: string, snapshot: string): Promise<BareServer> {
  const child: ChildProcess = fork(path.join(__dirname, 'bare-ws-server.js'), ['--child'], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = <E extends Reply['ev']>(ev: E): Promise<Extract<Reply, { ev: E }>> =>
    childReply<Reply, E>(child, ev, 'the bare ws server');
  const listening = next('listening');
  child.send({ cmd: 'listen', hello, snapshot } satisfies Command);
  const { port } = await listening;
  return {
    pid: child.pid ?? -1,
    url: `ws://127.0.0.1:${port}/`,
    async play(file, leadMs) {
      const playing = next('playing');
      const played = next('played');
      child.send({ cmd: 'play', file, leadMs } satisfies Command);
      const { startAt } = await playing;
      return { startAt, done: played.then(({ sent, lateMaxMs }) => ({ sent, lateMaxMs })) };
    },
    async stop() {
      const closed = next('closed');
      child.send({ cmd: 'close' } satisfies Command);
      await Promise.race([closed, new Promise((r) => setTimeout(r, 5000))]).catch(() => undefined);
      child.kill('SIGKILL');
    },
  };
}

if (require.main === module && process.argv.includes('--child')) childMain();
