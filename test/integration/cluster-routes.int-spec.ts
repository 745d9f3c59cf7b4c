/**
 * Per-node reads on a daemon that does not watch the node: forwarded to the node's watcher (the lease
 * holder, at the `cluster.advertiseUrl` stored with its heartbeat), never answered from the daemon's
 * own empty stores. Three daemons (`node dist/main.js` processes) on a real Redis; the fleet: the
 * sandbox Asterisk (`pbx1`) and two nodes where nothing listens.
 */
import * as fs from 'node:fs';
import { Redis } from 'ioredis';
import { type DaemonProcess, startDaemonProcess } from '../../bench/support/daemon-process';
import { expectEventually } from '../support/expect-eventually';
import { type HttpAnswer, fetchAnswer } from '../support/http';
import { type TestRedis, startRedis } from '../support/redis-server';
import { SANDBOX, asteriskCli, sandboxUp } from '../support/sandbox';

const ADMIN = 'cluster-routes-admin-7e2c';
const VIEWER = 'cluster-routes-viewer-41bd';
const AUTH = { authorization: `Bearer ${VIEWER}` };
const SERVED_BY = 'x-pbxpulse-served-by';

function configYaml(redisUrl: string, port: number): string {
  const offline = (name: string): string =>
    `  - { name: ${name}, ami: { host: 127.0.0.1, port: 1, username: u, secret: s }, ari: { url: "http://127.0.0.1:1", username: u, password: p } }`;
  return [
    `http: { host: 127.0.0.1, port: ${port} }`,
    `auth: { adminToken: ${ADMIN}, viewerToken: ${VIEWER} }`,
    'log: { format: json }',
    'connections: { actionTimeoutMs: 3000 }',
    `cluster: { redis: "${redisUrl}", advertiseUrl: "http://127.0.0.1:${port}" }`,
    'nodes:',
    '  - name: pbx1',
    `    ami: { host: ${SANDBOX.amiHost}, port: ${SANDBOX.amiPort}, username: ${SANDBOX.amiUser}, secret: "${SANDBOX.amiSecret}" }`,
    `    ari: { url: "${SANDBOX.ariUrl}", username: ${SANDBOX.ariUser}, password: "${SANDBOX.ariPassword}" }`,
    offline('off1'),
    offline('off2'),
  ].join('\n');
}

interface Member {
  d: DaemonProcess;
  id: string;
  watching: string[];
}

async function memberOf(d: DaemonProcess): Promise<Member> {
  const res = await fetch(`${d.url}/health/ready`, { signal: AbortSignal.timeout(3000) });
  const body = (await res.json()) as { details: { cluster: { daemon: string; watching: string[] } } };
  return { d, id: body.details.cluster.daemon, watching: body.details.cluster.watching };
}

const endpointsOf = (d: DaemonProcess, init: RequestInit = { headers: AUTH }): Promise<HttpAnswer> =>
  fetchAnswer(`${d.url}/api/v1/nodes/pbx1/endpoints`, { ...init, signal: AbortSignal.timeout(8000) });

const names = (a: HttpAnswer): string[] =>
  (a.body as { endpoints: Array<{ name: string }> }).endpoints.map((e) => e.name).sort();

async function asteriskEndpoints(): Promise<string[]> {
  const cli = await asteriskCli('pjsip show endpoints');
  return [...cli.matchAll(/^\s*Endpoint:\s+([^\s/<]+)/gm)].map((m) => m[1]).sort();
}

