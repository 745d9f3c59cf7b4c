import type * as net from 'node:net';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { Worker } from 'node:worker_threads';
import { WebSocket } from 'ws';
import { GatewayHub } from '../../src/gateway/gateway.hub';
import { LiveGateway, MAX_CLIENT_MESSAGE_BYTES } from '../../src/gateway/live.gateway';
import { sandboxNodeYaml, startDaemon, type TestDaemon } from '../support/daemon';
import { expectEventually } from '../support/expect-eventually';

const EVENTS_PER_S = 5000;
const FLOW_MS = 6000;
const CHURN = 1000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const mb = (b: number): string => `${(b / 1024 / 1024).toFixed(1)} MB`;

/** A full collection, so heap figures are what is kept, not garbage not yet collected. */
function collectGarbage(): void {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
}

/**
 * The good client runs on its own thread (its own event loop): in this process it would share the loop
 * with the daemon, the publisher and 1,000 churning clients, and a reader starved by its own host is not
 * what the test is about. It records the seq of every delta from `from` on and reports on request.
 */
const GOOD_CLIENT = `
const { parentPort, workerData } = require('node:worker_threads');
const { WebSocket } = require(workerData.ws);
const seqs = [];
let closeCode = null;
const ws = new WebSocket(workerData.url);
ws.on('open', () => parentPort.postMessage({ open: true }));
ws.on('close', (code) => (closeCode = code));
ws.on('message', (raw) => {
  const m = JSON.parse(raw.toString('utf8'));
  if (m.type !== 'snapshot' && m.type !== 'hello' && typeof m.seq === 'number') seqs.push(m.seq);
});
parentPort.on('message', (from) => {
  const flow = seqs.filter((s) => s >= from);
  const inOrder = flow.every((s, i) => s === from + i);
  parentPort.postMessage({ count: flow.length, last: seqs[seqs.length - 1] ?? 0, inOrder, closeCode });
  if (from < 0) ws.close();
});
`;

interface GoodReport {
  count: number;
  last: number;
  inOrder: boolean;
  closeCode: number | null;
}

async function goodClient(
  url: string,
): Promise<{ report(from: number): Promise<GoodReport>; stop(): Promise<void> }> {
  const worker = new Worker(GOOD_CLIENT, { eval: true, workerData: { url, ws: require.resolve('ws') } });
  await new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
  });
  return {
    report: (from) =>
      new Promise<GoodReport>((resolve) => {
        worker.once('message', (r: GoodReport) => resolve(r));
        worker.postMessage(from);
      }),
    stop: async () => {
      await worker.terminate();
    },
  };
}

/** Opens a client on `url` and resolves once it is open. */
function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function closed(ws: WebSocket): Promise<number> {
  return new Promise((resolve) => ws.once('close', (code) => resolve(code)));
}

/**
 * Slow and hostile `/ws` clients of a daemon watching the real sandbox, while deltas flow at 5,000/s
 * (published into the daemon's gateway hub: the gateway is transport only, and the sandbox alone does not
 * produce 5k state changes a second): a client that never reads, 1,000 clients connecting and
 * disconnecting, an oversized and a malformed sender. Memory stays bounded, the bad clients are dropped
 * and counted, and a good client sees every seq, without a gap.
 */
describe('slow and hostile /ws clients under 5k deltas/s', () => {
  let daemon: TestDaemon;

  beforeAll(async () => {
    daemon = await startDaemon(sandboxNodeYaml('pbx1'));
    await expectEventually(async () => expect((await daemon.get('/health/ready')).status).toBe(200), 10_000);
  });

  afterAll(async () => {
    await daemon.close();
  });

  it('drops and counts the bad ones, keeps memory bounded and the good client gap-free', async () => {
    const url = `${daemon.url.replace('http', 'ws')}/ws`;
    const hub = daemon.app.get(GatewayHub);
    const gateway = daemon.app.get(LiveGateway);

    const good = await goodClient(url);
    // Never reads: its socket is paused, so the server's unsent data grows until the budget ends it.
    const deaf = await open(url);
    (deaf as unknown as { _socket: net.Socket })._socket.pause();
    const deafClosed = closed(deaf);

    collectGarbage();
    const heap0 = process.memoryUsage();
    const payload = 'p'.repeat(200);
    const first = hub.currentSeq + 1;
    let published = 0;
    const flowing = (async () => {
      const t0 = Date.now();
      // Every few ms, as many as 5,000 a second calls for by now (timers are late on a busy machine).
      while (Date.now() - t0 < FLOW_MS) {
        const due = Math.floor(((Date.now() - t0) * EVENTS_PER_S) / 1000);
        for (; published < due; published++) {
          hub.publish('call.updated', 'pbx1', { payload, i: published } as never);
        }
        await sleep(5);
      }
    })();

    // Meanwhile: 1,000 clients connect and go, 50 at a time; one sends 64 KiB + 1; one sends garbage.
    const churn = (async () => {
      for (let done = 0; done < CHURN; done += 50) {
        const batch = await Promise.all(Array.from({ length: 50 }, () => open(url)));
        for (const ws of batch) ws.terminate();
      }
    })();
    const big = await open(url);
    const bigClosed = closed(big);
    big.send('x'.repeat(MAX_CLIENT_MESSAGE_BYTES + 1));
    const noisy = await open(url);
    const noisyClosed = closed(noisy);
    for (let i = 0; i < 50; i++) noisy.send(`{"type":"nonsense","n":${i}}`);

    let rssPeak = 0;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 100);
    await Promise.all([flowing, churn]);
    clearInterval(sampler);

    // Closed with 1013 behind the data it never read, then cut off: it reads the end once it resumes.
    await expectEventually(() => expect(gateway.dropped.slow).toBeGreaterThanOrEqual(1), 5000);
    (deaf as unknown as { _socket: net.Socket })._socket.resume();
    expect([1013, 1006]).toContain(await deafClosed);
    expect(await bigClosed).toBe(1009);
    expect(await noisyClosed).toBe(4400);
    const last = hub.currentSeq;
    await expectEventually(async () => expect((await good.report(first)).last).toBe(last), 10_000, 100);
    // Every seq from the first delta of the flow to the last, in order, once.
    const flow = await good.report(first);
    expect(flow).toEqual({ count: last - first + 1, last, inOrder: true, closeCode: null });

    await expectEventually(() => expect(gateway.clientCount).toBe(1), 5000); // the good one
    const metrics = (await daemon.get('/metrics')).text;
    for (const reason of ['slow', 'oversized', 'bad_messages']) {
      expect(metrics).toMatch(
        new RegExp(`pbxpulse_gateway_clients_dropped_total\\{reason="${reason}"\\} [1-9]`),
      );
    }
    collectGarbage();
    const heap1 = process.memoryUsage();
    console.log(
      `${published} deltas in ${FLOW_MS} ms (${Math.round(published / (FLOW_MS / 1000))}/s) to 1 good + 1 deaf + ${CHURN} churning + 2 hostile clients: ` +
        `heap after GC ${mb(heap0.heapUsed)} -> ${mb(heap1.heapUsed)}, RSS ${mb(heap0.rss)} -> peak ${mb(rssPeak)}; good client got ${flow.count} deltas, no gap`,
    );
    // Bounded, after a full collection: the deaf client was dropped, the churned ones are gone; what
    // stays is the replay buffer (10,000 deltas of ~300 bytes) and this test's own recording of seqs.
    expect(heap1.heapUsed - heap0.heapUsed).toBeLessThan(24 * 1024 * 1024);
    await good.stop();
  }, 90_000);
});
