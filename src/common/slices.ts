/**
 * Long synchronous work over big PBX answers (10k endpoints, AORs, contacts) cut into slices of a few
 * milliseconds, with a turn of the event loop between slices, so that AMI reads, `/metrics` scrapes and
 * `/ws` clients are never held up for long by one diagnosis or one big list.
 */

/** Time budget of one slice, well under the 50 ms the daemon allows itself per block. */
export const SLICE_MS = 8;

export interface SliceOptions {
  /** Milliseconds of work before yielding (default `SLICE_MS`). */
  sliceMs?: number;
  /** Clock in ms (default `performance.now`); tests pass their own. */
  now?: () => number;
  /** How to give the loop its turn (default `setImmediate`, after pending I/O); tests count the calls. */
  pause?: () => Promise<void>;
}

/** A macrotask turn: timers and socket reads queued meanwhile run before the promise settles. */
export const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Drives a generator to completion, one `yield` per unit of work, pausing whenever a slice has used its
 * budget. The generator stays a pure function its synchronous callers can run straight through.
 */
export async function runSliced<R>(steps: Generator<unknown, R, void>, opts: SliceOptions = {}): Promise<R> {
  const sliceMs = opts.sliceMs ?? SLICE_MS;
  const now = opts.now ?? (() => performance.now());
  const pause = opts.pause ?? yieldToEventLoop;
  let sliceStart = now();
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    if (now() - sliceStart >= sliceMs) {
      await pause();
      sliceStart = now();
    }
  }
}

/** `items.map(fn)` in slices (see `runSliced`). */
export function mapSliced<T, U>(
  items: readonly T[],
  fn: (item: T) => U,
  opts: SliceOptions = {},
): Promise<U[]> {
  function* steps(): Generator<void, U[], void> {
    const out = new Array<U>(items.length);
    for (let i = 0; i < items.length; i++) {
      out[i] = fn(items[i]);
      yield;
    }
    return out;
  }
  return runSliced(steps(), opts);
}

/** `items.forEach(fn)` in slices (see `runSliced`). */
export function forEachSliced<T>(
  items: readonly T[],
  fn: (item: T) => void,
  opts: SliceOptions = {},
): Promise<void> {
  function* steps(): Generator<void, void, void> {
    for (const item of items) {
      fn(item);
      yield;
    }
  }
  return runSliced(steps(), opts);
}

/**
 * `fn` over every item with at most `limit` calls in flight; results in the order of `items`. The first
 * rejection rejects the whole (calls already started run to their end, none is started after it).
 */
export async function mapConcurrent<T, U>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<U>,
): Promise<U[]> {
  const out = new Array<U>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i], i);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}
