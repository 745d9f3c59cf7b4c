/** Milliseconds since the epoch; injected so tests drive time. */
export type ControlClock = () => number;

/** Injection token of the control clock (`Date.now` in the daemon). */
export const CONTROL_CLOCK = Symbol('CONTROL_CLOCK');

/**
 * At most one reload per node per `minIntervalMs`, whatever the module (a reload of any module takes
 * Asterisk's reload lock, so they contend with each other). An attempt that reached Asterisk counts,
 * even if Asterisk refused it.
 */
export class ReloadRateLimiter {
  private readonly last = new Map<string, number>();

  constructor(
    private readonly minIntervalMs: number,
    private readonly now: ControlClock,
  ) {}

  /** Takes the node's slot and returns 0, or returns the milliseconds until the slot frees up. */
  acquire(node: string): number {
    const t = this.now();
    const previous = this.last.get(node);
    if (previous !== undefined && t - previous < this.minIntervalMs) {
      return this.minIntervalMs - (t - previous);
    }
    this.last.set(node, t);
    return 0;
  }
}
