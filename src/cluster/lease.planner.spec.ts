import { type PlanInput, planLeases } from './lease.planner';

const NODES = ['n1', 'n2', 'n3', 'n4', 'n5', 'n6'];

function input(over: Partial<PlanInput> & Pick<PlanInput, 'self' | 'live'>): PlanInput {
  return {
    nodes: NODES,
    owners: new Map(),
    held: new Set(),
    recentlyReleased: new Set(),
    freeTicks: new Map(),
    maxReleasesPerTick: 2,
    orphanTicks: 3,
    ...over,
  };
}

function owners(entries: Record<string, string>): Map<string, string | undefined> {
  return new Map(NODES.map((n) => [n, entries[n]]));
}

/** Runs every daemon's plan against a simulated Redis (first acquirer wins) until nothing moves. */
function settle(daemons: string[], start: Record<string, string>, rounds = 20): Record<string, string> {
  const owner = { ...start };
  for (let round = 0; round < rounds; round++) {
    let moved = false;
    for (const self of daemons) {
      const held = new Set(NODES.filter((n) => owner[n] === self));
      const plan = planLeases(input({ self, live: daemons, owners: owners(owner), held }));
      for (const n of plan.release) {
        delete owner[n];
        moved = true;
      }
      for (const n of plan.acquire) {
        if (owner[n] === undefined) {
          owner[n] = self;
          moved = true;
        }
      }
    }
    if (!moved) return owner;
  }
  throw new Error('did not settle');
}

const countOf = (owner: Record<string, string>, d: string): number =>
  Object.values(owner).filter((o) => o === d).length;

describe('planLeases', () => {
  it('alone, takes every free node', () => {
    const plan = planLeases(input({ self: 'a', live: ['a'] }));
    expect(plan.share).toBe(6);
    expect(plan.acquire.sort()).toEqual(NODES);
    expect(plan.release).toEqual([]);
  });

  it('takes free nodes up to the fair share only', () => {
    const plan = planLeases(input({ self: 'a', live: ['a', 'b', 'c'] }));
    expect(plan.share).toBe(2);
    expect(plan.acquire).toHaveLength(2);
  });

  it('two daemons starting together end with three nodes each', () => {
    const owner = settle(['a', 'b'], {});
    expect(Object.keys(owner)).toHaveLength(6);
    expect(countOf(owner, 'a')).toBe(3);
    expect(countOf(owner, 'b')).toBe(3);
  });

  it('a joining daemon gets its share, at most two handed over per daemon and tick', () => {
    const start = { n1: 'a', n2: 'a', n3: 'a', n4: 'b', n5: 'b', n6: 'b' };
    const first = planLeases(
      input({ self: 'a', live: ['a', 'b', 'c'], owners: owners(start), held: new Set(['n1', 'n2', 'n3']) }),
    );
    expect(first.release).toHaveLength(1);
    expect(first.acquire).toEqual([]);
    const owner = settle(['a', 'b', 'c'], start);
    expect([countOf(owner, 'a'), countOf(owner, 'b'), countOf(owner, 'c')]).toEqual([2, 2, 2]);
    // Only the surplus moved: a and b kept two of the nodes they had.
    expect(['n1', 'n2', 'n3'].filter((n) => owner[n] === 'a')).toHaveLength(2);
    expect(['n4', 'n5', 'n6'].filter((n) => owner[n] === 'b')).toHaveLength(2);
  });

  it('limits hand-overs per tick', () => {
    const all = owners(Object.fromEntries(NODES.map((n) => [n, 'a'])));
    const plan = planLeases(input({ self: 'a', live: ['a', 'b', 'c'], owners: all, held: new Set(NODES) }));
    expect(plan.release).toHaveLength(2);
  });

  it('survivors take a dead daemon nodes once it left the live set', () => {
    const start = { n1: 'a', n2: 'a', n3: 'b', n4: 'b', n5: 'c', n6: 'c' };
    delete (start as Record<string, string>).n5;
    delete (start as Record<string, string>).n6;
    const owner = settle(['a', 'b'], start);
    expect(Object.keys(owner).sort()).toEqual(NODES);
    expect([countOf(owner, 'a'), countOf(owner, 'b')]).toEqual([3, 3]);
  });

  it('takes an orphan above the share once it stayed free long enough', () => {
    const start = owners({ n1: 'a', n2: 'a', n3: 'b', n4: 'b', n5: 'c' });
    const held = new Set(['n1', 'n2']);
    const live = ['a', 'b', 'c'];
    expect(planLeases(input({ self: 'a', live, owners: start, held })).acquire).toEqual([]);
    const later = planLeases(
      input({ self: 'a', live, owners: start, held, freeTicks: new Map([['n6', 3]]) }),
    );
    expect(later.acquire).toEqual(['n6']);
  });

  it('does not take back a node it just handed over, unless alone', () => {
    const held = new Set(['n1']);
    const recentlyReleased = new Set(['n2']);
    const withOthers = planLeases(
      input({
        self: 'a',
        live: ['a', 'b', 'c'],
        owners: owners({ n3: 'b', n4: 'b' }),
        held,
        recentlyReleased,
      }),
    );
    expect(withOthers.acquire).not.toContain('n2');
    const alone = planLeases(
      input({ self: 'a', live: ['a'], owners: owners({ n1: 'a' }), held, recentlyReleased }),
    );
    expect(alone.acquire).toContain('n2');
  });
});
