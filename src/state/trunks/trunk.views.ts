import type { ContactStatus } from '../../events/pbx-events';

/** `reachable`: a contact answers OPTIONS; `unreachable`: none does; `unknown`: not qualified (yet). */
export type TrunkReachability = 'reachable' | 'unreachable' | 'unknown';

export const TRUNK_REACHABILITIES: readonly TrunkReachability[] = ['reachable', 'unreachable', 'unknown'];

/** One permanent `contact=` of a trunk's AOR, as Asterisk last qualified it. */
export interface TrunkContactView {
  aor: string;
  /** The configured URI (operator configuration: shown in the API, never a metric label). */
  uri: string;
  status: Exclude<ContactStatus, 'removed'>;
  /** Qualify round trip in milliseconds while reachable, else null. */
  rttMs: number | null;
}

/**
 * A trunk that does not register: an endpoint whose AOR has permanent `contact=` entries and
 * `qualify_frequency` > 0 (Asterisk sends them OPTIONS).
 */
export interface TrunkView {
  endpoint: string;
  reachability: TrunkReachability;
  /** Smallest round trip of its reachable contacts, in milliseconds; null when none is reachable. */
  rttMs: number | null;
  /** ISO time the reachability last changed (or was first seen). */
  since: string;
  /** The largest `qualify_frequency` of its trunk AORs, in seconds. */
  qualifyFrequency: number;
  contacts: TrunkContactView[];
}

export interface TrunkReader {
  trunks(node: string): TrunkView[];
}
