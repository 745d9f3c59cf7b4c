/**
 * Several daemons sharing one fleet through a real Redis (redis-server on a free port, with a
 * password), each daemon a separate `node dist/main.js` process. The fleet: the sandbox Asterisk
 * (`pbx1`), the lab Asterisk (`lab`) and four nodes where nothing listens (`off1`-`off4`), so that a
 * spread over two and three daemons is visible.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Redis } from 'ioredis';
import { type DaemonProcess, startDaemonProcess } from '../../bench/support/daemon-process';
import { expectEventually } from '../support/expect-eventually';
import { LAB, labCli, labStart } from '../support/lab-asterisk';
import { type TestRedis, startRedis } from '../support/redis-server';
import { SANDBOX, asteriskCli, sandboxUp } from '../support/sandbox';
import { SipUdpClient } from '../support/sip/sip-udp-client';
import { WebSocket } from 'ws';

const NODES = ['pbx1', 'lab', 'off1', 'off2', 'off3', 'off4'];
const ADMIN = 'cluster-admin-token-3f9a';

function configYaml(redisUrl: string, port: number): string {
  const offline = (name: string): string =>
    `  - { name: ${name}, ami: { host: 127.0.0.1, port: 1, username: u, secret: s }, ari: { url: "http://127.0.0.1:1", username: u, password: p } }`;
  return [
    `http: { host: 127.0.0.1, port: ${port} }`,
    `auth: { adminToken: ${ADMIN} }`,
    'log: { format: json }',
    `cluster: { redis: "${redisUrl}" }`,
    'nodes:',
    '  - name: pbx1',
    `    ami: { host: ${SANDBOX.amiHost}, port: ${SANDBOX.amiPort}, username: ${SANDBOX.amiUser}, secret: "${SANDBOX.amiSecret}" }`,
    `    ari: { url: "${SANDBOX.ariUrl}", username: ${SANDBOX.ariUser}, password: "${SANDBOX.ariPassword}" }`,
    '  - name: lab',
    `    ami: { host: ${LAB.host}, port: ${LAB.amiPort}, username: ${LAB.amiUser}, secret: "${LAB.amiSecret}" }`,
    `    ari: { url: "${LAB.ariUrl}", username: ${LAB.ariUser}, password: "${LAB.ariPassword}" }`,
    ...NODES.slice(2).map(offline),
  ].join('\n');
}

interface ClusterDetail {
  daemon: string;
  redis: 'up' | 'down';
  mode: 'starting' | 'normal' | 'degraded';
  daemons: number;
  watching: string[];
  unwatched: string[];
}

/** The `cluster` indicator of `/health/ready` (503 too: the offline nodes are down). */
async function clusterOf(d: DaemonProcess): Promise<ClusterDetail> {
  const res = await fetch(`${d.url}/health/ready`, { signal: AbortSignal.timeout(3000) });
  const body = (await res.json()) as { details: { cluster: ClusterDetail } };
  return body.details.cluster;
}

async function nodeView(
  d: DaemonProcess,
  node: string,
): Promise<{ ami: { status: string }; ari: { status: string } }> {
  const res = await fetch(`${d.url}/api/v1/nodes`);
  const body = (await res.json()) as {
    nodes: Array<{ name: string; ami: { status: string }; ari: { status: string } }>;
  };
  const view = body.nodes.find((n) => n.name === node);
  if (!view) throw new Error(`no node ${node}`);
  return view;
}

/** A `/ws` client recording every message. */
class Viewer {
  readonly messages: any[] = [];
  readonly ws: WebSocket;
  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.on('message', (raw: Buffer) => this.messages.push(JSON.parse(raw.toString())));
    this.ws.on('error', () => undefined);
  }
  deltas(): any[] {
    return this.messages.filter(
      (m) => typeof m.seq === 'number' && m.type !== 'snapshot' && m.type !== 'subscribed',
    );
  }
  close(): void {
    this.ws.close();
  }
}

const wsUrl = (d: DaemonProcess, query = ''): string => `${d.url.replace('http:', 'ws:')}/ws${query}`;

