import { Gauge, Registry } from 'prom-client';
import { EndpointLabels, OTHER_ENDPOINT, endpointCounts, perEndpointPolicy } from './endpoint-series';
import { ExpositionRegistry, createRegistry, registerTextFamily } from './metrics.registry';
import { TextFamily, escapeLabelValue, formatValue } from './text-family';

const SAMPLES: Array<[string, string, number]> = [
  ['pbx1', '2001', 1],
  ['pbx1', 'back\\slash "quoted"\nline', 0],
  ['pbx-2', '<unknown>', 0.025],
  ['pbx-2', 'y', Number.POSITIVE_INFINITY],
  ['pbx-2', 'z', Number.NEGATIVE_INFINITY],
];

function family(name = 'pbxpulse_test_registered'): TextFamily {
  return new TextFamily({
    name,
    help: 'A test family\nwith a line feed and a \\ backslash "quoted".',
    type: 'gauge',
    labelNames: ['node', 'endpoint'],
    collect(emit) {
      for (const [node, endpoint, v] of SAMPLES) emit([node, endpoint], v);
    },
  });
}

describe('TextFamily and ExpositionRegistry', () => {
  it('writes exactly what prom-client writes for the same series (escaping, ±Inf, HELP/TYPE)', async () => {
    const ours = new ExpositionRegistry();
    registerTextFamily(ours, family());
    const reference = new Registry();
    new Gauge({
      name: 'pbxpulse_test_registered',
      help: 'A test family\nwith a line feed and a \\ backslash "quoted".',
      labelNames: ['node', 'endpoint'],
      registers: [reference],
      collect(this: Gauge<'node' | 'endpoint'>) {
        for (const [node, endpoint, v] of SAMPLES) this.set({ node, endpoint }, v);
      },
    });
    const text = await ours.metrics();
    expect(text).toBe(await reference.metrics());
    expect(text).toContain(
      'pbxpulse_test_registered{node="pbx1",endpoint="back\\\\slash \\"quoted\\"\\nline"} 0\n',
    );
    expect(text.match(/^# (HELP|TYPE) pbxpulse_test_registered /gm)).toHaveLength(2);
  });

  it('is one exposition with the prom-client families, in registration order, and the same content type', async () => {
    const registry = createRegistry();
    new Gauge({ name: 'pbxpulse_before', help: 'b', registers: [registry] }).set(2);
    registerTextFamily(registry, family());
    new Gauge({ name: 'pbxpulse_after', help: 'a', registers: [registry] }).set(3);
    const text = await registry.metrics();
    expect(registry.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    const at = (s: string) => text.indexOf(s);
    expect(at('# TYPE pbxpulse_before gauge')).toBeLessThan(at('# TYPE pbxpulse_test_registered gauge'));
    expect(at('# TYPE pbxpulse_test_registered gauge')).toBeLessThan(at('# TYPE pbxpulse_after gauge'));
    expect(text).toContain(
      'pbxpulse_test_registered{node="pbx-2",endpoint="z"} -Inf\n\n# HELP pbxpulse_after',
    );
    expect(text.endsWith('\n')).toBe(true);
    expect(text.endsWith('\n\n')).toBe(false);
    expect(await registry.getSingleMetricAsString('pbxpulse_test_registered')).toBe(family().text());
  });

  it('refuses a second family of the same name, like prom-client', () => {
    const registry = createRegistry();
    registerTextFamily(registry, family());
    expect(() => registerTextFamily(registry, family())).toThrow(/already been registered/);
  });

  it('writes HELP and TYPE for a family without samples, and refuses bad names and label counts', () => {
    const empty = new TextFamily({
      name: 'pbxpulse_none_total',
      help: 'h',
      type: 'counter',
      labelNames: ['node'],
      collect: () => undefined,
    });
    expect(empty.text()).toBe('# HELP pbxpulse_none_total h\n# TYPE pbxpulse_none_total counter');
    expect(
      () =>
        new TextFamily({
          name: 'bad-name',
          help: 'h',
          type: 'gauge',
          labelNames: [],
          collect: () => undefined,
        }),
    ).toThrow(/bad metric name/);
    expect(
      () =>
        new TextFamily({
          name: 'ok',
          help: 'h',
          type: 'gauge',
          labelNames: ['__x'],
          collect: () => undefined,
        }),
    ).toThrow(/bad label name/);
    const wrong = new TextFamily({
      name: 'ok',
      help: 'h',
      type: 'gauge',
      labelNames: ['a', 'b'],
      collect: (emit) => emit(['1'], 1),
    });
    expect(() => wrong.text()).toThrow(/1 label values for 2 labels/);
  });

  // prom-client writes NaN as "Nan"; the text format (and Go's ParseFloat) spells it NaN.
  it('escapes label values per the text format and spells special values', () => {
    expect(escapeLabelValue('plain-2001')).toBe('plain-2001');
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
    expect([NaN, Infinity, -Infinity, 0.5, 1e21].map(formatValue)).toEqual([
      'NaN',
      '+Inf',
      '-Inf',
      '0.5',
      '1e+21',
    ]);
  });
});

describe('EndpointLabels (metrics.perEndpoint)', () => {
  it('active: admits the first maxEndpoints endpoints seen, the rest are <other> for good', () => {
    const labels = new EndpointLabels({ mode: 'active', maxEndpoints: 2 });
    expect(['a', 'b', 'c', 'a', 'd', 'c'].map((e) => labels.label(e))).toEqual([
      'a',
      'b',
      OTHER_ENDPOINT,
      'a',
      OTHER_ENDPOINT,
      OTHER_ENDPOINT,
    ]);
    expect([...labels.names()]).toEqual(['a', 'b']);
    expect(labels.zeroFill).toBe(false);
  });

  it('active with maxEndpoints 0: every endpoint is <other>', () => {
    const labels = new EndpointLabels({ mode: 'active', maxEndpoints: 0 });
    expect(labels.label('a')).toBe(OTHER_ENDPOINT);
  });

  it('all: every endpoint is its own label, no cap, zero-filled', () => {
    const labels = new EndpointLabels({ mode: 'all', maxEndpoints: 1 });
    expect(['a', 'b', 'c'].map((e) => labels.label(e))).toEqual(['a', 'b', 'c']);
    expect(labels.zeroFill).toBe(true);
  });

  it('endpointCounts: only endpoints with events, capped, <other> summed and never going down', () => {
    const labels = new EndpointLabels({ mode: 'active', maxEndpoints: 1 });
    const configured = () => ['a', 'b', 'c', 'd'];
    const fixed = new Set(['<unknown>']);
    expect(endpointCounts(labels, new Map([['a', 0]]), configured, fixed)).toEqual(new Map());
    const first = endpointCounts(
      labels,
      new Map([
        ['b', 2],
        ['c', 1],
        ['<unknown>', 5],
        ['d', 4],
      ]),
      configured,
      fixed,
    );
    // The scrape that creates b's and <other>'s series writes them at 0 (increase() needs a base).
    expect(first).toEqual(
      new Map([
        ['b', 0],
        [OTHER_ENDPOINT, 0],
        ['<unknown>', 5],
      ]),
    );
    // A later event of a (first seen now) stays in <other>: b keeps its series.
    const later = endpointCounts(
      labels,
      new Map([
        ['b', 2],
        ['c', 1],
        ['d', 4],
        ['a', 1],
      ]),
      configured,
      fixed,
    );
    expect(later).toEqual(
      new Map([
        ['b', 2],
        [OTHER_ENDPOINT, 6],
      ]),
    );
  });

  it('endpointCounts in mode all: every configured endpoint at 0', () => {
    const labels = new EndpointLabels({ mode: 'all', maxEndpoints: 1000 });
    expect(endpointCounts(labels, new Map([['b', 3]]), () => ['a', 'b'])).toEqual(
      new Map([
        ['a', 0],
        ['b', 3],
      ]),
    );
  });

  it('a config without a metrics section gets the defaults (active, 1000)', () => {
    expect(perEndpointPolicy(undefined)).toEqual({ mode: 'active', maxEndpoints: 1000 });
    expect(perEndpointPolicy({ metrics: { perEndpoint: { mode: 'all', maxEndpoints: 5 } } })).toEqual({
      mode: 'all',
      maxEndpoints: 5,
    });
  });
});

describe('createRegistry', () => {
  it('leaves out the default gauges promtool flags, keeping the per-type ones they sum', async () => {
    const text = await createRegistry().metrics();
    expect(text).not.toMatch(/^# TYPE nodejs_active_\w+_total /m);
    expect(text).toMatch(/^# TYPE nodejs_active_handles gauge$/m);
    expect(text).toMatch(/^# TYPE process_cpu_user_seconds_total counter$/m);
  });
});
