import { stringify } from 'yaml';
import { seededRandom, fuzzSeed } from '../../test/support/fuzz';
import { CONFIG_EXIT_CODE, loadConfigOrExit } from './config.cli';
import { CONFIG_DEFAULTS } from './config.loader';

class ExitCalled extends Error {
  constructor(readonly code: number) {
    super(`exit(${code})`);
  }
}

const SECRETS = [
  'fuzz-ami-secret-71',
  'fuzz-ari-password-28',
  'fuzz-admin-token-5510',
  'fuzz-viewer-token-9034',
  'fuzz-redis-password-417',
];

const { amiPort: _amiPort, ...DEFAULT_SECTIONS } = CONFIG_DEFAULTS;

/**
 * Every section set (the loader's defaults, so a new key is fuzzed as soon as it exists), two nodes:
 * each key of the file is a place to put a wrong shape.
 */
const VALID = {
  ...DEFAULT_SECTIONS,
  http: { host: '127.0.0.1', port: 9630 },
  auth: { adminToken: SECRETS[2], viewerToken: SECRETS[3] },
  log: { format: 'json', level: 'log' },
  cluster: { redis: `redis://:${SECRETS[4]}@127.0.0.1:6379/0` },
  nodes: [
    {
      name: 'pbx1',
      ami: { host: 'pbx1.example', port: 5038, username: 'pbxpulse', secret: SECRETS[0] },
      ari: { url: 'http://pbx1.example:8088', username: 'pbxpulse', password: SECRETS[1] },
    },
    {
      name: 'pbx2',
      ami: { host: '10.0.0.2', username: 'pbxpulse', secret: SECRETS[0] },
      ari: { url: 'https://10.0.0.2:8089', username: 'pbxpulse', password: SECRETS[1] },
    },
  ],
};

type Path = Array<string | number>;
type Rng = () => number;
const int = (rng: Rng, n: number): number => Math.floor(rng() * n);
const pick = <T>(rng: Rng, list: readonly T[]): T => list[int(rng, list.length)];

/** `nodes[1].ami.port`, the way the loader names keys. */
const keyPath = (path: Path): string =>
  path.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('');

/** Values of every YAML shape, many of them wrong for any key. */
const WRONG: readonly unknown[] = [
  null,
  0,
  -1,
  65536,
  1.5,
  1e21,
  '',
  ' ',
  'x'.repeat(5000),
  'yes',
  true,
  [],
  [1, 2],
  {},
  { nested: { deeper: [{}] } },
  '${UNSET_VARIABLE}',
  'line\nbreak',
  '\u0000',
  'http://user:pass@host',
];

function allPaths(value: unknown, prefix: Path = []): Path[] {
  if (value === null || typeof value !== 'object') return [prefix];
  const keys: Array<string | number> = Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value);
  return [
    prefix,
    ...keys.flatMap((k) => allPaths((value as Record<string | number, unknown>)[k], [...prefix, k])),
  ];
}

function setAt(root: Record<string, unknown>, path: Path, value: unknown, remove = false): void {
  let node = root as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) node = node[k] as Record<string | number, unknown>;
  const last = path[path.length - 1];
  if (remove) {
    if (Array.isArray(node)) node.splice(last as number, 1);
    else delete node[last];
  } else node[last] = value;
}

/** One mutation of the valid file, and the key path a refusal must name. */
function mutate(rng: Rng): { doc: unknown; path: Path; what: string } {
  const paths = allPaths(VALID).filter((p) => p.length > 0);
  const path = pick(rng, paths);
  const doc = structuredClone(VALID) as Record<string, unknown>;
  switch (int(rng, 4)) {
    case 0: {
      const value = structuredClone(pick(rng, WRONG));
      setAt(doc, path, value);
      return { doc, path, what: `set to ${JSON.stringify(value)?.slice(0, 40)}` };
    }
    case 1:
      setAt(doc, path, undefined, true);
      return { doc, path, what: 'removed' };
    case 2: {
      // An unknown key beside an existing one (a typo).
      const parent = path.slice(0, -1);
      const last = path[path.length - 1];
      const typo = typeof last === 'string' ? `${last.slice(0, -1)}` : 'extra';
      const target = parent.length === 0 ? doc : parent.reduce<any>((n, k) => n[k], doc);
      if (Array.isArray(target) || typeof target !== 'object' || target === null) {
        setAt(doc, path, 'typo');
        return { doc, path, what: 'set to "typo"' };
      }
      (target as Record<string, unknown>)[typo] = 1;
      return { doc, path: [...parent, typo], what: `unknown key ${typo}` };
    }
    default: {
      // The whole section (or node) replaced by a scalar or a list.
      const section = path.slice(0, Math.min(path.length, 1 + int(rng, 2)));
      const value = pick(rng, ['text', 42, [1, 'a'], null]);
      setAt(doc, section, value);
      return { doc, path: section, what: `section set to ${JSON.stringify(value)}` };
    }
  }
}

function run(text: string): { lines: string[]; exitCode?: number; thrown?: unknown } {
  const lines: string[] = [];
  const exit = (code: number): never => {
    throw new ExitCalled(code);
  };
  try {
    loadConfigOrExit(
      ['--config', '/etc/pbxpulse.yaml'],
      {},
      { error: (l) => lines.push(l) },
      {
        exit,
        readFile: () => text,
      },
    );
    return { lines };
  } catch (err) {
    if (err instanceof ExitCalled) return { lines, exitCode: err.code };
    return { lines, thrown: err };
  }
}

