import type { Response } from 'express';
import { EventBus } from '../events/event-bus';
import { NodeStateStore } from '../state/node-state.store';
import type { PbxpulseConfig } from '../config/config.types';
import { HealthController } from './health.controller';
import { ShutdownState } from './shutdown.state';

function setup() {
  const config = { nodes: [{ name: 'a' }, { name: 'b' }] } as unknown as PbxpulseConfig;
  const bus = new EventBus();
  const store = new NodeStateStore(config, bus);
  const shutdown = new ShutdownState();
  const controller = new HealthController(store, shutdown);
  let status = 0;
  const res = { status: (s: number) => ((status = s), res) } as unknown as Response;
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
  return { controller, shutdown, up, res, status: () => status };
}

describe('HealthController', () => {
  it('live is always ok', () => {
    expect(setup().controller.live().status).toBe('ok');
  });

  it('ready is 503 until every node has both links up, with per-node details', () => {
    const t = setup();
    t.up('a', 'ami');
    t.up('a', 'ari');
    t.up('b', 'ami', 'down', 'connection refused (127.0.0.1:5038)');
    t.up('b', 'ari');
    let body = t.controller.ready(t.res);
    expect(t.status()).toBe(503);
    expect(body.info['node:a']).toEqual({ status: 'up', ami: 'up', ari: 'up' });
    expect(body.error['node:b']).toEqual({
      status: 'down',
      ami: 'down',
      ari: 'up',
      amiError: 'connection refused (127.0.0.1:5038)',
    });
    t.up('b', 'ami');
    body = t.controller.ready(t.res);
    expect(t.status()).toBe(200);
    expect(body.status).toBe('ok');
  });

  it('ready is 503 once shutting down, even with every link up', () => {
    const t = setup();
    for (const n of ['a', 'b']) for (const l of ['ami', 'ari'] as const) t.up(n, l);
    t.shutdown.begin();
    const body = t.controller.ready(t.res);
    expect(t.status()).toBe(503);
    expect(body.error.daemon).toEqual({ status: 'down', message: 'shutting down' });
  });
});
