import { fuzzAmi, fuzzSeed, settleHeap } from '../../test/support/fuzz';

/**
 * 10⁵ frames mutated from the recorded AMI streams (bytes flipped; CR, LF, colons and terminators
 * injected; ranges cut; fields renamed, duplicated, emptied or given odd values; other events' names
 * on them; a few oversized) through the real framer and normaliser, in random chunks of 1 byte to
 * 8 kB. The 10⁶ run is `BENCH_ONLY=ami-fuzz npm run bench`.
 */
describe('AMI framer and normaliser under fuzzed input', () => {
  it('10⁵ mutated frames: no exception, held bytes bounded by the frame limit, heap flat', async () => {
    const seed = fuzzSeed(20261206);
    await settleHeap();
    const heapBefore = process.memoryUsage().heapUsed;
    const maxFrameBytes = 64 * 1024;
    const r = fuzzAmi({ frames: 100_000, seed, maxFrameBytes });
    await settleHeap();
    const heapGrowthMb = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;

    // The seed is in every failure message: FUZZ_SEED=<seed> replays the run.
    expect({ seed, throws: r.throws, firstThrow: r.firstThrow }).toEqual({
      seed,
      throws: 0,
      firstThrow: undefined,
    });
    expect(r.frames).toBe(100_000);
    // The input really was mixed: frames refused, frames parsed, events normalised.
    expect(r.malformed).toBeGreaterThan(5_000);
    expect(r.messages).toBeGreaterThan(50_000);
    expect(r.events).toBeGreaterThan(10_000);
    // Bounded memory: the parser never holds more than one frame's limit plus one chunk.
    const held = { seed, maxHeldBytes: r.maxHeldBytes, limit: maxFrameBytes + 8192 + 4 };
    expect({ ...held, within: held.maxHeldBytes <= held.limit }).toMatchObject({ within: true });
    // Nothing is kept per frame: the heap after a full collection is where it started (±16 MB of noise).
    expect({ seed, heapGrowthMb, flat: heapGrowthMb < 16 }).toMatchObject({ flat: true });
  });
});
