/** What a `LivenessWatch` calls. */
export interface LivenessWatchOptions {
  /** Silence (no byte received) after which the link is declared dead. */
  deadAfterMs: number;
  /** Ask the peer for a sign of life (AMI `Ping`, WebSocket ping). Called after a third of `deadAfterMs` of silence. */
  probe: () => void;
  /** The link has been silent for `silentMs` (at least `deadAfterMs`): drop it. Called once. */
  dead: (silentMs: number) => void;
  now?: () => number;
}

/**
 * Notices a dead link within a fixed time of its last sign of life, whatever killed it: a stalled
 * peer, a half-open socket (the peer vanished without FIN), a NAT that forgot the flow. Every received
 * chunk counts (`seen()`, a clock read, no timer work); after a third of the budget of silence the peer
 * is probed, and after the whole budget the link is declared dead. So a link is dropped `deadAfterMs`
 * after it went silent, not an interval plus a timeout later, and a busy link is never probed.
 *
 * When our own event loop was blocked, data may be waiting in the socket while the timer fires late:
 * the verdict is then taken once more after the pending reads of this loop turn (`setImmediate`), and a
 * timer that fired more than a third of the budget late (we, not the peer, were stalled: the peer may
 * not even have had our probe yet) probes again and grants that third before judging.
 */
export class LivenessWatch {
  private readonly now: () => number;
  private lastSeen = 0;
  /** Nothing has arrived since the last probe (a flag, not times: an answer may come in the same ms). */
  private awaitingAnswer = false;
  private timer?: NodeJS.Timeout;
  private dueAt = 0;
  /** After a stall of ours, no verdict before this. */
  private graceUntil = 0;
  private running = false;

  constructor(private readonly options: LivenessWatchOptions) {
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.stop();
    this.running = true;
    this.lastSeen = this.now();
    this.awaitingAnswer = false;
    this.graceUntil = 0;
    this.schedule();
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Something arrived from the peer. */
  seen(): void {
    this.lastSeen = this.now();
    this.awaitingAnswer = false;
  }

  private get probeAfterMs(): number {
    return Math.max(1, Math.floor(this.options.deadAfterMs / 3));
  }

  private schedule(): void {
    const next = Math.max(
      this.lastSeen + (this.awaitingAnswer ? this.options.deadAfterMs : this.probeAfterMs),
      this.graceUntil,
    );
    this.dueAt = next;
    this.timer = setTimeout(() => this.check(), Math.max(1, next - this.now()));
  }

  private check(): void {
    if (!this.running) return;
    const now = this.now();
    const silent = now - this.lastSeen;
    if (silent >= this.options.deadAfterMs && now - this.dueAt > this.probeAfterMs) {
      // We were stalled ourselves: ask again and give the peer a fair chance to answer.
      this.awaitingAnswer = true;
      this.graceUntil = now + this.probeAfterMs;
      this.options.probe();
      this.schedule();
      return;
    }
    if (silent >= this.options.deadAfterMs && now >= this.graceUntil) {
      // Let the poll phase of this turn deliver what may have queued while we were blocked.
      setImmediate(() => {
        if (!this.running) return;
        const still = this.now() - this.lastSeen;
        if (still >= this.options.deadAfterMs) {
          this.stop();
          this.options.dead(still);
        } else {
          this.schedule();
        }
      });
      return;
    }
    if (silent >= this.probeAfterMs && !this.awaitingAnswer) {
      this.awaitingAnswer = true;
      this.options.probe();
    }
    this.schedule();
  }
}
