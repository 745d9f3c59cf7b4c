import type { SecurityEvent, SipAddress } from '../events/pbx-events';
import { cutAtCodePoint } from '../common/text';
import { isoTime } from './detection.common';

export type SecurityEventType = SecurityEvent['type'];

/** The AMI normaliser already cuts accounts to 256 characters; the log keeps that bound whoever publishes. */
const MAX_ACCOUNT_CHARS = 256;

/** The internal security event types, in API order. */
export const SECURITY_EVENT_TYPES: readonly SecurityEventType[] = [
  'auth.challenge_sent',
  'auth.succeeded',
  'auth.challenge_failed',
  'auth.account_unknown',
  'auth.acl_denied',
  'registrar.request_rejected',
];

/** One security event as `/security-events` returns it. */
export interface SecurityEventRecord {
  /** ISO time pbxpulse received the event. */
  time: string;
  type: SecurityEventType;
  /**
   * Asterisk's `AccountID`: the endpoint, `<unknown>`, or for `auth.account_unknown` the username the
   * client sent (attacker-controlled; JSON-encoded on output, never logged above debug).
   */
  account: string;
  remote: SipAddress | null;
  sessionId: string | null;
  /** `ACLName` of `auth.acl_denied`, `RequestType` of `registrar.request_rejected`. */
  reason?: string;
}

export interface SecurityEventQuery {
  /** Only events received at or after this time (ms since the epoch). */
  since?: number;
  types?: ReadonlySet<SecurityEventType>;
  /** Only events whose account is exactly this. */
  account?: string;
  limit: number;
}

interface Entry {
  ts: number;
  record: SecurityEventRecord;
}

/** A fixed-size ring of one node's most recent security events. */
class Ring {
  private readonly slots: Array<Entry | undefined>;
  private next = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    this.slots = new Array<Entry | undefined>(capacity);
  }

  push(entry: Entry): void {
    this.slots[this.next] = entry;
    this.next = (this.next + 1) % this.capacity;
    this.count = Math.min(this.count + 1, this.capacity);
  }

  get size(): number {
    return this.count;
  }

  /** Newest first. */
  *newestFirst(): Generator<Entry> {
    for (let i = 1; i <= this.count; i++) {
      const entry = this.slots[(this.next - i + this.capacity) % this.capacity];
      if (entry) yield entry;
    }
  }
}

/** Per node, the last `capacity` security events, normalised for the API. */
export class SecurityEventLog {
  private readonly rings = new Map<string, Ring>();
  private readonly capacity: number;

  constructor(capacity: number) {
    this.capacity = Math.max(1, Math.floor(capacity));
  }

  add(e: SecurityEvent): void {
    let ring = this.rings.get(e.node);
    if (!ring) {
      ring = new Ring(this.capacity);
      this.rings.set(e.node, ring);
    }
    ring.push({ ts: e.ts, record: toRecord(e) });
  }

  /** Matching events, newest first. Copies. */
  query(node: string, q: SecurityEventQuery): SecurityEventRecord[] {
    const out: SecurityEventRecord[] = [];
    const ring = this.rings.get(node);
    if (!ring || q.limit <= 0) return out;
    for (const { ts, record } of ring.newestFirst()) {
      // No early exit: the wall clock may step back, so receive times are not guaranteed to be sorted.
      if (q.since !== undefined && ts < q.since) continue;
      if (q.types && !q.types.has(record.type)) continue;
      if (q.account !== undefined && record.account !== q.account) continue;
      out.push(structuredClone(record));
      if (out.length >= q.limit) break;
    }
    return out;
  }

  size(node: string): number {
    return this.rings.get(node)?.size ?? 0;
  }
}

function toRecord(e: SecurityEvent): SecurityEventRecord {
  const record: SecurityEventRecord = {
    time: isoTime(Number.isFinite(e.ts) ? e.ts : 0),
    type: e.type,
    account: typeof e.account === 'string' ? cutAtCodePoint(e.account, MAX_ACCOUNT_CHARS) : '',
    remote: e.remote
      ? { transport: e.remote.transport, address: e.remote.address, port: e.remote.port }
      : null,
    sessionId: typeof e.sessionId === 'string' ? e.sessionId : null,
  };
  if (e.type === 'auth.acl_denied') record.reason = stringOr(e.aclName);
  if (e.type === 'registrar.request_rejected') record.reason = stringOr(e.requestType);
  return record;
}

function stringOr(v: unknown): string {
  return typeof v === 'string' ? v : '';
}