/** Two paths name the same place, or one is inside the other (`nodes[0].ami` and `nodes[0].ami.port`). */
const related = (a: string, b: string): boolean =>
  a === b || a.startsWith(`${b}.`) || a.startsWith(`${b}[`) || b.startsWith(`${a}.`) || b.startsWith(`${a}[`);

describe('configuration under fuzzed YAML shapes', () => {
  it('the base document is valid (so every refusal below comes from its mutation)', () => {
    expect(run(stringify(VALID))).toEqual({ lines: [] });
  });

  it('800 one-key mutations: exit 2 naming the key, or a valid file; never a stack or a secret', () => {
    const seed = fuzzSeed(20261206);
    const rng = seededRandom(seed);
    let refused = 0;
    for (let n = 0; n < 800; n++) {
      const { doc, path, what } = mutate(rng);
      const text = stringify(doc);
      const out = run(text);
      const context = { seed, n, mutation: `${keyPath(path)} ${what}`, lines: out.lines };
      expect({ ...context, thrown: out.thrown }).toEqual({ ...context, thrown: undefined });
      for (const secret of SECRETS)
        expect({ ...context, leak: out.lines.join('\n').includes(secret) }).toMatchObject({ leak: false });
      expect({ ...context, stack: out.lines.some((l) => /^\s+at /.test(l)) }).toMatchObject({ stack: false });
      if (out.exitCode === undefined) {
        expect(out.lines).toEqual([]);
        continue;
      }
      refused += 1;
      expect({ ...context, exitCode: out.exitCode }).toMatchObject({ exitCode: CONFIG_EXIT_CODE });
      expect(out.lines[0]).toBe('pbxpulse: invalid configuration (/etc/pbxpulse.yaml):');
      const problems = out.lines.slice(1).map((l) => /^ {2}([^\s:]+): \S/.exec(l)?.[1]);
      expect({ ...context, unnamed: problems.filter((p) => p === undefined).length }).toMatchObject({
        unnamed: 0,
      });
      // A cross-key rule names the other key first and this one in its text
      // (`connections.reconnectMaxDelayMs: must be at least reconnectInitialDelayMs …`).
      const leaf = String(path[path.length - 1]);
      const named =
        problems.some((p) => related(p!, keyPath(path))) ||
        out.lines.slice(1).some((l) => typeof path[path.length - 1] === 'string' && l.includes(` ${leaf} `));
      expect({ ...context, named }).toMatchObject({
        named: true,
      });
    }
    expect(refused).toBeGreaterThan(400);
  });

  it('documents of random YAML shapes and broken YAML text: exit 2 with a line per problem, never a stack', () => {
    const seed = fuzzSeed(20261206);
    const rng = seededRandom(seed);
    const base = stringify(VALID);
    const shapes: string[] = [
      '',
      '---',
      '42',
      '"text"',
      '[1, 2]',
      '- nodes: []',
      'nodes:',
      'nodes: {}',
      'nodes: [[]]',
      'nodes: [null]',
      '? [a, b]\n: c',
      '&a [*a]',
      'a: &x 1\nb: *y',
      'nodes: !!binary aGVsbG8=',
      'http: !!set { a, b }',
      '{a: 1, a: 2}',
      '---\nnodes: []\n---\nnodes: []',
    ];
    for (let n = 0; n < 500; n++) {
      const at = int(rng, base.length);
      const injected = pick(rng, [
        ':',
        '- ',
        '\n  ',
        '{',
        '[',
        '"',
        "'",
        '&x ',
        '*x',
        '!!int ',
        '\t',
        '#',
        '%',
        '@',
        '\u0000',
      ]);
      shapes.push(base.slice(0, at) + injected + base.slice(at + int(rng, 3)));
    }
    for (const [n, text] of shapes.entries()) {
      const out = run(text);
      const context = { seed, n, text: text.slice(0, 200), lines: out.lines };
      expect({ ...context, thrown: out.thrown }).toEqual({ ...context, thrown: undefined });
      expect({ ...context, stack: out.lines.some((l) => /^\s+at /.test(l)) }).toMatchObject({ stack: false });
      for (const secret of SECRETS)
        expect({ ...context, leak: out.lines.join('\n').includes(secret) }).toMatchObject({ leak: false });
      if (out.exitCode === undefined) continue; // an injection that kept the file valid
      expect({ ...context, exitCode: out.exitCode }).toMatchObject({ exitCode: CONFIG_EXIT_CODE });
      // Either "invalid YAML in <file> at line L, column C: …" or a header then "  <key path>: <problem>".
      const syntax = /^pbxpulse: invalid YAML in \/etc\/pbxpulse\.yaml( at line \d+, column \d+)?: \S/.test(
        out.lines[0],
      );
      const problems =
        out.lines[0] === 'pbxpulse: invalid configuration (/etc/pbxpulse.yaml):' &&
        out.lines.length > 1 &&
        out.lines.slice(1).every((l) => /^ {2}\S.*?: \S/.test(l));
      expect({ ...context, explained: syntax || problems }).toEqual({ ...context, explained: true });
    }
  });
});
