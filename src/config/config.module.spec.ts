import { Inject, Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ConfigModule, PBXPULSE_CONFIG } from './config.module';
import type { PbxpulseConfig } from './config.types';

const CONFIG: PbxpulseConfig = {
  http: { host: '127.0.0.1', port: 9630 },
  auth: {},
  connections: {
    reconnectInitialDelayMs: 250,
    reconnectMaxDelayMs: 5000,
    actionTimeoutMs: 10000,
    connectTimeoutMs: 5000,
    keepaliveIntervalMs: 15000,
    maxFrameBytes: 1048576,
  },
  state: { reconcileIntervalMs: 60000 },
  detection: {
    authLoopThreshold: 3,
    authLoopWindowMs: 60000,
    authLoopQuietMs: 120000,
    aorNotFoundWindowMs: 300000,
    outboundRegistrationFailingMs: 120000,
    trunkUnreachableMs: 60000,
    securityEventBuffer: 1000,
    oneWayAudioMs: 15000,
  },
  gateway: { maxBufferedBytes: 1048576, replayBuffer: 10000, heartbeatIntervalMs: 30000 },
  control: { reloadMinIntervalMs: 10000 },
  log: { format: 'auto', level: 'log' },
  metrics: { perEndpoint: { mode: 'active', maxEndpoints: 1000 } },
  nodes: [],
  source: '<embedded>',
};

@Injectable()
class NeedsConfig {
  constructor(@Inject(PBXPULSE_CONFIG) readonly config: PbxpulseConfig) {}
}

// A feature module that does not import ConfigModule: the config must still reach it.
@Module({ providers: [NeedsConfig] })
class FeatureModule {}

describe('ConfigModule', () => {
  it('provides the given configuration globally under PBXPULSE_CONFIG', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [ConfigModule.forRoot(CONFIG), FeatureModule],
    }).compile();
    expect(moduleRef.get(PBXPULSE_CONFIG)).toBe(CONFIG);
    expect(moduleRef.get(NeedsConfig).config).toBe(CONFIG);
    await moduleRef.close();
  });
});