async function metric(d: DaemonProcess, name: string): Promise<string[]> {
  const text = await (await fetch(`${d.url}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith(name));
}

const ALERT_RULES = path.join(__dirname, '..', '..', 'deploy', 'prometheus', 'pbxpulse-alerts.yml');

describe('cluster: several daemons share the fleet through Redis', () => {
  let redis: TestRedis;
  let probe: Redis;
  const daemons: DaemonProcess[] = [];

  const start = async (): Promise<DaemonProcess> => {
    const d = await startDaemonProcess({
      config: (port) => configYaml(redis.url, port),
      waitFor: 'live',
      readyTimeoutMs: 60_000,
    });
    daemons.push(d);
    return d;
  };

  /** Lease holders as Redis has them. */
  const owners = async (): Promise<Map<string, string | null>> => {
    const out = new Map<string, string | null>();
    for (const n of NODES) out.set(n, await probe.hget(`pbxpulse:lease:${n}`, 'owner'));
    return out;
  };

  /**
   * Every node watched by exactly one of `live`, matching Redis, each daemon with `counts` nodes
   * (sorted), and the two real nodes connected on their watcher only.
   */
  const expectSpread = async (
    live: DaemonProcess[],
    counts: number[],
    opts: { views?: boolean } = {},
  ): Promise<Map<string, DaemonProcess>> => {
    const views = await Promise.all(live.map(clusterOf));
    const watcher = new Map<string, DaemonProcess>();
    views.forEach((v, i) => {
      for (const n of v.watching) {
        if (watcher.has(n)) throw new Error(`${n} watched twice`);
        watcher.set(n, live[i]);
      }
    });
    expect([...watcher.keys()].sort()).toEqual([...NODES].sort());
    expect(views.map((v) => v.watching.length).sort()).toEqual(counts);
    const inRedis = await owners();
    views.forEach((v) => {
      for (const n of v.watching) expect(inRedis.get(n)).toBe(v.daemon);
    });
    for (const n of ['pbx1', 'lab']) {
      // One view: every daemon shows the node connected, as its watcher sees it (not right after a
      // hand-over: until every daemon's next lease tick, the node is shown down).
      for (const d of opts.views === false ? [] : live) {
        const view = await nodeView(d, n);
        expect([n, view.ami.status, view.ari.status]).toEqual([n, 'up', 'up']);
      }
      // Only the watcher has an ARI application on that Asterisk (its name carries the daemon's pid).
      const apps = await (n === 'pbx1' ? asteriskCli : labCli)('ari show apps');
      const pids = [...apps.matchAll(new RegExp(`pbxpulse-${n}-\\S*-(\\d+)-[0-9a-f]{6}`, 'g'))].map((m) =>
        Number(m[1]),
      );
      const ours = new Set(daemons.map((d) => d.pid));
      expect(pids.filter((p) => ours.has(p))).toEqual([watcher.get(n)!.pid]);
    }
    return watcher;
  };

  beforeAll(async () => {
    await sandboxUp();
    await labStart();
    redis = await startRedis();
    probe = new Redis(redis.url, { maxRetriesPerRequest: 1, retryStrategy: () => 200 });
  }, 120_000);

  afterAll(async () => {
    await Promise.all(daemons.map((d) => d.stop()));
    probe?.disconnect();
    await redis?.stop();
  }, 60_000);

  let watcher: Map<string, DaemonProcess>;

  it('two daemons: each node watched by exactly one, spread 3/3, only the watcher connected', async () => {
    const [a, b] = await Promise.all([start(), start()]);
    watcher = await expectEventually(() => expectSpread([a, b], [3, 3]), 30_000, 500);
    for (const d of [a, b]) {
      expect(await metric(d, 'pbxpulse_cluster_redis_up ')).toEqual(['pbxpulse_cluster_redis_up 1']);
      expect(await metric(d, 'pbxpulse_cluster_nodes_owned ')).toEqual(['pbxpulse_cluster_nodes_owned 3']);
      expect(await metric(d, 'pbxpulse_cluster_lease_changes_total{change="acquired"}')).toEqual([
        'pbxpulse_cluster_lease_changes_total{change="acquired"} 3',
      ]);
    }
    // Node series only from the node's watcher: scraping both daemons sees each node once.
    const series = [
      ...(await metric(a, 'pbxpulse_ami_up{')),
      ...(await metric(b, 'pbxpulse_ami_up{')),
      ...(await metric(a, 'pbxpulse_ari_reconnects_total{')),
      ...(await metric(b, 'pbxpulse_ari_reconnects_total{')),
    ];
    const nodesSeen = (name: string): string[] =>
      series
        .filter((l) => l.startsWith(name))
        .map((l) => /node="([^"]+)"/.exec(l)![1])
        .sort();
    expect(nodesSeen('pbxpulse_ami_up')).toEqual([...NODES].sort());
    expect(nodesSeen('pbxpulse_ari_reconnects_total')).toEqual([...NODES].sort());
    // Every cluster series the alert rules name is exported by a cluster daemon.
    const rules = fs.readFileSync(ALERT_RULES, 'utf8');
    const named = new Set([...rules.matchAll(/\bpbxpulse_cluster_[a-z_]+/g)].map((m) => m[0]));
    expect(named.size).toBeGreaterThan(1);
    const text = await (await fetch(`${a.url}/metrics`)).text();
    for (const n of named)
      expect({ n, exposed: text.includes(`# TYPE ${n} `) }).toEqual({ n, exposed: true });
  }, 90_000);

  it('control actions run on the watcher only; elsewhere 409', async () => {
    const owner = watcher.get('pbx1')!;
    const other = daemons.find((d) => d !== owner)!;
    const qualify = (d: DaemonProcess): Promise<Response> =>
      fetch(`${d.url}/api/v1/nodes/pbx1/endpoints/${SANDBOX.endpoints.deskPhone.name}/qualify`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${ADMIN}` },
      });
    const refused = await qualify(other);
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { code: string }).code).toBe('NODE_WATCHED_ELSEWHERE');
    const done = await qualify(owner);
    expect(done.status).toBe(200);
  }, 30_000);

  let lastSeq = 0;

  it('/ws on a daemon that does not watch a node shows its calls, in one fleet-wide order', async () => {
    const owner = watcher.get('pbx1')!;
    const other = daemons.find((d) => d !== owner)!;
    const viewer = new Viewer(wsUrl(other));
    const phone = await SipUdpClient.open();
    try {
      await expectEventually(() =>
        expect(viewer.messages.map((m) => m.type).slice(0, 2)).toEqual(['hello', 'snapshot']),
      );
      // The snapshot of the non-watcher has the fleet: pbx1 connected (as its watcher sees it).
      const snapshot = viewer.messages[1];
      expect(snapshot.nodes.map((n: { name: string }) => n.name).sort()).toEqual([...NODES].sort());
      expect(snapshot.nodes.find((n: { name: string }) => n.name === 'pbx1').ami.status).toBe('up');
      // REST too: the alerts of pbx1 (the sandbox's diagnoses) on both daemons alike.
      const alertsOf = async (d: DaemonProcess): Promise<string[]> => {
        const body = (await (await fetch(`${d.url}/api/v1/alerts?node=pbx1`)).json()) as {
          alerts: Array<{ id: string }>;
        };
        return body.alerts.map((a) => a.id).sort();
      };
      await expectEventually(
        async () => expect(await alertsOf(other)).toEqual(await alertsOf(owner)),
        10_000,
        200,
      );

      const user = SANDBOX.endpoints.plainPhone;
      const call = await phone.call(SANDBOX.extensions.echo, {
        sendRtp: false,
        user: user.name,
        password: user.password,
      });
      expect(call.state).toBe('answered');
      const ours = (type: string): any[] =>
        viewer
          .deltas()
          .filter(
            (m) =>
              m.type === type &&
              m.node === 'pbx1' &&
              m.data.channels.some((c: { endpoint: string | null }) => c.endpoint === user.name),
          );
      await expectEventually(() => expect(ours('call.updated').length).toBeGreaterThan(0), 10_000, 100);
      await call.hangup();
      await expectEventually(() => expect(ours('call.ended')).toHaveLength(1), 10_000, 100);
      const seqs = viewer.deltas().map((m) => m.seq as number);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      expect(new Set(seqs).size).toBe(seqs.length);
      lastSeq = seqs[seqs.length - 1];

      // The same sequence numbers on the watcher: resuming there from an earlier seq replays the rest.
      const from = seqs[Math.max(0, seqs.length - 4)];
      const resumed = new Viewer(wsUrl(owner, `?since=${from}`));
      try {
        await expectEventually(() => {
          expect(resumed.messages[1]?.type).not.toBe('snapshot');
          expect(
            resumed
              .deltas()
              .map((m) => m.seq)
              .slice(0, seqs.filter((x) => x > from).length),
          ).toEqual(seqs.filter((x) => x > from));
        }, 5000);
      } finally {
        resumed.close();
      }
    } finally {
      viewer.close();
      await phone.close();
    }

    // A daemon started after these deltas were published resumes a viewer from the stream (before it
    // takes any node: a resync in the replay would answer with a snapshot instead).
    const joined = await start();
    await expectEventually(
      async () => {
        const resumed = new Viewer(wsUrl(joined, `?since=${lastSeq - 1}`));
        try {
          await expectEventually(() => expect(resumed.messages.length).toBeGreaterThanOrEqual(2), 2000, 20);
          expect(resumed.messages[0].type).toBe('hello');
          expect(resumed.messages[1].type).not.toBe('snapshot');
          expect(resumed.messages[1].seq).toBe(lastSeq);
        } finally {
          resumed.close();
        }
      },
      5000,
      50,
    );
    await joined.stop();
    daemons.splice(daemons.indexOf(joined), 1);
    watcher = await expectEventually(() => expectSpread([...daemons], [3, 3]), 30_000, 500);
  }, 90_000);

  it('SIGKILL of the watcher: the other daemon takes its nodes within 15 s with the state Asterisk has', async () => {
    const victim = watcher.get('pbx1')!;
    const survivor = daemons.find((d) => d !== victim)!;
    const killedAt = Date.now();
    await victim.kill();
    daemons.splice(daemons.indexOf(victim), 1);
    // Watched again: the survivor holds the lease and its own links to pbx1 are up.
    await expectEventually(
      async () => {
        const res = await fetch(`${survivor.url}/health/ready`, { signal: AbortSignal.timeout(3000) });
        const body = (await res.json()) as {
          details: Record<string, { status: string; watching?: string[] }>;
        };
        return body.details.cluster.watching!.includes('pbx1') && body.details['node:pbx1']?.status === 'up';
      },
      15_000,
      100,
    );
    const takeoverMs = Date.now() - killedAt;
    process.stdout.write(`cluster: pbx1 watched again ${takeoverMs} ms after SIGKILL of its watcher\n`);
    expect(takeoverMs).toBeLessThanOrEqual(15_000);

    // The state rebuilt by the new watcher is Asterisk's: the same endpoints.
    const cli = await asteriskCli('pjsip show endpoints');
    const inAsterisk = [...cli.matchAll(/^\s*Endpoint:\s+([^\s/<]+)/gm)].map((m) => m[1]).sort();
    expect(inAsterisk.length).toBeGreaterThan(0);
    await expectEventually(
      async () => {
        const res = await fetch(`${survivor.url}/api/v1/nodes/pbx1/endpoints`);
        const body = (await res.json()) as { endpoints: Array<{ name: string }> };
        expect(body.endpoints.map((e) => e.name).sort()).toEqual(inAsterisk);
      },
      10_000,
      200,
    );
    await expectEventually(() => expectSpread([survivor], [6]), 20_000, 500);
  }, 60_000);

  it('scale from 2 to 3 daemons: the nodes rebalance to 2/2/2', async () => {
    await start();
    await expectEventually(() => expectSpread([...daemons], [3, 3]), 40_000, 500);
    await start();
    await expectEventually(() => expectSpread([...daemons], [2, 2, 2]), 40_000, 500);
  }, 120_000);

  it('Redis restarted (empty): degraded meanwhile, the same watchers after, never two', async () => {
    const before = await expectEventually(() => expectSpread([...daemons], [2, 2, 2]), 10_000, 500);
    await redis.stop();
    await expectEventually(
      async () => {
        const views = await Promise.all(daemons.map(clusterOf));
        expect(views.map((v) => [v.redis, v.mode])).toEqual(views.map(() => ['down', 'degraded']));
        // Still watching what each held.
        expect(views.map((v) => v.watching.length)).toEqual([2, 2, 2]);
      },
      10_000,
      200,
    );
    expect(await metric(daemons[0], 'pbxpulse_cluster_redis_up ')).toEqual(['pbxpulse_cluster_redis_up 0']);
    await redis.restart();
    await expectEventually(
      async () => {
        const views = await Promise.all(daemons.map(clusterOf));
        expect(views.map((v) => v.mode)).toEqual(['normal', 'normal', 'normal']);
      },
      20_000,
      200,
    );
    // Checked over several lease ticks: at no point two watchers, and the same ones as before.
    for (let i = 0; i < 5; i++) {
      const after = await expectSpread([...daemons], [2, 2, 2], { views: false });
      for (const n of NODES) expect(after.get(n)).toBe(before.get(n));
      await new Promise((r) => setTimeout(r, 1000));
    }
    await expectEventually(() => expectSpread([...daemons], [2, 2, 2]), 10_000, 500);
  }, 90_000);

  it('never logs the Redis password', () => {
    for (const d of daemons) {
      const log = fs.readFileSync(d.logPath, 'utf8');
      expect(log).toContain('***@127.0.0.1');
      expect(log).not.toContain(redis.password);
    }
  });
});
