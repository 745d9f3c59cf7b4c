import { PersistentMap } from './persistent-map';

describe('PersistentMap', () => {
  it('set/delete return new maps and leave the old ones untouched', () => {
    const a = PersistentMap.from<number>([
      ['x', 1],
      ['y', 2],
    ]);
    const b = a.set('z', 3).delete('x');
    expect([...a.entries()].sort()).toEqual([
      ['x', 1],
      ['y', 2],
    ]);
    expect([...b.entries()].sort()).toEqual([
      ['y', 2],
      ['z', 3],
    ]);
    expect([a.size, b.size]).toEqual([2, 2]);
    expect(b.get('z')).toBe(3);
    expect(b.has('x')).toBe(false);
  });

  it('returns itself when nothing changes', () => {
    const a = PersistentMap.from([['x', 1]]);
    expect(a.set('x', 1)).toBe(a);
    expect(a.delete('nope')).toBe(a);
    expect(PersistentMap.empty<number>().delete('x').size).toBe(0);
  });

  it('keeps size and content right over many keys (same key set twice counts once)', () => {
    let m = PersistentMap.empty<number>();
    for (let i = 0; i < 1000; i++) m = m.set(`k${i % 700}`, i);
    expect(m.size).toBe(700);
    expect(m.get('k5')).toBe(705);
    for (let i = 0; i < 700; i += 2) m = m.delete(`k${i}`);
    expect(m.size).toBe(350);
    expect([...m.keys()]).toHaveLength(350);
    expect([...m.values()].every((v) => (v % 700) % 2 === 1)).toBe(true);
  });
});
