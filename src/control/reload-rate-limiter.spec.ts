import { ReloadRateLimiter } from './reload-rate-limiter';

describe('ReloadRateLimiter', () => {
  it('allows one reload per node per interval and says how long to wait', () => {
    let now = 1_000_000;
    const limiter = new ReloadRateLimiter(10_000, () => now);
    expect(limiter.acquire('pbx1')).toBe(0);
    now += 2_500;
    expect(limiter.acquire('pbx1')).toBe(7_500);
    now += 7_499;
    expect(limiter.acquire('pbx1')).toBe(1);
    now += 1;
    expect(limiter.acquire('pbx1')).toBe(0);
  });

  it('refused attempts do not extend the window', () => {
    let now = 0;
    const limiter = new ReloadRateLimiter(10_000, () => now);
    limiter.acquire('pbx1');
    now = 9_000;
    expect(limiter.acquire('pbx1')).toBe(1_000);
    now = 10_000;
    expect(limiter.acquire('pbx1')).toBe(0);
  });

  it('keeps nodes apart', () => {
    const limiter = new ReloadRateLimiter(10_000, () => 5);
    expect(limiter.acquire('pbx1')).toBe(0);
    expect(limiter.acquire('pbx2')).toBe(0);
    expect(limiter.acquire('pbx1')).toBeGreaterThan(0);
  });
});
