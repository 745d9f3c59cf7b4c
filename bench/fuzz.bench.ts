/* eslint-disable no-console -- a benchmark reports on stdout */
/**
 * `BENCH_ONLY=fuzz npm run bench`: the long fuzz run. 10⁶ AMI frames mutated from the recorded streams
 * through the real framer and normaliser at random chunk boundaries (test/support/fuzz.ts; the unit
 * test runs 10⁵ of them), then 10⁵ mutated ARI event messages through the real parser and normaliser.
 * Prints the seed (FUZZ_SEED=<seed> replays it), rates, what was refused, the parser's largest held
 * bytes and the heap along the way. Fails (exit 1) on any exception or a badly typed ARI event.
 * No Asterisk needed. Knobs: BENCH_FUZZ_FRAMES (1000000), BENCH_FUZZ_ARI (100000), FUZZ_SEED.
 */
import { join } from 'node:path';
import { fuzzAmi, fuzzAri, fuzzSeed, settleHeap } from '../test/support/fuzz';

// Run from dist-bench/bench/ (tsconfig.bench.json), two levels below the repository.
const FIXTURES = join(__dirname, '..', '..', 'test', 'fixtures');
const FRAMES = Number(process.env.BENCH_FUZZ_FRAMES ?? 1_000_000);
const ARI_MESSAGES = Number(process.env.BENCH_FUZZ_ARI ?? 100_000);
const SLICE = 100_000;
const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MB`;

async function main(): Promise<void> {
  const seed = fuzzSeed();
  console.log(`seed ${seed} (FUZZ_SEED=${seed} replays this run)`);
  await settleHeap();
  const heapStart = process.memoryUsage().heapUsed;
  let peakHeap = heapStart;
  let peakRss = process.memoryUsage().rss;
  const total = {
    frames: 0,
    bytes: 0,
    chunks: 0,
    messages: 0,
    malformed: 0,
    events: 0,
    throws: 0,
    maxHeld: 0,
  };
  let firstThrow: string | undefined;
  const started = process.hrtime.bigint();
  // Slices of 10⁵ (each its own parser session and seed) so the heap can be sampled along the way.
  for (let done = 0, slice = 0; done < FRAMES; done += SLICE, slice++) {
    const r = fuzzAmi({
      frames: Math.min(SLICE, FRAMES - done),
      seed: (seed + slice) >>> 0,
      fixturesDir: FIXTURES,
    });
    total.frames += r.frames;
    total.bytes += r.bytes;
    total.chunks += r.chunks;
    total.messages += r.messages;
    total.malformed += r.malformed;
    total.events += r.events;
    total.throws += r.throws;
    total.maxHeld = Math.max(total.maxHeld, r.maxHeldBytes);
    firstThrow ??= r.firstThrow;
    const mem = process.memoryUsage();
    peakHeap = Math.max(peakHeap, mem.heapUsed);
    peakRss = Math.max(peakRss, mem.rss);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await settleHeap();
  const heapEnd = process.memoryUsage().heapUsed;

  console.log(
    `AMI: ${total.frames} mutated frames (${mb(total.bytes)} in ${total.chunks} chunks) in ${seconds.toFixed(1)} s ` +
      `(${Math.round(total.frames / seconds)} frames/s): ${total.messages} messages, ${total.malformed} refused ` +
      `as malformed/oversized, ${total.events} internal events, ${total.throws} exceptions`,
  );
  console.log(
    `AMI memory: parser held at most ${total.maxHeld} bytes between chunks; heap ${mb(heapStart)} at the start, ` +
      `peak ${mb(peakHeap)} (sampled every ${SLICE} frames, not settled), ${mb(heapEnd)} settled at the end ` +
      `(${mb(heapEnd - heapStart)} kept); peak RSS ${mb(peakRss)}`,
  );

  const ariStarted = process.hrtime.bigint();
  const ari = fuzzAri({ messages: ARI_MESSAGES, seed });
  const ariSeconds = Number(process.hrtime.bigint() - ariStarted) / 1e9;
  await settleHeap();
  console.log(
    `ARI: ${ari.messages} mutated messages in ${ariSeconds.toFixed(1)} s: ${ari.malformed} refused as malformed, ` +
      `${ari.events} internal events, ${ari.throws} exceptions, ${ari.badlyTyped} events with a non-string id; ` +
      `heap ${mb(process.memoryUsage().heapUsed)} settled`,
  );

  if (firstThrow) console.log(`first AMI exception: ${firstThrow}`);
  if (ari.firstThrow) console.log(`first ARI exception: ${ari.firstThrow}`);
  if (ari.firstBadlyTyped) console.log(`first badly typed ARI event: ${ari.firstBadlyTyped}`);
  if (total.throws > 0 || ari.throws > 0 || ari.badlyTyped > 0) process.exit(1);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
