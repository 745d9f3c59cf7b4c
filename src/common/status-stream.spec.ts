import { StatusStream } from './status-stream';

describe('StatusStream', () => {
  it('replays the current value and drops repeats', () => {
    const s = new StatusStream('connecting');
    const seen: string[] = [];
    s.set('down', 'refused');
    const sub = s.changes.subscribe((v) => seen.push(`${v.status}:${v.lastError ?? ''}`));
    s.set('down', 'refused');
    s.set('down', 'timeout');
    s.set('up');
    s.set('up');
    sub.unsubscribe();
    expect(seen).toEqual(['down:refused', 'down:timeout', 'up:']);
  });

  it('moves `since` only when the status itself changes', () => {
    const s = new StatusStream('down');
    s.set('down', 'a');
    const since = s.value.since;
    s.set('down', 'b');
    expect(s.value.since).toBe(since);
    s.set('up');
    expect(s.value.since).not.toBe(since);
  });
});
