import { BehaviorSubject, distinctUntilChanged, type Observable } from 'rxjs';
import type { LinkStatus } from '../events/pbx-events';

/** A link's status with the time it was entered and the last error (never a secret). */
export interface LinkState {
  status: LinkStatus;
  since: Date;
  lastError?: string;
}

/**
 * Connection status as a replayed, de-duplicated stream: a late subscriber gets the current value at
 * once; repeating the same status is not a transition.
 */
export class StatusStream {
  private readonly subject: BehaviorSubject<LinkState>;

  constructor(initial: LinkStatus = 'down') {
    this.subject = new BehaviorSubject<LinkState>({ status: initial, since: new Date() });
  }

  get value(): LinkState {
    return this.subject.value;
  }

  get changes(): Observable<LinkState> {
    return this.subject.pipe(
      distinctUntilChanged((a, b) => a.status === b.status && a.lastError === b.lastError),
    );
  }

  /** Enter `status`. The `since` time only moves when the status itself changes. */
  set(status: LinkStatus, lastError?: string): void {
    const cur = this.subject.value;
    if (cur.status === status && cur.lastError === lastError) return;
    const since = cur.status === status ? cur.since : new Date();
    this.subject.next({
      status,
      since,
      lastError: lastError ?? (status === 'up' ? undefined : cur.lastError),
    });
  }

  complete(): void {
    this.subject.complete();
  }
}
