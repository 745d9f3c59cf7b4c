import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { PBXPULSE_CONFIG } from '../config/config.module';
import type { PbxpulseConfig } from '../config/config.types';
import { NodeNotFoundError } from '../common/errors';
import { LinkServiceBase } from '../common/link-services';
import { EventBus } from '../events/event-bus';
import { AmiConnection, type AmiConnectionStats } from './ami.connection';
import { amiEventFilter, normaliseAmiEvent } from './ami.normaliser';
import { AmiPjsip } from './ami.pjsip';

/**
 * Nest glue: one supervised `AmiConnection` per node, wired to the bus and the after-connect hooks.
 * Consumers query and command through `pjsip(node)`, never through the connection.
 */
@Injectable()
export class AmiService
  extends LinkServiceBase<AmiConnection>
  implements OnApplicationBootstrap, OnModuleDestroy
{
  private readonly logger = new Logger(AmiService.name);
  private readonly surfaces = new Map<string, AmiPjsip>();

  constructor(@Inject(PBXPULSE_CONFIG) config: PbxpulseConfig, bus: EventBus) {
    super('ami', bus, config.cluster === undefined);
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
      conn.onConnected = () => this.runConnectedHooks(node.name);
      this.links.set(node.name, conn);
      this.surfaces.set(node.name, new AmiPjsip(node.name, conn));
    }
    this.onConnected('asterisk-version', (name) => this.readVersion(name));
    // Without `write = system` Asterisk refuses the filter: everything still works, at a higher cost.
    this.onConnected('event-filter', (name) => this.pjsip(name).filterEvents(amiEventFilter()));
  }

  /** The node's query and command surface; unknown node → `NodeNotFoundError`. */
  pjsip(node: string): AmiPjsip {
    const surface = this.surfaces.get(node);
    if (!surface) throw new NodeNotFoundError(node);
    return surface;
  }

  stats(): Array<{ node: string; stats: AmiConnectionStats }> {
    return [...this.links].map(([node, conn]) => ({ node, stats: conn.stats }));
  }

  private async readVersion(node: string): Promise<void> {
    const version = await this.pjsip(node).version();
    if (version)
      this.bus.publish({ type: 'node.info_updated', node, version, ts: Date.now(), source: 'ami' });
  }
}
