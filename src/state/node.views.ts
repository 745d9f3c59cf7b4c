import type { LinkStatus } from '../events/pbx-events';

/* What readers see of a node (REST, /ws, the board): plain types, no Nest, so the board's bundle can import them. */

export interface LinkView {
  status: LinkStatus;
  since: string;
  lastError: string | null;
}

export interface AsteriskView {
  version: string | null;
  startupTime: string | null;
  lastReloadTime: string | null;
}

export interface NodeView {
  name: string;
  ami: LinkView;
  ari: LinkView;
  asterisk: AsteriskView;
  /** Time of the last completed resync per link. */
  lastResync: { ami: string | null; ari: string | null };
}
