import { type INestApplication, Logger, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ApiErrorsModule } from '../api/api.module';
import { ConfigModule } from '../config/config.module';
import { parseConfig } from '../config/config.loader';
import { EventBus } from '../events/event-bus';
import { EventsModule } from '../events/events.module';
import { NodeStateStore } from '../state/node-state.store';
import { StateModule } from '../state/state.module';
import { type HttpAnswer, fetchAnswer } from '../../test/support/http';
import { HealthModule } from './health.module';
import { ShutdownState } from './shutdown.state';

/** Stands in for the StateModule: the node store alone; tests publish the adapters' link events themselves. */
@Module({ providers: [NodeStateStore], exports: [NodeStateStore] })
class NodeStoreModule {}

/** The HealthModule with terminus, the real node store and bus, served over HTTP; no adapters. */
async function setup() {
  const config = parseConfig(
    [
      'nodes:',
      '  - { name: a, ami: { host: 127.0.0.1, username: u, secret: s }, ari: { url: "http://127.0.0.1:1", username: u, password: p } }',
      '  - { name: b, ami: { host: 127.0.0.1, username: u, secret: s }, ari: { url: "http://127.0.0.1:1", username: u, password: p } }',
    ].join('\n'),
    { source: '<test>', env: {} },
  );
  const moduleRef = await Test.createTestingModule({
    imports: [ConfigModule.forRoot(config), EventsModule, HealthModule, ApiErrorsModule],
  })
    .overrideModule(StateModule)
    .useModule(NodeStoreModule)
    .compile();
  const app: INestApplication = moduleRef.createNestApplication({ logger: false });
  await app.listen(0, '127.0.0.1');
  const url = `http://127.0.0.1:${(app.getHttpServer() as { address(): { port: number } }).address().port}`;
  const bus = app.get(EventBus);
  const up = (node: string, link: 'ami' | 'ari', s: 'up' | 'down' = 'up', error?: string) =>
    bus.publish({
      type: 'node.connection_changed',
      node,
      link,
      status: s,
      previous: 'connecting',
      error,
      ts: Date.now(),
      source: link,
    });
  const get = (path: string): Promise<HttpAnswer> => fetchAnswer(url + path);
  return { app, shutdown: app.get(ShutdownState), up, get };
}

describe('HealthController', () => {
  let t: Awaited<ReturnType<typeof setup>>;
  beforeEach(async () => {
    t = await setup();
  });
  afterEach(() => t.app.close());

  it('live is always ok', async () => {
    const live = await t.get('/health/live');
    expect(live.body.status).toBe('ok');
    expect(live).toMatchObject({
      status: 200,
      body: {
        status: 'ok',
        info: { process: { status: 'up' } },
        error: {},
        details: { process: { status: 'up' } },
      },
    });
  });

  it('live stays 200 while ready is 503', async () => {
    expect((await t.get('/health/ready')).status).toBe(503);
    expect((await t.get('/health/live')).status).toBe(200);
  });

  it('ready is 503 until every node has both links up, with per-node details', async () => {
    t.up('a', 'ami');
    t.up('a', 'ari');
    t.up('b', 'ami', 'down', 'connection refused (127.0.0.1:5038)');
    t.up('b', 'ari');
    let res = await t.get('/health/ready');
    let body = res.body;
    expect(res.status).toBe(503);
    expect(body.info['node:a']).toEqual({ status: 'up', ami: 'up', ari: 'up' });
    expect(body.error['node:b']).toEqual({
      status: 'down',
      ami: 'down',
      ari: 'up',
      amiError: 'connection refused (127.0.0.1:5038)',
    });
    t.up('b', 'ami');
    res = await t.get('/health/ready');
    body = res.body;
    expect(res.status).toBe(200);
    expect(body.status).toBe('ok');
  });

  it('ready is 503 before the first login, each link `connecting` and down', async () => {
    const res = await t.get('/health/ready');
    expect(res.status).toBe(503);
    expect(res.body.status).toBe('error');
    expect(res.body.error['node:a']).toEqual({ status: 'down', ami: 'connecting', ari: 'connecting' });
    expect(res.body.error['ami:a']).toEqual({
      status: 'down',
      state: 'connecting',
      since: expect.any(String),
      lastError: null,
    });
    expect(res.body.info).toEqual({ daemon: { status: 'up' } });
  });

  it('reports each link with its state, since when and last error', async () => {
    t.up('a', 'ami');
    t.up('a', 'ari', 'down', "ARI authentication failed (401) for user 'u'");
    const { body } = await t.get('/health/ready');
    expect(body.info['ami:a']).toEqual({
      status: 'up',
      state: 'up',
      since: expect.any(String),
      lastError: null,
    });
    expect(body.error['ari:a']).toEqual({
      status: 'down',
      state: 'down',
      since: expect.any(String),
      lastError: "ARI authentication failed (401) for user 'u'",
    });
    expect(new Date(body.error['ari:a'].since as string).getTime()).toBeGreaterThan(Date.now() - 60_000);
    // details holds every indicator, up or down (terminus lists the up ones first).
    expect(Object.keys(body.details).sort()).toEqual(
      ['daemon', 'node:a', 'ami:a', 'ari:a', 'node:b', 'ami:b', 'ari:b'].sort(),
    );
  });

  it('ready is 503 once shutting down, even with every link up', async () => {
    for (const n of ['a', 'b']) for (const l of ['ami', 'ari'] as const) t.up(n, l);
    expect((await t.get('/health/ready')).status).toBe(200);
    t.shutdown.begin();
    const res = await t.get('/health/ready');
    const body = res.body;
    expect(res.status).toBe(503);
    expect(body.error.daemon).toEqual({ status: 'down', message: 'shutting down' });
  });

  it('a failing check logs nothing (a probe every few seconds would flood the log)', async () => {
    const logged = jest.spyOn(Logger.prototype, 'error');
    try {
      expect((await t.get('/health/ready')).status).toBe(503);
      expect(logged).not.toHaveBeenCalled();
    } finally {
      logged.mockRestore();
    }
  });

  it('answers are never cached', async () => {
    for (const path of ['/health/live', '/health/ready']) {
      expect((await t.get(path)).headers.get('cache-control')).toBe('no-cache, no-store, must-revalidate');
    }
  });
});
