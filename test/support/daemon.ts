import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { GatewayWsAdapter } from '../../src/gateway/gateway.ws-adapter';
import { AppModule } from '../../src/app.module';
import { setupOpenApi } from '../../src/api/openapi';
import { parseConfig } from '../../src/config/config.loader';
import type { PbxpulseConfig } from '../../src/config/config.types';
import { EventBus } from '../../src/events/event-bus';
import type { PbxEvent } from '../../src/events/pbx-events';
import { SANDBOX } from './sandbox';
import { bearer, fetchAnswer } from './http';

/** A pbxpulse daemon running in this process on a free port, with every bus event recorded. */
export interface TestDaemon {
  app: INestApplication;
  config: PbxpulseConfig;
  url: string;
  events: PbxEvent[];
  get(path: string, token?: string): Promise<{ status: number; body: any; text: string }>;
  close(): Promise<void>;
}

/** YAML for one node pointing at the sandbox, with an overridable AMI secret. */
export function sandboxNodeYaml(
  name: string,
  opts: { amiSecret?: string; amiPort?: number; ariUrl?: string } = {},
): string {
  return [
    `  - name: ${name}`,
    `    ami: { host: ${SANDBOX.amiHost}, port: ${opts.amiPort ?? SANDBOX.amiPort}, username: ${SANDBOX.amiUser}, secret: "${opts.amiSecret ?? SANDBOX.amiSecret}" }`,
    `    ari: { url: "${opts.ariUrl ?? SANDBOX.ariUrl}", username: ${SANDBOX.ariUser}, password: "${SANDBOX.ariPassword}" }`,
  ].join('\n');
}

/** `port` (default: a free one) lets a test restart a daemon where its clients expect it. */
/**
 * A configuration whose nodes point at 127.0.0.1:1, where nothing listens: the daemon runs with every
 * link down, which is all that routes, the gateway transport or the OpenAPI document need.
 */
export function offlineConfig(opts: { nodes?: readonly string[]; extraYaml?: string } = {}): PbxpulseConfig {
  const nodes = (opts.nodes ?? ['a']).map(
    (name) =>
      `  - { name: ${name}, ami: { host: 127.0.0.1, port: 1, username: u, secret: s }, ari: { url: "http://127.0.0.1:1", username: u, password: p } }`,
  );
  const text = ['http: { host: 127.0.0.1 }', opts.extraYaml ?? '', 'nodes:', ...nodes].join('\n');
  return parseConfig(text, { source: '<test>', env: {} });
}

export async function startDaemon(
  nodesYaml: string,
  extraYaml = '',
  opts: { port?: number } = {},
): Promise<TestDaemon> {
  const text = ['http: { host: 127.0.0.1, port: 9630 }', extraYaml, 'nodes:', nodesYaml].join('\n');
  const config = parseConfig(text, { source: '<test>', env: {} });
  const app = await NestFactory.create(AppModule.forRoot(config), { logger: ['error'] });
  app.useWebSocketAdapter(new GatewayWsAdapter(app));
  setupOpenApi(app);
  const events: PbxEvent[] = [];
  app.get(EventBus).subscribe((e) => events.push(e));
  await app.listen(opts.port ?? 0, '127.0.0.1');
  const server = app.getHttpServer() as { address(): { port: number } };
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    app,
    config,
    url,
    events,
    async get(path, token) {
      const { status, body, text } = await fetchAnswer(url + path, { headers: bearer(token) });
      return { status, body, text };
    },
    close: () => app.close(),
  };
}
