/* eslint-disable no-console -- a benchmark reports on stdout */
/**
 * Fan-out through Redis: 30 simulated nodes (bench/support/ami-simulator.ts, one port each, plus one
 * ARI simulator for every node's event socket), watched first by one daemon alone, then by three
 * daemons sharing them through a real redis-server (test/support/redis-server.ts), in the same run.
 *
 * Each phase: a `/ws` client on every daemon; this benchmark writes `Newchannel` events (a new call)
 * round-robin to the nodes' AMI sessions at a steady rate and stamps each; every client stamps the first
 * `call.updated` delta of that call. Latency = AMI write → arrival at the client. In the cluster phase
 * the deltas of a node reach the clients of the two daemons that do not watch it through the Redis
 * Stream, and those of its watcher too (every daemon reads the stream): the figures are split into
 * "watched by the client's daemon" and "watched by another daemon".
 *
 * One clock (`performance.timeOrigin + performance.now()`), one machine. Needs /usr/bin/redis-server.
 * Knobs: BENCH_CLUSTER_NODES (30), BENCH_CLUSTER_EVENTS (600), BENCH_CLUSTER_RATE (100 events/s).
 */
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { type TestRedis, startRedis } from '../test/support/redis-server';
import { AmiSimulator, type AmiRecording } from './support/ami-simulator';
import { AriSimulator } from './support/ari-simulator';
import { type DaemonProcess, startDaemonProcess } from './support/daemon-process';

const NODES = Number(process.env.BENCH_CLUSTER_NODES ?? 30);
const EVENTS = Number(process.env.BENCH_CLUSTER_EVENTS ?? 600);
const RATE = Number(process.env.BENCH_CLUSTER_RATE ?? 100);
const DEADLINE_MS = 60_000;

const now = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const nodeName = (i: number): string => `node${String(i + 1).padStart(2, '0')}`;

const RECORDING: AmiRecording = {
  greeting: 'Asterisk Call Manager/11.0.0',
  afterLogin: 'Event: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n',
  answers: {},
  order: [],
};
const ASTERISK_INFO = {
  system: { version: '22.0.0-bench', entity_id: 'bench' },
  status: { startup_time: '2026-12-06T00:00:00.000+0000', last_reload_time: '2026-12-06T00:00:00.000+0000' },
  build: {},
  config: {},
};

function newchannel(i: number): { linkedid: string; frame: string } {
  const linkedid = `1796000000.${i}`;
  const frame = [
    'Event: Newchannel',
    'Privilege: call,all',
    `Channel: PJSIP/bench-${String(i).padStart(8, '0')}`,
    'ChannelState: 4',
    'ChannelStateDesc: Ring',
    'CallerIDNum: 2002',
    'CallerIDName: <unknown>',
    'ConnectedLineNum: <unknown>',
    'ConnectedLineName: <unknown>',
    'Language: en',
    'AccountCode: ',
    'Context: internal',
    'Exten: 600',
    'Priority: 1',
    `Uniqueid: ${linkedid}`,
    `Linkedid: ${linkedid}`,
  ].join('\r\n');
  return { linkedid, frame: `${frame}\r\n\r\n` };
}

interface Client {
  daemon: DaemonProcess;
  ws: WebSocket;
  /** linkedid → arrival of its first call.updated. */
  arrivals: Map<string, number>;
}

function openClient(daemon: DaemonProcess): Promise<Client> {
  const ws = new WebSocket(`${daemon.url.replace('http:', 'ws:')}/ws`);
  const client: Client = { daemon, ws, arrivals: new Map() };
  return new Promise((resolve, reject) => {
    ws.on('error', reject);
    ws.on('message', (raw: Buffer) => {
      const at = now();
      const m = JSON.parse(raw.toString('utf8')) as { type: string; data?: { linkedid?: string } };
      if (m.type === 'snapshot') resolve(client);
      if (m.type === 'call.updated' && m.data?.linkedid && !client.arrivals.has(m.data.linkedid)) {
        client.arrivals.set(m.data.linkedid, at);
      }
    });
  });
}

