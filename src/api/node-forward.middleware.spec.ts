import {
  Controller,
  Get,
  type INestApplication,
  type MiddlewareConsumer,
  Module,
  type NestModule,
  Param,
  Query,
  UseGuards,
} from '@nestjs/common';
import { PATH_METADATA } from '@nestjs/common/constants';
import { Test } from '@nestjs/testing';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fetchAnswer } from '../../test/support/http';
import { ClusterService } from '../cluster/cluster.service';
import type { LeaseHolder } from '../cluster/lease.store';
import { PBXPULSE_CONFIG } from '../config/config.module';
import type { PbxpulseConfig } from '../config/config.types';
import { NodeOwnership } from '../state/node-ownership';
import { NodeStateStore } from '../state/node-state.store';
import { ApiErrorsModule, ApiModule, NODE_READ_CONTROLLERS } from './api.module';
import { FORWARDED_BY_HEADER, NodeForwardMiddleware, SERVED_BY_HEADER } from './node-forward.middleware';
import { ViewerGuard } from './viewer.guard';

const SELF = 'host-a-1-aaaaaa';
const OWNER = 'host-b-2-bbbbbb';
const VIEWER = 'viewer-token-fwd-9c1';

/** A node route answered from this daemon's own stores: what must never answer for a node watched elsewhere. */
@Controller('api/v1/nodes/:node')
@UseGuards(ViewerGuard)
class LocalReadController {
  calls = 0;

  @Get('endpoints')
  endpoints(@Param('node') node: string, @Query('registered') registered?: string): unknown {
    this.calls += 1;
    return { from: 'local', node, registered };
  }
}

const holderOf = jest.fn<Promise<LeaseHolder | undefined>, [string]>();
const config = {
  auth: { viewerToken: VIEWER },
  connections: { actionTimeoutMs: 400 },
  nodes: [{ name: 'pbx1' }, { name: 'pbx2' }],
  cluster: { redis: 'redis://127.0.0.1:6379' },
} as unknown as PbxpulseConfig;
const ownership = new NodeOwnership(config);
/** The last AMI resync of every node, as the state store has it. */
const resync: { ami: string | null } = { ami: null };

@Module({
  controllers: [LocalReadController],
  providers: [
    ViewerGuard,
    { provide: PBXPULSE_CONFIG, useValue: config },
    { provide: NodeOwnership, useValue: ownership },
    { provide: ClusterService, useValue: { daemonId: SELF, holderOf } },
    { provide: NodeStateStore, useValue: { get: () => ({ lastResync: resync }) } },
  ],
})
class ForwardedModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(NodeForwardMiddleware).forRoutes(LocalReadController);
  }
}

/** The watcher's HTTP server: records what it received, answers as `reply` says. */
class OwnerServer {
  readonly received: Array<{ url: string; headers: IncomingHttpHeaders }> = [];
  reply: { status: number; type: string; body: string; delayMs?: number } = {
    status: 200,
    type: 'application/json; charset=utf-8',
    body: '{"endpoints":[{"name":"1001"}]}',
  };
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly server: Server = createServer((req, res) => {
    this.received.push({ url: req.url ?? '', headers: req.headers });
    const { status, type, body, delayMs } = this.reply;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      res.writeHead(status, { 'content-type': type }).end(body);
    }, delayMs ?? 0);
    this.timers.add(timer);
  });

  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

