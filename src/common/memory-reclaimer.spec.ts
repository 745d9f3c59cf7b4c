import {
  MemoryReclaimer,
  exposedGc,
  processProbe,
  type GcFunction,
  type MemoryProbe,
} from './memory-reclaimer';

const MB = 1024 * 1024;

function fakes(heap: { used: number; total: number; busy: number }) {
  const calls: number[] = [];
  const gc: GcFunction = () => {
    calls.push(heap.total);
    heap.total = heap.used + 8 * MB;
    return Promise.resolve();
  };
  const probe: MemoryProbe = {
    heapUsed: () => heap.used,
    heapTotal: () => heap.total,
    loopUtilisation: () => heap.busy,
  };
  return { gc, probe, calls };
}

describe('MemoryReclaimer', () => {
  it('collects an idle heap that grew well past its live set, once, until it grows again', async () => {
    const heap = { used: 40 * MB, total: 400 * MB, busy: 0.05 };
    const { gc, probe, calls } = fakes(heap);
    const r = new MemoryReclaimer(gc, probe, { maxUtilisation: 0.5, minGarbageBytes: 64 * MB });
    await expect(r.check()).resolves.toBe(true);
    await expect(r.check()).resolves.toBe(false); // 48 MB total, 40 MB live: nothing to gain
    heap.total = 90 * MB;
    await expect(r.check()).resolves.toBe(false); // 50 MB above the live set: under the threshold
    heap.total = 200 * MB;
    await expect(r.check()).resolves.toBe(true);
    expect(calls).toEqual([400 * MB, 200 * MB]);
    expect(r.collections).toBe(2);
  });

  it('leaves a busy loop alone (a resync or a storm in progress allocates what it needs)', async () => {
    const heap = { used: 40 * MB, total: 400 * MB, busy: 0.9 };
    const { gc, probe, calls } = fakes(heap);
    await expect(new MemoryReclaimer(gc, probe).check()).resolves.toBe(false);
    expect(calls).toEqual([]);
  });

  it('does nothing without a collector', async () => {
    const r = new MemoryReclaimer(undefined, fakes({ used: 0, total: 400 * MB, busy: 0 }).probe);
    expect(r.available).toBe(false);
    await expect(r.check()).resolves.toBe(false);
  });

  it("frees real garbage through V8's collector without --expose-gc on the command line", async () => {
    const gc = exposedGc();
    expect(gc).toBeDefined();
    const makeGarbage = (): number => {
      const garbage: Array<{ i: number; s: string }> = [];
      for (let i = 0; i < 1_500_000; i++) garbage.push({ i, s: `value-${i}` });
      return process.memoryUsage().heapUsed;
    };
    const withGarbage = makeGarbage();
    const r = new MemoryReclaimer(gc, { ...processProbe(), loopUtilisation: () => 0 });
    await expect(r.check()).resolves.toBe(true);
    const after = process.memoryUsage().heapUsed;
    expect(withGarbage - after).toBeGreaterThan(60 * MB);
  });
});
