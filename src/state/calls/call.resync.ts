import { Injectable, Logger } from '@nestjs/common';
import { AmiService } from '../../ami/ami.service';
import { AriService } from '../../ari/ari.service';
import { ResyncCoordinator } from '../resync.coordinator';
import { CallStore } from './call.store';

/**
 * Rebuilds the channel state after a (re)connect: `CoreShowChannels` on every AMI login (it carries
 * linkedids and bridge ids); ARI `GET /channels` (+ `GET /bridges`) after an ARI connect only while AMI
 * is not logged in. Ending a channel is idempotent, and the ARI step also skips while an AMI resync of
 * the node is in flight, so the two never both end the same ghost channels.
 */
@Injectable()
export class CallResync {
  private readonly logger = new Logger(CallResync.name);
  /** Nodes with an AMI channel resync in flight. */
  private readonly amiInFlight = new Set<string>();

  constructor(
    resync: ResyncCoordinator,
    private readonly store: CallStore,
    private readonly ami: AmiService,
    private readonly ari: AriService,
  ) {
    resync.register('ami', 'channels', (node) => this.fromAmi(node));
    resync.register('ari', 'channels', (node) => this.fromAri(node));
  }

  async fromAmi(node: string): Promise<Record<string, number>> {
    this.amiInFlight.add(node);
    try {
      const requestedAt = Date.now();
      const listed = await this.ami.pjsip(node).channels(requestedAt);
      return this.store.applyResync(node, 'ami', listed, requestedAt);
    } finally {
      this.amiInFlight.delete(node);
    }
  }

  async fromAri(node: string): Promise<Record<string, number>> {
    if (this.ami.pjsip(node).isUp || this.amiInFlight.has(node)) {
      this.logger.debug(`${node}: AMI is up, channels resync left to CoreShowChannels`);
      return {};
    }
    const requestedAt = Date.now();
    const listed = await this.ari
      .queries(node)
      .channels((err) => this.logger.debug(`${node}: GET /bridges failed during resync: ${err.message}`));
    // A second look at AMI: if it logged in meanwhile, its own resync (with linkedids) is authoritative.
    if (this.ami.pjsip(node).isUp || this.amiInFlight.has(node)) return {};
    return this.store.applyResync(node, 'ari', listed, requestedAt);
  }
}
