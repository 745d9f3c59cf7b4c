import { Logger } from '@nestjs/common';

/**
 * How often at most a channel's `call.quality` delta goes out. Asterisk sends an RTCP report per
 * stream and way every few seconds; with thousands of calls that is thousands of reports a second, and
 * a viewer needs the latest figures, not each report.
 */
export const CALL_QUALITY_INTERVAL_MS = 1000;

/**
 * Keeps the latest value per (node, key) and hands each to `flushTo` once per interval: the first
 * `set` after a flush arms one timer, later ones replace the pending value. O(1) per `set`.
 */
export class LatestValueCoalescer<V> {
  private readonly logger = new Logger(LatestValueCoalescer.name);
  private pending = new Map<string, { node: string; value: V }>();
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly intervalMs: number,
    private readonly flushTo: (node: string, value: V) => void,
  ) {}

  set(node: string, key: string, value: V): void {
    if (this.stopped) return;
    this.pending.set(`${node}\u0000${key}`, { node, value });
    if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.intervalMs);
      // Pending viewer updates must not keep a stopping process alive.
      this.timer.unref();
    }
  }

  /** Forget a pending value (its subject is gone). */
  drop(node: string, key: string): void {
    this.pending.delete(`${node}\u0000${key}`);
  }

  get size(): number {
    return this.pending.size;
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = new Map();
    for (const { node, value } of batch.values()) {
      try {
        this.flushTo(node, value);
      } catch (err) {
        // Runs from a timer: an exception here would reach the process, not a caller.
        this.logger.error(
          `coalesced update (node ${node}) failed: ${(err as Error).message}`,
          (err as Error).stack,
        );
      }
    }
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending.clear();
  }
}