describe('cluster: per-node reads of a node watched elsewhere are forwarded to its watcher', () => {
  let redis: TestRedis;
  let probe: Redis;
  const daemons: DaemonProcess[] = [];
  let inAsterisk: string[];

  beforeAll(async () => {
    await sandboxUp();
    redis = await startRedis();
    probe = new Redis(redis.url, { maxRetriesPerRequest: 1, retryStrategy: () => 200 });
    inAsterisk = await asteriskEndpoints();
    daemons.push(
      ...(await Promise.all(
        [0, 1, 2].map(() =>
          startDaemonProcess({
            config: (port) => configYaml(redis.url, port),
            waitFor: 'live',
            readyTimeoutMs: 60_000,
          }),
        ),
      )),
    );
  }, 120_000);

  afterAll(async () => {
    await Promise.all(daemons.map((d) => d.stop()));
    probe?.disconnect();
    await redis?.stop();
  }, 60_000);

  /** The watcher of pbx1 (connected, its endpoints loaded) and the other live daemons. */
  const watcherOfPbx1 = async (live: DaemonProcess[]): Promise<{ owner: Member; others: Member[] }> => {
    const members = await Promise.all(live.map(memberOf));
    const owners = members.filter((m) => m.watching.includes('pbx1'));
    expect(owners).toHaveLength(1);
    const owner = owners[0];
    expect(await probe.hget('pbxpulse:lease:pbx1', 'owner')).toBe(owner.id);
    expect(names(await endpointsOf(owner.d))).toEqual(inAsterisk);
    return { owner, others: members.filter((m) => m !== owner) };
  };

  let owner: Member;
  let others: Member[];

  it("a non-watcher answers /endpoints with the watcher's answer (= Asterisk's), naming the watcher", async () => {
    expect(inAsterisk.length).toBeGreaterThan(0);
    ({ owner, others } = await expectEventually(() => watcherOfPbx1(daemons), 45_000, 500));
    // Each daemon advertises where it answers, with its heartbeat.
    for (const m of [owner, ...others]) expect(await probe.get(`pbxpulse:daemon:${m.id}`)).toBe(m.d.url);

    const fromOwner = await endpointsOf(owner.d);
    expect(fromOwner.headers.get(SERVED_BY)).toBe(owner.id);
    for (const other of others) {
      const forwarded = await endpointsOf(other.d);
      expect(forwarded.status).toBe(200);
      expect(forwarded.headers.get(SERVED_BY)).toBe(owner.id);
      expect(forwarded.headers.get('content-type')).toMatch(/^application\/json/);
      expect(names(forwarded)).toEqual(inAsterisk);
      expect(forwarded.body).toEqual(fromOwner.body);

      // Other node routes alike (query passed on), and the route's own answers: 401 without a token,
      // 404 for an unknown node, the watcher's 404 for an unknown endpoint.
      const one = await fetchAnswer(
        `${other.d.url}/api/v1/nodes/pbx1/endpoints/${SANDBOX.endpoints.deskPhone.name}`,
        { headers: AUTH },
      );
      expect([one.status, one.headers.get(SERVED_BY), one.body.endpoint?.name]).toEqual([
        200,
        owner.id,
        SANDBOX.endpoints.deskPhone.name,
      ]);
      const pjsip = await fetchAnswer(`${other.d.url}/api/v1/nodes/pbx1/pjsip/endpoints`, { headers: AUTH });
      expect(pjsip.status).toBe(200);
      expect(pjsip.headers.get(SERVED_BY)).toBe(owner.id);
      expect(pjsip.body).toEqual(
        (await fetchAnswer(`${owner.d.url}/api/v1/nodes/pbx1/pjsip/endpoints`, { headers: AUTH })).body,
      );
      expect((await endpointsOf(other.d, {})).status).toBe(401);
      expect(
        (await fetchAnswer(`${other.d.url}/api/v1/nodes/nope/endpoints`, { headers: AUTH })).status,
      ).toBe(404);
      const missing = await fetchAnswer(`${other.d.url}/api/v1/nodes/pbx1/endpoints/no-such-9`, {
        headers: AUTH,
      });
      expect([missing.status, missing.body.code, missing.headers.get(SERVED_BY)]).toEqual([
        404,
        'ENDPOINT_NOT_FOUND',
        owner.id,
      ]);
      const bad = await fetchAnswer(`${other.d.url}/api/v1/nodes/pbx1/endpoints?registred=true`, {
        headers: AUTH,
      });
      expect(bad.status).toBe(400);
    }
  }, 90_000);

  it('watcher SIGKILLed: 503 NODE_OWNER_UNREACHABLE until the takeover, then the new watcher answers', async () => {
    await owner.d.kill();
    const killedAt = Date.now();
    const survivors = others.map((m) => m.d);
    // Before the takeover (the dead daemon's lease lives up to 10 s): 503 with the code, never the
    // survivors' own empty stores.
    for (const d of survivors) {
      const res = await endpointsOf(d);
      expect(res.status).toBe(503);
      expect(res.body).toEqual({
        statusCode: 503,
        code: 'NODE_OWNER_UNREACHABLE',
        message: expect.stringMatching(/^node 'pbx1' cannot be read now: /),
      });
    }
    // Every answer during the takeover is either that 503 or Asterisk's endpoints: never a wrong list.
    let answers503 = 0;
    const wrong: string[] = [];
    const after = await expectEventually(
      async () => {
        for (const d of survivors) {
          const res = await endpointsOf(d);
          if (res.status === 503 && res.body?.code === 'NODE_OWNER_UNREACHABLE') answers503 += 1;
          else if (res.status !== 200 || names(res).join() !== inAsterisk.join()) {
            wrong.push(`${res.status} ${res.text.slice(0, 200)}`);
          }
        }
        return watcherOfPbx1(survivors);
      },
      25_000,
      250,
    );
    expect(wrong).toEqual([]);
    process.stdout.write(
      `cluster-routes: pbx1 served again ${Date.now() - killedAt} ms after SIGKILL (${answers503} answers 503 meanwhile)\n`,
    );
    // The new watcher answers; the other survivor forwards to it.
    expect(after.owner.id).not.toBe(owner.id);
    expect(after.others).toHaveLength(1);
    const forwarded = await endpointsOf(after.others[0].d);
    expect(forwarded.status).toBe(200);
    expect(forwarded.headers.get(SERVED_BY)).toBe(after.owner.id);
    expect(names(forwarded)).toEqual(inAsterisk);
  }, 60_000);

  it('never logs the forwarded token', () => {
    for (const d of daemons) expect(fs.readFileSync(d.logPath, 'utf8')).not.toContain(VIEWER);
  });
});
