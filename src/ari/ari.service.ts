import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { PBXPULSE_CONFIG } from '../config/config.module';
import type { PbxpulseConfig } from '../config/config.types';
import { NodeNotFoundError } from '../common/errors';
import { LinkServiceBase } from '../common/link-services';
import { EventBus } from '../events/event-bus';
import { AriConnection } from './ari.connection';
import { ARI_USED_EVENT_TYPES, normaliseAriEvent } from './ari.normaliser';
import { AriQueries } from './ari.queries';

export interface AriLinkStats {
  reconnects: number;
  malformedMessages: number;
}

/**
 * Nest glue: one supervised `AriConnection` per node, wired to the bus and the after-connect hooks.
 * Consumers query through `queries(node)`.
 */
@Injectable()
export class AriService
  extends LinkServiceBase<AriConnection>
  implements OnApplicationBootstrap, OnModuleDestroy
{
  private readonly logger = new Logger(AriService.name);

  private readonly surfaces = new Map<string, AriQueries>();

  constructor(@Inject(PBXPULSE_CONFIG) config: PbxpulseConfig, bus: EventBus) {
    super('ari', bus, config.cluster === undefined);
    const c = config.connections;
    // A dedicated app name per daemon instance: an app that already exists without subscribeAll would
    // keep its old subscription model, and a second daemon with the same name would steal our socket.
    // Host and pid say whose it is; the random tag keeps two daemons of one process (tests, an embedding
    // application) apart: sharing a name makes each replace the other's app in Asterisk.
    const instance = `${hostname().replace(/[^A-Za-z0-9_-]/g, '')}-${process.pid}-${randomBytes(3).toString('hex')}`;
    for (const node of config.nodes) {
      const conn = new AriConnection({
        node: node.name,
        url: node.ari.url,
        username: node.ari.username,
        password: node.ari.password,
        app: `pbxpulse-${node.name}-${instance}`,
        reconnectInitialDelayMs: c.reconnectInitialDelayMs,
        reconnectMaxDelayMs: c.reconnectMaxDelayMs,
        requestTimeoutMs: c.actionTimeoutMs,
        connectTimeoutMs: c.connectTimeoutMs,
        keepaliveIntervalMs: c.keepaliveIntervalMs,
      });
      conn.onMessage = (msg) => {
        const event = normaliseAriEvent(node.name, msg, Date.now());
        if (event) bus.publish(event);
      };
      conn.onConnected = () => this.runConnectedHooks(node.name);
      this.links.set(node.name, conn);
      this.surfaces.set(node.name, new AriQueries(node.name, conn));
    }
    this.onConnected('asterisk-info', (name) => this.refreshInfo(name));
    // An Asterisk without application event filters (before 16.x) sends everything: that works too.
    this.onConnected('event-filter', async (name) => {
      await this.queries(name).restrictEvents(this.connection(name).app, ARI_USED_EVENT_TYPES);
    });
    // Asterisk's last reload time moves on every reload: refresh it when AMI reports one.
    this.bus.on('module.reloaded', (e) => {
      this.refreshInfo(e.node).catch((err: Error) =>
        this.logger.debug(`${e.node}: info refresh failed: ${err.message}`),
      );
    });
  }

  stats(): Array<{ node: string; stats: AriLinkStats }> {
    return [...this.links].map(([node, conn]) => ({
      node,
      stats: { reconnects: conn.reconnects, malformedMessages: conn.malformedMessages },
    }));
  }

  /** The node's query surface; unknown node → `NodeNotFoundError`. */
  queries(node: string): AriQueries {
    const surface = this.surfaces.get(node);
    if (!surface) throw new NodeNotFoundError(node);
    return surface;
  }

  private async refreshInfo(node: string): Promise<void> {
    const info = await this.queries(node).asteriskInfo();
    this.bus.publish({
      type: 'node.info_updated',
      node,
      version: info.version,
      startupTime: info.startupTime,
      lastReloadTime: info.lastReloadTime,
      ts: Date.now(),
      source: 'ari',
    });
  }
}