function pct(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const fmt = (ms: number): string => (Number.isFinite(ms) ? ms.toFixed(1) : 'n/a');
const line = (label: string, v: number[]): string =>
  `${label.padEnd(44)} n=${String(v.length).padStart(5)}  p50 ${fmt(pct(v, 50))} ms  p95 ${fmt(pct(v, 95))} ms  p99 ${fmt(pct(v, 99))} ms  max ${fmt(Math.max(...v))} ms`;

async function watchers(daemons: DaemonProcess[]): Promise<Map<string, DaemonProcess>> {
  const out = new Map<string, DaemonProcess>();
  for (const d of daemons) {
    const res = await fetch(`${d.url}/health/ready`);
    const body = (await res.json()) as { details: { cluster?: { watching: string[] } } };
    for (const n of body.details.cluster?.watching ?? []) out.set(n, d);
  }
  return out;
}

async function phase(label: string, count: number, redis: TestRedis | undefined): Promise<number[][]> {
  const ami = await AmiSimulator.start({ recording: RECORDING, ports: NODES });
  const ari = await AriSimulator.start(ASTERISK_INFO);
  const daemons: DaemonProcess[] = [];
  const clients: Client[] = [];
  try {
    const config = (port: number): string =>
      [
        `http: { host: 127.0.0.1, port: ${port} }`,
        'log: { level: warn }',
        redis ? `cluster: { redis: "${redis.url}" }` : '',
        'nodes:',
        ...ami.ports.map(
          (p, i) =>
            `  - { name: ${nodeName(i)}, ami: { host: 127.0.0.1, port: ${p}, username: u, secret: s }, ari: { url: "${ari.url}", username: u, password: p } }`,
        ),
      ].join('\n');
    for (let i = 0; i < count; i++) daemons.push(await startDaemonProcess({ config, waitFor: 'live' }));
    // Every node logged in once (no node twice: one session per port).
    const deadline = Date.now() + DEADLINE_MS;
    for (;;) {
      const logged = [...ami.sessions].filter((s) => s.loggedIn);
      const ports = new Set(logged.map((s) => s.port));
      // Cluster: wait for the even spread (daemons started one after the other first hand nodes over).
      const w = redis ? await watchers(daemons) : undefined;
      const counts = daemons.map((d) => [...(w?.values() ?? [])].filter((x) => x === d).length);
      const even = !w || (w.size === NODES && Math.max(...counts) - Math.min(...counts) <= 1);
      if (ports.size === NODES && logged.length === NODES && even) break;
      if (Date.now() > deadline) throw new Error(`${label}: ${ports.size}/${NODES} nodes logged in`);
      await sleep(200);
    }
    const watcherOf = redis
      ? await watchers(daemons)
      : new Map(ami.ports.map((_, i) => [nodeName(i), daemons[0]]));
    // Let the after-connect steps (resync attempts against the simulator) and the last lease ticks settle.
    await sleep(5000);
    for (const d of daemons) clients.push(await openClient(d));

    const sessionOf = new Map([...ami.sessions].map((s) => [s.port, s]));
    const sent = new Map<string, { at: number; node: string }>();
    const gap = 1000 / RATE;
    const t0 = now();
    for (let i = 0; i < EVENTS; i++) {
      const due = t0 + i * gap;
      const wait = due - now();
      if (wait > 1) await sleep(wait);
      const n = i % NODES;
      const { linkedid, frame } = newchannel(i);
      sent.set(linkedid, { at: now(), node: nodeName(n) });
      sessionOf.get(ami.ports[n])?.socket.write(frame);
    }
    const until = Date.now() + 20_000;
    while (clients.some((c) => c.arrivals.size < EVENTS) && Date.now() < until) await sleep(100);

    const local: number[] = [];
    const remote: number[] = [];
    let missing = 0;
    for (const c of clients) {
      for (const [linkedid, { at, node }] of sent) {
        const arrived = c.arrivals.get(linkedid);
        if (arrived === undefined) {
          missing++;
          continue;
        }
        (watcherOf.get(node) === c.daemon ? local : remote).push(arrived - at);
      }
    }
    console.log(`\n${label}: ${count} daemon(s), ${NODES} nodes, ${EVENTS} new calls at ${RATE}/s`);
    if (redis) {
      const perDaemon = daemons.map((d) => [...watcherOf.values()].filter((w) => w === d).length);
      console.log(`  nodes per daemon: ${perDaemon.join(' / ')}`);
      console.log(`  ${line('AMI → /ws, node watched by the same daemon', local)}`);
      console.log(`  ${line('AMI → /ws, node watched by another daemon', remote)}`);
    }
    console.log(`  ${line('AMI → /ws, all', [...local, ...remote])}`);
    console.log(`  deltas missing at the clients: ${missing}`);
    return [local, remote];
  } finally {
    for (const c of clients) c.ws.close();
    await Promise.all(daemons.map((d) => d.stop()));
    await ami.close();
    await ari.close();
  }
}

async function main(): Promise<void> {
  const [single] = await phase('single daemon', 1, undefined);
  const redis = await startRedis();
  try {
    const [local, remote] = await phase('cluster through Redis', 3, redis);
    const all = [...local, ...remote];
    console.log(
      `\nfan-out through Redis vs single daemon: p50 ${fmt(pct(all, 50))} vs ${fmt(pct(single, 50))} ms, ` +
        `p99 ${fmt(pct(all, 99))} vs ${fmt(pct(single, 99))} ms`,
    );
  } finally {
    await redis.stop();
  }
}

main().catch((err: Error) => {
  console.error(err.stack ?? err.message);
  process.exit(1);
});
