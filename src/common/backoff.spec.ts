import { Backoff } from './backoff';

describe('Backoff', () => {
  it('doubles the ceiling per attempt up to the cap, with delays in [ceiling/2, ceiling]', () => {
    const low = new Backoff({ initialMs: 250, maxMs: 5000, random: () => 0 });
    const high = new Backoff({ initialMs: 250, maxMs: 5000, random: () => 0.999999 });
    const lows = Array.from({ length: 8 }, () => low.next());
    const highs = Array.from({ length: 8 }, () => high.next());
    expect(lows).toEqual([125, 250, 500, 1000, 2000, 2500, 2500, 2500]);
    expect(highs).toEqual([250, 500, 1000, 2000, 4000, 5000, 5000, 5000]);
  });

  it('never exceeds the cap however many attempts, and reset() starts over', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 700 });
    for (let i = 0; i < 200; i++) expect(b.next()).toBeLessThanOrEqual(700);
    expect(b.attempts).toBe(200);
    b.reset();
    expect(b.next()).toBeLessThanOrEqual(100);
  });
});