describe('NodeForwardMiddleware (cluster mode, node-scoped reads)', () => {
  let app: INestApplication;
  let url: string;
  let owner: OwnerServer;
  let ownerUrl: string;
  let local: LocalReadController;
  const auth = { authorization: `Bearer ${VIEWER}` };
  const unreachable = (message: RegExp): object => ({
    status: 503,
    body: { statusCode: 503, code: 'NODE_OWNER_UNREACHABLE', message: expect.stringMatching(message) },
  });

  beforeAll(async () => {
    owner = new OwnerServer();
    ownerUrl = await owner.start();
    const moduleRef = await Test.createTestingModule({
      imports: [ApiErrorsModule, ForwardedModule],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(app.getHttpServer() as { address(): { port: number } }).address().port}`;
    local = app.get(LocalReadController);
  });

  afterAll(async () => {
    await app?.close();
    await owner.stop();
  });

  beforeEach(() => {
    holderOf.mockReset();
    holderOf.mockResolvedValue({ daemon: OWNER, url: ownerUrl });
    owner.received.length = 0;
    owner.reply = {
      status: 200,
      type: 'application/json; charset=utf-8',
      body: '{"endpoints":[{"name":"1001"}]}',
    };
    local.calls = 0;
    ownership.setWatched('pbx1', true);
    ownership.setWatched('pbx2', false);
    resync.ami = new Date(Date.now() + 1000).toISOString();
  });

  it('answers 503 for a node it watches but has not resynced since it took it over, never an empty list', async () => {
    resync.ami = null;
    const never = await fetchAnswer(`${url}/api/v1/nodes/pbx1/endpoints`, { headers: auth });
    expect(never).toMatchObject(unreachable(new RegExp(`its watcher ${SELF} has not loaded it yet`)));
    resync.ami = new Date(Date.parse(ownership.watchedSince('pbx1')!) - 1).toISOString();
    const before = await fetchAnswer(`${url}/api/v1/nodes/pbx1/endpoints`, { headers: auth });
    expect(before.status).toBe(503);
    expect(local.calls).toBe(0);
  });

  it('answers a watched node from its own stores, naming itself as the server, without asking Redis', async () => {
    const res = await fetchAnswer(`${url}/api/v1/nodes/pbx1/endpoints`, { headers: auth });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ from: 'local', node: 'pbx1' });
    expect(res.headers.get(SERVED_BY_HEADER)).toBe(SELF);
    expect(holderOf).not.toHaveBeenCalled();
    expect(owner.received).toEqual([]);
  });

  it("forwards a node watched elsewhere to its watcher (same path, query, token) and relays the watcher's answer", async () => {
    const res = await fetchAnswer(`${url}/api/v1/nodes/pbx2/endpoints?registered=true`, { headers: auth });
    expect(res.status).toBe(200);
    expect(res.text).toBe('{"endpoints":[{"name":"1001"}]}');
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(res.headers.get(SERVED_BY_HEADER)).toBe(OWNER);
    expect(holderOf).toHaveBeenCalledWith('pbx2');
    expect(local.calls).toBe(0);
    expect(owner.received).toHaveLength(1);
    expect(owner.received[0].url).toBe('/api/v1/nodes/pbx2/endpoints?registered=true');
    expect(owner.received[0].headers.authorization).toBe(`Bearer ${VIEWER}`);
    expect(owner.received[0].headers[FORWARDED_BY_HEADER]).toBe(SELF);
  });

  it("relays the watcher's errors as they are (it is authoritative)", async () => {
    owner.reply = {
      status: 404,
      type: 'application/json; charset=utf-8',
      body: '{"statusCode":404,"code":"ENDPOINT_NOT_FOUND","message":"unknown endpoint \'9\' on node \'pbx2\'"}',
    };
    const res = await fetchAnswer(`${url}/api/v1/nodes/pbx2/endpoints`, { headers: auth });
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ code: 'ENDPOINT_NOT_FOUND' });
    expect(res.headers.get(SERVED_BY_HEADER)).toBe(OWNER);
  });

  it('answers 503 NODE_OWNER_UNREACHABLE while nobody holds the node, never its local stores', async () => {
    holderOf.mockResolvedValue(undefined);
    const res = await fetchAnswer(`${url}/api/v1/nodes/pbx2/endpoints`, { headers: auth });
    expect(res).toMatchObject(unreachable(/^node 'pbx2' .*no daemon watches it now \(takeover under way\)/));
    expect(local.calls).toBe(0);
  });

  it('answers 503 when Redis does not answer, or the holder is this daemon still taking the node over', async () => {
    holderOf.mockRejectedValue(new Error('Connection is closed.'));
    expect(await fetchAnswer(`${url}/api/v1/nodes/pbx2/endpoints`, { headers: auth })).toMatchObject(
      unreachable(/Redis does not answer/),
    );
    holderOf.mockResolvedValue({ daemon: SELF, url: 'http://127.0.0.1:1' });
    expect(await fetchAnswer(`${url}/api/v1/nodes/pbx2/endpoints`, { headers: auth })).toMatchObject(
      unreachable(/taking it over/),
    );
    expect(local.calls).toBe(0);
  });

  it('answers 503 when the watcher refuses the connection, has no fresh heartbeat, or is too slow', async () => {
    holderOf.mockResolvedValue({ daemon: OWNER, url: 'http://127.0.0.1:1' });
    expect(await fetchAnswer(`${url}/api/v1/nodes/pbx2/endpoints`, { headers: auth })).toMatchObject(
      unreachable(new RegExp(`its watcher ${OWNER} did not answer`)),
    );
    holderOf.mockResolvedValue({ daemon: OWNER, url: undefined });
    expect(await fetchAnswer(`${url}/api/v1/nodes/pbx2/endpoints`, { headers: auth })).toMatchObject(
      unreachable(/heartbeat expired/),
    );
    holderOf.mockResolvedValue({ daemon: OWNER, url: ownerUrl });
    owner.reply = { ...owner.reply, delayMs: 1500 };
    const started = Date.now();
    expect(await fetchAnswer(`${url}/api/v1/nodes/pbx2/endpoints`, { headers: auth })).toMatchObject(
      unreachable(/did not answer within 400 ms/),
    );
    expect(Date.now() - started).toBeLessThan(1500);
    expect(local.calls).toBe(0);
  });

  it('never forwards a forwarded request again (no loops): 503 instead', async () => {
    const res = await fetchAnswer(`${url}/api/v1/nodes/pbx2/endpoints`, {
      headers: { ...auth, [FORWARDED_BY_HEADER]: OWNER },
    });
    expect(res).toMatchObject(unreachable(/forwarded request reached a daemon that no longer watches it/));
    expect(holderOf).not.toHaveBeenCalled();
    expect(owner.received).toEqual([]);
  });

  it('leaves unknown nodes and requests without a valid token to the route (404 / 401 here, nothing sent on)', async () => {
    expect((await fetchAnswer(`${url}/api/v1/nodes/pbx2/endpoints`)).status).toBe(401);
    expect(
      (await fetchAnswer(`${url}/api/v1/nodes/pbx2/endpoints`, { headers: { authorization: 'Bearer nope' } }))
        .status,
    ).toBe(401);
    const unknown = await fetchAnswer(`${url}/api/v1/nodes/pbx9/endpoints`, { headers: auth });
    expect(unknown.body).toEqual({ from: 'local', node: 'pbx9' });
    expect(holderOf).not.toHaveBeenCalled();
    expect(owner.received).toEqual([]);
  });

  it('passes the token given as ?token= on in the query', async () => {
    const res = await fetchAnswer(`${url}/api/v1/nodes/pbx2/endpoints?token=${VIEWER}`);
    expect(res.status).toBe(200);
    expect(owner.received[0].url).toBe(`/api/v1/nodes/pbx2/endpoints?token=${VIEWER}`);
    expect(owner.received[0].headers.authorization).toBeUndefined();
  });
});

describe('ApiModule: where forwarding applies', () => {
  const consumer = (): { apply: jest.Mock; forRoutes: jest.Mock } => {
    const c = { apply: jest.fn(), forRoutes: jest.fn() };
    c.apply.mockReturnValue(c);
    return c;
  };

  it('a single daemon never enters the forwarding path', () => {
    const c = consumer();
    new ApiModule({ nodes: [] } as unknown as PbxpulseConfig).configure(c);
    expect(c.apply).not.toHaveBeenCalled();
  });

  it('a cluster daemon forwards the node-scoped read controllers', () => {
    const c = consumer();
    new ApiModule({ cluster: { redis: 'redis://x' } } as unknown as PbxpulseConfig).configure(c);
    expect(c.apply).toHaveBeenCalledWith(NodeForwardMiddleware);
    expect(c.forRoutes).toHaveBeenCalledWith(...NODE_READ_CONTROLLERS);
  });

  it('NODE_READ_CONTROLLERS are exactly the controllers under /api/v1/nodes/:node with GET routes only', () => {
    const controllers = Reflect.getMetadata('controllers', ApiModule) as Array<new (...a: never[]) => object>;
    const nodeScoped = controllers.filter((c) =>
      String(Reflect.getMetadata(PATH_METADATA, c)).startsWith('api/v1/nodes/:node'),
    );
    expect(new Set(nodeScoped)).toEqual(new Set(NODE_READ_CONTROLLERS));
    for (const c of NODE_READ_CONTROLLERS) {
      const methods = Object.getOwnPropertyNames(c.prototype)
        .filter((m) => m !== 'constructor')
        .map(
          (m) =>
            Reflect.getMetadata('method', (c.prototype as unknown as Record<string, object>)[m]) as unknown,
        )
        .filter((m) => m !== undefined);
      expect(methods.length).toBeGreaterThan(0);
      // RequestMethod.GET is 0: a POST under a node (control) must never be forwarded by this path.
      expect(new Set(methods)).toEqual(new Set([0]));
    }
  });
});
