/* eslint-disable no-console -- a benchmark reports on stdout */
/**
 * `npm run bench`: a recorded AMI stream pushed through the real ingest path (TCP socket → AmiFrameParser
 * → AmiConnection routing → normaliser → EventBus) at full speed, next to a bare streaming parse of the
 * same bytes and to the `asterisk-manager` 0.2.0 reader over the same socket, all in one run. The ratios
 * are the figures; absolute rates depend on the machine.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { AmiConnection } from '../src/ami/ami.connection';
import { normaliseAmiEvent } from '../src/ami/ami.normaliser';
import { EventBus } from '../src/events/event-bus';

// Run from dist-bench/bench/ (tsconfig.bench.json), two levels below the repository.
const FIXTURES = join(__dirname, '..', '..', 'test', 'fixtures');
const TARGET_BYTES = Number(process.env.BENCH_MB ?? 64) * 1024 * 1024;
const CHUNK = 64 * 1024;
const RUNS = 3;

/** Event frames of every recorded fixture (greeting and responses dropped), repeated to TARGET_BYTES. */
function buildStream(): { bytes: Buffer; events: number } {
  const frames: string[] = [];
  for (const f of readdirSync(FIXTURES).filter((n) => n.endsWith('.ami'))) {
    const text = readFileSync(join(FIXTURES, f), 'latin1');
    for (const frame of text.split('\r\n\r\n')) {
      // List items carry the recording's ActionIDs: strip them so they count as plain events here.
      if (frame.startsWith('Event: ')) frames.push(frame.replace(/\r\nActionID: [^\r]*/, '') + '\r\n\r\n');
    }
  }
  if (frames.length === 0) throw new Error(`no event frames in ${FIXTURES}/*.ami`);
  const unit = Buffer.from(frames.join(''), 'latin1');
  const reps = Math.max(1, Math.floor(TARGET_BYTES / unit.length));
  return { bytes: Buffer.concat(Array.from({ length: reps }, () => unit)), events: reps * frames.length };
}

/** The simplest streaming parse: split frames on CRLFCRLF and lines on CRLF into an object. */
function bareParse(bytes: Buffer): number {
  let pending = '';
  let count = 0;
  for (let off = 0; off < bytes.length; off += CHUNK) {
    pending += bytes.toString('utf8', off, Math.min(bytes.length, off + CHUNK));
    let end: number;
    let start = 0;
    while ((end = pending.indexOf('\r\n\r\n', start)) >= 0) {
      const obj: Record<string, string> = {};
      for (const line of pending.slice(start, end).split('\r\n')) {
        const i = line.indexOf(':');
        obj[line.slice(0, i)] = line.slice(i + 2);
      }
      if (obj.Event !== undefined) count++;
      start = end + 4;
    }
    pending = pending.slice(start);
  }
  return count;
}

/** A TCP server that greets, accepts any Login, then streams `bytes` in CHUNK writes. */
async function streamingServer(bytes: Buffer): Promise<{ port: number; close: () => Promise<void> }> {
  const server = net.createServer((socket) => {
    socket.on('error', () => undefined);
    socket.write('Asterisk Call Manager/11.0.0\r\n');
    let buf = '';
    socket.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      const m = /ActionID: ([^\r]+)/i.exec(buf);
      if (!/\r\n\r\n/.test(buf) || !m) return;
      buf = '';
      socket.write(`Response: Success\r\nActionID: ${m[1]}\r\nMessage: Authentication accepted\r\n\r\n`);
      let off = 0;
      const pump = () => {
        while (off < bytes.length) {
          const ok = socket.write(bytes.subarray(off, off + CHUNK));
          off += CHUNK;
          if (!ok) return void socket.once('drain', pump);
        }
      };
      pump();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  return { port, close: () => new Promise<void>((r) => server.close(() => r())) };
}

async function realIngest(bytes: Buffer, expected: number): Promise<number> {
  const srv = await streamingServer(bytes);
  const bus = new EventBus();
  let seen = 0;
  let normalised = 0;
  bus.subscribe(() => normalised++);
  const conn = new AmiConnection({
    node: 'bench',
    host: '127.0.0.1',
    port: srv.port,
    username: 'bench',
    secret: 'bench',
    reconnectInitialDelayMs: 1000,
    reconnectMaxDelayMs: 1000,
    actionTimeoutMs: 60_000,
    connectTimeoutMs: 60_000,
    keepaliveIntervalMs: 3_600_000,
    maxFrameBytes: 1 << 20,
  });
  const t0 = process.hrtime.bigint();
  await new Promise<void>((resolve) => {
    conn.onEvent = (msg) => {
      const e = normaliseAmiEvent('bench', msg, Date.now());
      if (e) bus.publish(e);
      if (++seen === expected) resolve();
    };
    conn.start();
  });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  await conn.stop();
  await srv.close();
  if (normalised === 0) throw new Error('nothing was normalised: the fixture has no event pbxpulse uses');
  return expected / secs;
}

async function asteriskManagerIngest(bytes: Buffer, expected: number): Promise<number> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- untyped CommonJS package, bench only
  const Manager = require('asterisk-manager') as new (...a: unknown[]) => {
    on(ev: string, fn: () => void): void;
    disconnect(): void;
  };
  const srv = await streamingServer(bytes);
  let seen = 0;
  const t0 = process.hrtime.bigint();
  const ami = new Manager(srv.port, '127.0.0.1', 'bench', 'bench', true);
  await new Promise<void>((resolve) => ami.on('managerevent', () => ++seen === expected && resolve()));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  ami.disconnect();
  await srv.close();
  return expected / secs;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main(): Promise<void> {
  Logger.overrideLogger(['error']);
  const { bytes, events } = buildStream();
  console.log(
    `AMI ingest: ${events} recorded events, ${(bytes.length / 1048576).toFixed(1)} MiB, ${RUNS} runs each`,
  );
  const bare: number[] = [];
  const real: number[] = [];
  const lib: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = process.hrtime.bigint();
    const n = bareParse(bytes);
    bare.push(n / (Number(process.hrtime.bigint() - t0) / 1e9));
    if (n !== events) throw new Error(`bare parse found ${n} events, expected ${events}`);
    real.push(await realIngest(bytes, events));
  }
  // asterisk-manager is far slower; one smaller run keeps the bench short.
  const small = bytes.subarray(0, Math.floor(bytes.length / 8));
  const smallEvents = bareParse(small);
  lib.push(await asteriskManagerIngest(small, smallEvents));
  const b = median(bare);
  const r = median(real);
  const l = median(lib);
  const fmt = (x: number) => `${Math.round(x).toLocaleString('en-US')} events/s`;
  console.log(`bare streaming parse (in memory)                 ${fmt(b)}`);
  console.log(
    `pbxpulse ingest (socket→parse→normalise→bus)     ${fmt(r)}   ratio to bare: ${(r / b).toFixed(2)}`,
  );
  console.log(
    `asterisk-manager 0.2.0 (socket→parse→emit)       ${fmt(l)}   ratio to bare: ${(l / b).toFixed(2)}`,
  );
  console.log(`pbxpulse / asterisk-manager: ${(r / l).toFixed(1)}x`);
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
