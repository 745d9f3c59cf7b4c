import type { ListedChannel } from '../common/pbx.records';
import type { AriConnection, AsteriskInfo } from './ari.connection';
import type { AriBridge, AriChannel } from './ari.messages';
import { ariChannelSnapshot } from './ari.normaliser';

export type { AsteriskInfo } from './ari.connection';

/** What the query surface needs of a node's ARI link (`AriConnection` has it; unit tests pass a fake). */
export type AriRequestLink = Pick<AriConnection, 'request' | 'getAsteriskInfo'>;

/**
 * The typed query surface of one node's ARI link, answering domain records. Errors are the link's typed
 * errors (`AriNotConnectedError`, `AriHttpError`, `AriProtocolError`).
 */
export class AriQueries {
  constructor(
    readonly node: string,
    private readonly link: AriRequestLink,
  ) {}

  /**
   * Every channel (`GET /channels`), with its bridge when `GET /bridges` answers. ARI channels carry no
   * linkedid on Asterisk 20–22. Bridges only add bridge ids: when that request fails the listing still
   * stands, with the bridge unknown (`undefined`) rather than "in none" (`null`).
   */
  async channels(onBridgesFailed?: (err: Error) => void): Promise<ListedChannel[]> {
    const channels = await this.link.request<AriChannel[]>('GET', '/channels');
    const bridges = await this.link.request<AriBridge[]>('GET', '/bridges').catch((err: Error) => {
      onBridgesFailed?.(err);
      return undefined;
    });
    const bridgeOf = new Map<string, string>();
    for (const b of bridges ?? []) for (const id of b.channels ?? []) bridgeOf.set(id, b.id);
    return (Array.isArray(channels) ? channels : []).map((c) =>
      listedFromAriChannel(c, bridges ? (bridgeOf.get(c.id) ?? null) : undefined),
    );
  }

  /**
   * Only these event types reach the app's events socket (`PUT /applications/{app}/eventFilter`). The
   * answer lists what Asterisk now allows.
   */
  async restrictEvents(app: string, types: readonly string[]): Promise<string[]> {
    const answer = await this.link.request<{ events_allowed?: Array<{ type?: string }> }>(
      'PUT',
      `/applications/${encodeURIComponent(app)}/eventFilter`,
      { body: { allowed: types.map((type) => ({ type })) } },
    );
    return (answer?.events_allowed ?? []).flatMap((e) => (typeof e.type === 'string' ? [e.type] : []));
  }

  /** `GET /asterisk/info`: version, startup and last reload times. */
  asteriskInfo(): Promise<AsteriskInfo> {
    return this.link.getAsteriskInfo();
  }
}

/** An ARI channel from `GET /channels`. */
export function listedFromAriChannel(c: AriChannel, bridgeId: string | null | undefined): ListedChannel {
  const snapshot = ariChannelSnapshot(c);
  const created = Date.parse(normaliseAriTime(c.creationtime));
  return { channel: snapshot, bridgeId, createdAt: Number.isNaN(created) ? undefined : created };
}

/** ARI writes `2026-11-23T11:34:52.864+0000`; `Date.parse` wants `+00:00`. */
function normaliseAriTime(raw: string | undefined): string {
  return (raw ?? '').replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
}
