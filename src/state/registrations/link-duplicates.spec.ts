import { LinkDuplicates } from './link-duplicates';

describe('LinkDuplicates', () => {
  it("pairs an event with the other link's copy once, in either order", () => {
    const d = new LinkDuplicates(1000);
    expect(d.isCopy('a', 'ami', 0)).toBe(false);
    expect(d.isCopy('a', 'ari', 10)).toBe(true);
    // Already paired: a third one is a new occurrence.
    expect(d.isCopy('a', 'ari', 20)).toBe(false);
    expect(d.isCopy('a', 'ami', 30)).toBe(true);
  });

  it('never drops a repeat from the same link', () => {
    const d = new LinkDuplicates(1000);
    expect(d.isCopy('a', 'ami', 0)).toBe(false);
    expect(d.isCopy('a', 'ami', 1)).toBe(false);
    expect(d.isCopy('a', 'ari', 2)).toBe(true);
    expect(d.isCopy('a', 'ari', 3)).toBe(true);
    expect(d.isCopy('a', 'ari', 4)).toBe(false);
  });

  it('forgets unpaired events after the window (the other link was down)', () => {
    const d = new LinkDuplicates(1000);
    expect(d.isCopy('a', 'ami', 0)).toBe(false);
    expect(d.isCopy('a', 'ari', 1001)).toBe(false);
  });

  it('stays bounded under a storm', () => {
    const d = new LinkDuplicates(60_000, 100);
    for (let i = 0; i < 1000; i++) d.isCopy(`k${i}`, 'ami', i);
    expect(d.isCopy('k0', 'ari', 1000)).toBe(false);
    expect(d.isCopy('k999', 'ari', 1000)).toBe(true);
  });
});
