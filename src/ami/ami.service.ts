import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { PBXPULSE_CONFIG } from '../config/config.module';
import type { PbxpulseConfig } from '../config/config.types';
import { LinkServiceBase } from '../common/link-services';
import { EventBus } from '../events/event-bus';
import { ResyncCoordinator } from '../state/resync.coordinator';
import { AmiConnection, type AmiConnectionStats } from './ami.connection';
import { normaliseAmiEvent } from './ami.normaliser';

/** Nest glue: one supervised `AmiConnection` per node, wired to the bus and the resync hook. */
@Injectable()
export class AmiService
  extends LinkServiceBase<AmiConnection>
  implements OnApplicationBootstrap, OnModuleDestroy
{
  private readonly logger = new Logger(AmiService.name);

  constructor(
    @Inject(PBXPULSE_CONFIG) config: PbxpulseConfig,
    bus: EventBus,
    private readonly resync: ResyncCoordinator,
  ) {
    super('ami', bus);
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
      this.links.set(node.name, conn);
    }
    this.resync.register('ami', 'asterisk-version', (name) => this.readVersion(name));
  }

  stats(): Array<{ node: string; stats: AmiConnectionStats }> {
    return [...this.links].map(([node, conn]) => ({ node, stats: conn.stats }));
  }

  private async readVersion(node: string): Promise<Record<string, number>> {
    const settings = await this.connection(node).action('CoreSettings');
    const version = settings.fields.AsteriskVersion;
    if (version)
      this.bus.publish({ type: 'node.info_updated', node, version, ts: Date.now(), source: 'ami' });
    return {};
  }
}
