import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import type { Subscription } from 'rxjs';
import { PBXPULSE_CONFIG } from '../config/config.module';
import type { PbxpulseConfig } from '../config/config.types';
import { NodeNotFoundError } from '../common/errors';
import { EventBus } from '../events/event-bus';
import type { LinkStatus } from '../events/pbx-events';
import { ResyncCoordinator } from '../state/resync.coordinator';
import { AmiConnection, type AmiConnectionStats } from './ami.connection';
import { normaliseAmiEvent } from './ami.normaliser';

/** Nest glue: one supervised `AmiConnection` per node, wired to the bus and the resync hook. */
@Injectable()
export class AmiService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(AmiService.name);
  private readonly connections = new Map<string, AmiConnection>();
  private readonly subscriptions: Subscription[] = [];

  constructor(
    @Inject(PBXPULSE_CONFIG) config: PbxpulseConfig,
    private readonly bus: EventBus,
    private readonly resync: ResyncCoordinator,
  ) {
    const c = config.connections;
    for (const node of config.nodes) {
      const conn = new AmiConnection({
        node: node.name,
        host: node.ami.host,
        port: node.ami.port,
        username: node.ami.username,
        secret: node.ami.secret,
        reconnectInitialDelayMs: c.reconnectInitialDelayMs,
        reconnectMaxDelayMs: c.reconnectMaxDelayMs,
        actionTimeoutMs: c.actionTimeoutMs,
        connectTimeoutMs: c.connectTimeoutMs,
        keepaliveIntervalMs: c.keepaliveIntervalMs,
        maxFrameBytes: c.maxFrameBytes,
      });
      conn.onEvent = (msg) => {
        const event = normaliseAmiEvent(node.name, msg, Date.now());
        if (event) bus.publish(event);
      };
      conn.onMalformed = (reason) =>
        this.logger.debug(`${node.name}: skipped a malformed AMI frame (${reason})`);
      conn.onConnected = async () => {
        await this.resync.resync(node.name, 'ami');
      };
      this.connections.set(node.name, conn);
    }
    this.resync.register('ami', 'asterisk-version', (name) => this.readVersion(name));
  }

  onApplicationBootstrap(): void {
    for (const [node, conn] of this.connections) {
      let previous: LinkStatus = 'connecting';
      this.subscriptions.push(
        conn.status.changes.subscribe((s) => {
          this.bus.publish({
            type: 'node.connection_changed',
            node,
            link: 'ami',
            status: s.status,
            previous,
            error: s.lastError,
            ts: Date.now(),
            source: 'ami',
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

  /** The node's AMI link; unknown node → `NodeNotFoundError`. */
  connection(node: string): AmiConnection {
    const conn = this.connections.get(node);
    if (!conn) throw new NodeNotFoundError(node);
    return conn;
  }

  stats(): Array<{ node: string; stats: AmiConnectionStats }> {
    return [...this.connections].map(([node, conn]) => ({ node, stats: conn.stats }));
  }

  private async readVersion(node: string): Promise<Record<string, number>> {
    const settings = await this.connection(node).action('CoreSettings');
    const version = settings.fields.AsteriskVersion;
    if (version)
      this.bus.publish({ type: 'node.info_updated', node, version, ts: Date.now(), source: 'ami' });
    return {};
  }
}
