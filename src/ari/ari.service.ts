import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { hostname } from 'node:os';
import type { Subscription } from 'rxjs';
import { PBXPULSE_CONFIG } from '../config/config.module';
import type { PbxpulseConfig } from '../config/config.types';
import { NodeNotFoundError } from '../common/errors';
import { EventBus } from '../events/event-bus';
import type { LinkStatus } from '../events/pbx-events';
import { ResyncCoordinator } from '../state/resync.coordinator';
import { AriConnection } from './ari.connection';
import { normaliseAriEvent } from './ari.normaliser';

export interface AriLinkStats {
  reconnects: number;
  malformedMessages: number;
}

/** Nest glue: one supervised `AriConnection` per node, wired to the bus and the resync hook. */
@Injectable()
export class AriService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(AriService.name);
  private readonly connections = new Map<string, AriConnection>();
  private readonly subscriptions: Subscription[] = [];

  constructor(
    @Inject(PBXPULSE_CONFIG) config: PbxpulseConfig,
    private readonly bus: EventBus,
    private readonly resync: ResyncCoordinator,
  ) {
    const c = config.connections;
    // A dedicated app name per daemon instance: an app that already exists without subscribeAll would
    // keep its old subscription model, and a second daemon with the same name would steal our socket.
    const instance = `${hostname().replace(/[^A-Za-z0-9_-]/g, '')}-${process.pid}`;
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
      conn.onConnected = async () => {
        await this.resync.resync(node.name, 'ari');
      };
      this.connections.set(node.name, conn);
    }
    this.resync.register('ari', 'asterisk-info', (name) => this.refreshInfo(name).then(() => ({})));
    // Asterisk's last reload time moves on every reload: refresh it when AMI reports one.
    this.bus.on('module.reloaded', (e) => {
      this.refreshInfo(e.node).catch((err: Error) =>
        this.logger.debug(`${e.node}: info refresh failed: ${err.message}`),
      );
    });
  }

  onApplicationBootstrap(): void {
    for (const [node, conn] of this.connections) {
      let previous: LinkStatus = 'connecting';
      this.subscriptions.push(
        conn.status.changes.subscribe((s) => {
          this.bus.publish({
            type: 'node.connection_changed',
            node,
            link: 'ari',
            status: s.status,
            previous,
            error: s.lastError,
            ts: Date.now(),
            source: 'ari',
          });
          previous = s.status;
        }),
      );
      conn.start();
    }
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all([...this.connections.values()].map((c) => c.stop()));
    for (const s of this.subscriptions) s.unsubscribe();
  }

  /** The node's ARI link; unknown node → `NodeNotFoundError`. */
  connection(node: string): AriConnection {
    const conn = this.connections.get(node);
    if (!conn) throw new NodeNotFoundError(node);
    return conn;
  }

  stats(): Array<{ node: string; stats: AriLinkStats }> {
    return [...this.connections].map(([node, conn]) => ({
      node,
      stats: { reconnects: conn.reconnects, malformedMessages: conn.malformedMessages },
    }));
  }

  private async refreshInfo(node: string): Promise<void> {
    const info = await this.connection(node).getAsteriskInfo();
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
