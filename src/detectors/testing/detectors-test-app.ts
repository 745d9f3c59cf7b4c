import { Global, type INestApplication, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Registry } from 'prom-client';
import { ApiErrorsModule } from '../../api/api.module';
import { ConfigModule } from '../../config/config.module';
import { parseConfig } from '../../config/config.loader';
import { EventBus } from '../../events/event-bus';
import { EventsModule } from '../../events/events.module';
import type { PbxEvent } from '../../events/pbx-events';
import { METRICS_REGISTRY } from '../../metrics/metrics.registry';
import {
  ENDPOINT_DETAIL_CONTRIBUTORS,
  EndpointDetailRegistry,
} from '../../state/registrations/endpoint-detail';
import { REGISTRATION_READER, type RegistrationReader } from '../../state/registrations/registration.views';
import { NodeStateStore } from '../../state/node-state.store';
import { StateModule } from '../../state/state.module';
import { AlertsController } from '../../api/alerts.controller';
import { SecurityEventsController } from '../../api/security-events.controller';
import { ViewerGuard } from '../../api/viewer.guard';
import { DetectionMetrics } from '../../metrics/detection.metrics';
import { MetricsController } from '../../metrics/metrics.controller';
import { DetectorsModule } from '../detectors.module';
import { bearer, fetchAnswer } from '../../../test/support/http';

export interface DetectorsTestApp {
  app: INestApplication;
  bus: EventBus;
  registry: Registry;
  /** Every bus event, in order. */
  events: PbxEvent[];
  url: string;
  get(
    path: string,
    token?: string,
  ): Promise<{ status: number; body: unknown; text: string; contentType: string | null }>;
  close(): Promise<void>;
}

/**
 * The DetectorsModule with its real services, routes and metrics, a real bus and node store, a fresh
 * registry and the given registration reader; no AMI/ARI adapters (tests publish events themselves).
 */
export async function createDetectorsApp(reader: RegistrationReader, yaml = ''): Promise<DetectorsTestApp> {
  const config = parseConfig(
    [
      yaml,
      'nodes:',
      '  - name: pbx1',
      '    ami: { host: 127.0.0.1, username: u, secret: s }',
      '    ari: { url: "http://127.0.0.1:1", username: u, password: p }',
      '  - name: pbx2',
      '    ami: { host: 127.0.0.1, username: u, secret: s }',
      '    ari: { url: "http://127.0.0.1:1", username: u, password: p }',
    ].join('\n'),
    { source: '<test>', env: {} },
  );
  const registry = new Registry();

  @Global()
  @Module({ providers: [{ provide: METRICS_REGISTRY, useValue: registry }], exports: [METRICS_REGISTRY] })
  class TestRegistryModule {}

  /** Stands in for the StateModule: the given reader, a real node store, no adapters. */
  @Module({
    providers: [
      { provide: REGISTRATION_READER, useValue: reader },
      { provide: ENDPOINT_DETAIL_CONTRIBUTORS, useClass: EndpointDetailRegistry },
      NodeStateStore,
    ],
    exports: [REGISTRATION_READER, ENDPOINT_DETAIL_CONTRIBUTORS, NodeStateStore],
  })
  class TestStateModule {}

  // The detectors' routes and metrics, as the ApiModule and MetricsModule serve them.
  @Module({
    imports: [TestStateModule, DetectorsModule, ApiErrorsModule],
    controllers: [AlertsController, SecurityEventsController, MetricsController],
    providers: [ViewerGuard, DetectionMetrics],
  })
  class DetectorRoutesModule {}

  const moduleRef = await Test.createTestingModule({
    imports: [ConfigModule.forRoot(config), EventsModule, TestRegistryModule, DetectorRoutesModule],
  })
    .overrideModule(StateModule)
    .useModule(TestStateModule)
    .compile();
  const app = moduleRef.createNestApplication({ logger: ['error'] });
  const bus = app.get(EventBus);
  const events: PbxEvent[] = [];
  bus.subscribe((e) => events.push(e));
  await app.listen(0, '127.0.0.1');
  const server = app.getHttpServer() as { address(): { port: number } };
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    app,
    bus,
    registry,
    events,
    url,
    async get(path, token) {
      const answer = await fetchAnswer(url + path, { headers: bearer(token) });
      const body: unknown = answer.body;
      return {
        status: answer.status,
        body,
        text: answer.text,
        contentType: answer.headers.get('content-type'),
      };
    },
    close: () => app.close(),
  };
}
