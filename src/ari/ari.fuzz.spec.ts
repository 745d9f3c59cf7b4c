import { fuzzAri, fuzzSeed, settleHeap } from '../../test/support/fuzz';

/**
 * 3·10⁴ ARI event messages mutated from the shapes Asterisk 22 sends (a key removed, a value of the
 * wrong type, another event's `type`, truncated or garbled JSON, deep nesting) through the real
 * parser and normaliser: ≥ 10⁴ of them malformed.
 */
describe('ARI parser and normaliser under fuzzed input', () => {
  it('no exception; malformed messages refused (counted by the connection); no junk types in events', async () => {
    const seed = fuzzSeed(20261206);
    await settleHeap();
    const heapBefore = process.memoryUsage().heapUsed;
    const r = fuzzAri({ messages: 30_000, seed });
    await settleHeap();
    const heapGrowthMb = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;

    expect({ seed, throws: r.throws, firstThrow: r.firstThrow }).toEqual({
      seed,
      throws: 0,
      firstThrow: undefined,
    });
    // Before the shape checks, `{"type":"ChannelCreated","channel":{"id":5,…}}` put a number id into state.
    expect({ seed, badlyTyped: r.badlyTyped, first: r.firstBadlyTyped }).toEqual({
      seed,
      badlyTyped: 0,
      first: undefined,
    });
    expect(r.malformed).toBeGreaterThanOrEqual(10_000);
    expect(r.events).toBeGreaterThan(1_000);
    expect({ seed, heapGrowthMb, flat: heapGrowthMb < 16 }).toMatchObject({ flat: true });
  });
});
