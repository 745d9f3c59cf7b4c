import type { EventSource } from '../../events/pbx-events';

interface Pending {
  fingerprint: string;
  source: EventSource;
  ts: number;
  matched: boolean;
}

/**
 * Pairs each event with its copy from the other link. AMI and ARI report the same Asterisk events, on two
 * sockets that are not ordered with each other: without this, a late ARI copy of "contact created" that
 * arrives after AMI's "contact removed" would bring back a ghost. Idempotent reducers alone do not catch a
 * copy that arrives out of order; this drops it, whatever happened in between.
 *
 * An event is a late copy when an event with the same fingerprint from the *other* link is still
 * unpaired within `windowMs`. Events from the same link are never dropped (the reducers are idempotent
 * for those). With one link down nothing pairs, and unpaired entries expire.
 */
export class LinkDuplicates {
  private readonly byFingerprint = new Map<string, Pending[]>();
  private readonly fifo: Pending[] = [];
  private head = 0;

  constructor(
    private readonly windowMs = 5000,
    private readonly maxPending = 5000,
  ) {}

  /** `true`: the other link already delivered this event; drop it. Otherwise it is recorded. */
  isCopy(fingerprint: string, source: EventSource, ts: number): boolean {
    this.expire(ts);
    const list = this.byFingerprint.get(fingerprint);
    const twin = list?.find((p) => p.source !== source);
    if (list && twin) {
      twin.matched = true;
      list.splice(list.indexOf(twin), 1);
      if (list.length === 0) this.byFingerprint.delete(fingerprint);
      return true;
    }
    const entry: Pending = { fingerprint, source, ts, matched: false };
    if (list) list.push(entry);
    else this.byFingerprint.set(fingerprint, [entry]);
    this.fifo.push(entry);
    if (this.fifo.length - this.head > this.maxPending) this.drop(this.fifo[this.head++]);
    return false;
  }

  clear(): void {
    this.byFingerprint.clear();
    this.fifo.length = 0;
    this.head = 0;
  }

  private expire(now: number): void {
    while (this.head < this.fifo.length && now - this.fifo[this.head].ts > this.windowMs) {
      this.drop(this.fifo[this.head++]);
    }
    if (this.head > 1024 && this.head * 2 > this.fifo.length) {
      this.fifo.splice(0, this.head);
      this.head = 0;
    }
  }

  private drop(entry: Pending): void {
    if (entry.matched) return;
    const list = this.byFingerprint.get(entry.fingerprint);
    if (!list) return;
    const i = list.indexOf(entry);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.byFingerprint.delete(entry.fingerprint);
  }
}
