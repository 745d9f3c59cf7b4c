import { LivenessWatch } from './liveness-watch';

describe('LivenessWatch', () => {
  beforeEach(() => jest.useFakeTimers({ now: 0 }));
  afterEach(() => jest.useRealTimers());

  const make = (deadAfterMs = 900) => {
    const probe = jest.fn();
    const dead = jest.fn();
    const watch = new LivenessWatch({ deadAfterMs, probe, dead });
    return { watch, probe, dead };
  };

  it('probes after a third of the budget of silence and declares the link dead at the budget, not later', () => {
    const { watch, probe, dead } = make(900);
    watch.start();
    jest.advanceTimersByTime(299);
    expect(probe).not.toHaveBeenCalled();
    jest.advanceTimersByTime(1);
    expect(probe).toHaveBeenCalledTimes(1);
    jest.advanceTimersByTime(599);
    expect(dead).not.toHaveBeenCalled();
    jest.advanceTimersByTime(1);
    // The verdict waits for this turn's pending reads (setImmediate): one more fake tick.
    expect(dead).not.toHaveBeenCalled();
    jest.advanceTimersByTime(1);
    expect(dead).toHaveBeenCalledWith(901);
    // Once: the link is gone.
    jest.advanceTimersByTime(10_000);
    expect(dead).toHaveBeenCalledTimes(1);
    expect(probe).toHaveBeenCalledTimes(1);
  });

  it('a link that keeps talking is never probed nor dropped', () => {
    const { watch, probe, dead } = make(900);
    watch.start();
    for (let i = 0; i < 100; i++) {
      jest.advanceTimersByTime(200);
      watch.seen();
    }
    expect(probe).not.toHaveBeenCalled();
    expect(dead).not.toHaveBeenCalled();
  });

  it('an answer to the probe restarts the budget; the next silence is probed again, in time', () => {
    const { watch, probe, dead } = make(900);
    watch.start();
    jest.advanceTimersByTime(300);
    expect(probe).toHaveBeenCalledTimes(1);
    jest.advanceTimersByTime(50);
    watch.seen(); // the Ping's answer at 350
    // No timer work per received byte: the pending check (due at 900) finds the new silence and probes
    // it, leaving a third of the budget for the answer.
    jest.advanceTimersByTime(549);
    expect(probe).toHaveBeenCalledTimes(1);
    jest.advanceTimersByTime(1); // 900
    expect(probe).toHaveBeenCalledTimes(2);
    jest.advanceTimersByTime(349);
    expect(dead).not.toHaveBeenCalled();
    jest.advanceTimersByTime(2); // 1250 = 350 + 900, then the deferred verdict
    expect(dead).toHaveBeenCalledWith(901);
  });

  it('a timer fired late by our own blocked loop lets pending reads land before judging', () => {
    const { watch, dead } = make(900);
    watch.start();
    // The deadline timer fires and finds the link silent; the data that queued while we were blocked is
    // read in the same turn, before the verdict.
    jest.advanceTimersByTime(900);
    expect(dead).not.toHaveBeenCalled(); // deferred to setImmediate
    watch.seen();
    jest.runOnlyPendingTimers();
    expect(dead).not.toHaveBeenCalled();
    jest.advanceTimersByTime(900);
    jest.runOnlyPendingTimers();
    expect(dead).toHaveBeenCalledTimes(1);
  });

  it('stop() cancels everything', () => {
    const { watch, probe, dead } = make(900);
    watch.start();
    watch.stop();
    jest.advanceTimersByTime(10_000);
    expect(probe).not.toHaveBeenCalled();
    expect(dead).not.toHaveBeenCalled();
  });

  it('a timer that fired late because our own loop was blocked probes again and waits a third before judging', () => {
    // A clock that jumps while no timer fires: what a blocked event loop looks like from inside.
    let blocked = 0;
    const probe = jest.fn();
    const dead = jest.fn();
    const watch = new LivenessWatch({ deadAfterMs: 900, probe, dead, now: () => Date.now() + blocked });
    watch.start();
    blocked = 2000;
    jest.advanceTimersByTime(300); // the first check, 2000 ms late by our clock
    jest.advanceTimersByTime(1);
    expect(dead).not.toHaveBeenCalled();
    expect(probe).toHaveBeenCalledTimes(1);
    watch.seen(); // the answer
    jest.advanceTimersByTime(800);
    expect(dead).not.toHaveBeenCalled();
    // A peer that then stays silent is still declared dead.
    jest.advanceTimersByTime(2000);
    expect(dead).toHaveBeenCalledTimes(1);
  });

  it('an answer in the same millisecond as the probe counts (a fast LAN peer is never dropped)', () => {
    const dead = jest.fn();
    let watch: LivenessWatch | undefined = undefined;
    const probe = jest.fn(() => watch?.seen()); // answered at once
    watch = new LivenessWatch({ deadAfterMs: 300, probe, dead });
    watch.start();
    jest.advanceTimersByTime(10_000);
    expect(probe.mock.calls.length).toBeGreaterThanOrEqual(30);
    expect(dead).not.toHaveBeenCalled();
  });
});
