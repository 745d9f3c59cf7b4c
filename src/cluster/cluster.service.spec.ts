import { hostname } from 'node:os';
import { Registry } from 'prom-client';
import type { AmiService } from '../ami/ami.service';
import type { AriService } from '../ari/ari.service';
import type { PbxpulseConfig } from '../config/config.types';
import { NodeOwnership } from '../state/node-ownership';
import { ClusterService } from './cluster.service';

function serviceWith(cluster: PbxpulseConfig['cluster']): ClusterService {
  const config = {
    http: { host: '0.0.0.0', port: 9641 },
    connections: {
      reconnectInitialDelayMs: 250,
      reconnectMaxDelayMs: 5000,
      actionTimeoutMs: 10_000,
      connectTimeoutMs: 5000,
    },
    nodes: [{ name: 'pbx1' }],
    cluster,
  } as unknown as PbxpulseConfig;
  // Nothing connects before onApplicationBootstrap: no Redis, AMI or ARI is touched here.
  return new ClusterService(
    config,
    {} as AmiService,
    {} as AriService,
    new NodeOwnership(config),
    new Registry(),
  );
}

describe('ClusterService.advertiseUrl (stored with the heartbeat; other daemons forward node reads there)', () => {
  it('defaults to http://<hostname>:<http.port>', () => {
    expect(serviceWith({ redis: 'redis://127.0.0.1:6379' }).advertiseUrl).toBe(`http://${hostname()}:9641`);
  });

  it('is cluster.advertiseUrl when set', () => {
    expect(
      serviceWith({ redis: 'redis://127.0.0.1:6379', advertiseUrl: 'https://pbxpulse-2.internal:9630' })
        .advertiseUrl,
    ).toBe('https://pbxpulse-2.internal:9630');
  });

  it('a single daemon knows no lease holder (it never forwards)', async () => {
    await expect(serviceWith(undefined).holderOf('pbx1')).resolves.toBeUndefined();
  });
});
