/** Reconnect delays: exponential with full jitter, capped, forever. */
export interface BackoffOptions {
  /** First delay ceiling in ms. */
  initialMs: number;
  /** Cap in ms (config `reconnect.maxDelayMs`, default 5000). */
  maxMs: number;
  /** Random source in [0, 1); injectable for tests. */
  random?: () => number;
}

/** `initialMs` doubled `attempt` times (0: `initialMs`), capped at `maxMs`. */
export function doubledDelay(initialMs: number, maxMs: number, attempt: number): number {
  return Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
}

export class Backoff {
  private attempt = 0;
  private readonly random: () => number;

  constructor(private readonly options: BackoffOptions) {
    this.random = options.random ?? Math.random;
  }

  /**
   * The next delay: a random value in [ceiling/2, ceiling], where the ceiling doubles per attempt up to
   * the cap. Half-jitter keeps retries spread out without ever retrying immediately in a loop.
   */
  next(): number {
    const ceiling = doubledDelay(this.options.initialMs, this.options.maxMs, this.attempt);
    this.attempt += 1;
    return Math.round(ceiling / 2 + this.random() * (ceiling / 2));
  }

  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}
