import { mapConcurrent, mapSliced, runSliced, yieldToEventLoop } from './slices';

/** A clock that advances `stepMs` each time it is read after a unit of work. */
function fakeClock(): { now: () => number; advance(ms: number): void } {
  let t = 0;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('runSliced', () => {
  it('pauses each time a slice has used its budget, and returns the generator value', async () => {
    const clock = fakeClock();
    let pauses = 0;
    function* work(): Generator<void, string, void> {
      for (let i = 0; i < 10; i++) {
        clock.advance(3); // each unit "takes" 3 ms
        yield;
      }
      return 'done';
    }
    const result = await runSliced(work(), {
      sliceMs: 8,
      now: clock.now,
      pause: () => {
        pauses++;
        return Promise.resolve();
      },
    });
    expect(result).toBe('done');
    // 3 units (9 ms) per slice: pauses after units 3, 6 and 9.
    expect(pauses).toBe(3);
  });

  it('never pauses when the work fits in one slice', async () => {
    let pauses = 0;
    function* work(): Generator<void, number, void> {
      yield;
      yield;
      return 2;
    }
    const r = await runSliced(work(), {
      now: () => 0,
      pause: () => {
        pauses++;
        return Promise.resolve();
      },
    });
    expect(r).toBe(2);
    expect(pauses).toBe(0);
  });

  it('lets a timer and an immediate queued meanwhile run between slices', async () => {
    const clock = fakeClock();
    const ran: string[] = [];
    function* work(): Generator<void, void, void> {
      setImmediate(() => ran.push('immediate'));
      for (let i = 0; i < 4; i++) {
        clock.advance(10);
        ran.push(`unit ${i}`);
        yield;
      }
    }
    await runSliced(work(), { sliceMs: 8, now: clock.now });
    // Without the yield the immediate would only run after every unit.
    expect(ran.indexOf('immediate')).toBe(1);
  });

  it('propagates a throw from the generator', async () => {
    // eslint-disable-next-line require-yield -- throws before its first step
    function* work(): Generator<void, void, void> {
      throw new Error('boom');
    }
    await expect(runSliced(work())).rejects.toThrow('boom');
  });
});

describe('mapSliced', () => {
  it('maps in order across pauses', async () => {
    const clock = fakeClock();
    const items = Array.from({ length: 50 }, (_, i) => i);
    let pauses = 0;
    const out = await mapSliced(
      items,
      (x) => {
        clock.advance(1);
        return x * 2;
      },
      {
        sliceMs: 10,
        now: clock.now,
        pause: () => {
          pauses++;
          return yieldToEventLoop();
        },
      },
    );
    expect(out).toEqual(items.map((x) => x * 2));
    expect(pauses).toBe(5);
  });
});

describe('mapConcurrent', () => {
  /** Calls that resolve when the test says so, to observe how many are in flight. */
  function deferredCalls(): {
    fn: (item: number) => Promise<number>;
    inFlight: () => number;
    started: number[];
    finish(item: number): void;
    fail(item: number, err: Error): void;
  } {
    const waiting = new Map<number, { resolve(v: number): void; reject(e: Error): void }>();
    const started: number[] = [];
    return {
      started,
      fn: (item) =>
        new Promise<number>((resolve, reject) => {
          started.push(item);
          waiting.set(item, { resolve, reject });
        }),
      inFlight: () => waiting.size,
      finish(item) {
        waiting.get(item)?.resolve(item * 10);
        waiting.delete(item);
      },
      fail(item, err) {
        waiting.get(item)?.reject(err);
        waiting.delete(item);
      },
    };
  }
  const flush = async (): Promise<void> => {
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };

  it('keeps at most `limit` calls in flight and answers in the order of the items', async () => {
    const d = deferredCalls();
    const items = [1, 2, 3, 4, 5, 6, 7];
    const done = mapConcurrent(items, 3, d.fn);
    await flush();
    expect(d.started).toEqual([1, 2, 3]);
    d.finish(2);
    await flush();
    expect(d.started).toEqual([1, 2, 3, 4]);
    expect(d.inFlight()).toBe(3);
    for (const i of [4, 3, 1, 5, 7, 6]) {
      d.finish(i);
      await flush();
      expect(d.inFlight()).toBeLessThanOrEqual(3);
    }
    await expect(done).resolves.toEqual(items.map((i) => i * 10));
  });

  it('rejects with the first error and starts nothing after it', async () => {
    const d = deferredCalls();
    const done = mapConcurrent([1, 2, 3, 4, 5], 2, d.fn);
    await flush();
    d.fail(1, new Error('lost'));
    await expect(done).rejects.toThrow('lost');
    d.finish(2);
    await flush();
    expect(d.started).toEqual([1, 2]);
  });

  it('answers an empty list for no items', async () => {
    await expect(mapConcurrent([], 8, () => Promise.resolve(1))).resolves.toEqual([]);
  });
});
