import { Injectable, Logger } from '@nestjs/common';
import { channelSnapshot } from '../../ami/ami.normaliser';
import type { AmiMessage } from '../../ami/ami.message';
import { AmiService } from '../../ami/ami.service';
import type { AriBridge, AriChannel } from '../../ari/ari.messages';
import { ariChannelSnapshot } from '../../ari/ari.normaliser';
import { AriService } from '../../ari/ari.service';
import { ResyncCoordinator } from '../resync.coordinator';
import type { ListedChannel } from './call.reducers';
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
      // Write class system or reporting; answers an empty list (not an Error) when there are none.
      const list = await this.ami.connection(node).listAction('CoreShowChannels');
      const listed = list.items.flatMap((m) => {
        const item = listedFromCoreShowChannel(m, requestedAt);
        return item ? [item] : [];
      });
      return this.store.applyResync(node, 'ami', listed, requestedAt);
    } finally {
      this.amiInFlight.delete(node);
    }
  }

  async fromAri(node: string): Promise<Record<string, number>> {
    if (this.ami.connection(node).isUp || this.amiInFlight.has(node)) {
      this.logger.debug(`${node}: AMI is up, channels resync left to CoreShowChannels`);
      return {};
    }
    const requestedAt = Date.now();
    const conn = this.ari.connection(node);
    const channels = await conn.request<AriChannel[]>('GET', '/channels');
    // Bridges only add bridge ids; without them the listing still stands.
    const bridges = await conn.request<AriBridge[]>('GET', '/bridges').catch((err: Error) => {
      this.logger.debug(`${node}: GET /bridges failed during resync: ${err.message}`);
      return undefined;
    });
    // A second look at AMI: if it logged in meanwhile, its own resync (with linkedids) is authoritative.
    if (this.ami.connection(node).isUp || this.amiInFlight.has(node)) return {};
    const bridgeOf = new Map<string, string>();
    for (const b of bridges ?? []) for (const id of b.channels ?? []) bridgeOf.set(id, b.id);
    const listed = (Array.isArray(channels) ? channels : []).map((c) =>
      listedFromAriChannel(c, bridges ? (bridgeOf.get(c.id) ?? null) : undefined),
    );
    return this.store.applyResync(node, 'ari', listed, requestedAt);
  }
}

/**
 * A `CoreShowChannel` list item: the channel snapshot fields plus `BridgeId` (empty when in no bridge)
 * and `Duration` (`HH:MM:SS` since the channel was created).
 */
export function listedFromCoreShowChannel(m: AmiMessage, now: number): ListedChannel | undefined {
  if (m.fields.Event !== 'CoreShowChannel') return undefined;
  const channel = channelSnapshot(m.fields);
  if (!channel) return undefined;
  const seconds = durationSeconds(m.fields.Duration);
  return {
    channel,
    bridgeId: m.fields.BridgeId ? m.fields.BridgeId : null,
    createdAt: seconds === undefined ? undefined : now - seconds * 1000,
  };
}

/** An ARI channel from `GET /channels` (no linkedid on Asterisk 20–22). */
export function listedFromAriChannel(c: AriChannel, bridgeId: string | null | undefined): ListedChannel {
  const snapshot = ariChannelSnapshot(c);
  const created = Date.parse(normaliseAriTime(c.creationtime));
  return { channel: snapshot, bridgeId, createdAt: Number.isNaN(created) ? undefined : created };
}

function durationSeconds(raw: string | undefined): number | undefined {
  const m = raw === undefined ? null : /^(\d+):(\d{2}):(\d{2})$/.exec(raw);
  if (!m) return undefined;
  return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
}

/** ARI writes `2026-11-23T11:34:52.864+0000`; `Date.parse` wants `+00:00`. */
function normaliseAriTime(raw: string | undefined): string {
  return (raw ?? '').replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
}
