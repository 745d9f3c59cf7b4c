import type { MetricValue } from 'prom-client';

/**
 * One sample of a `TextFamily`: label values in the family's `labelNames` order. Only the writer
 * knows the label names, so a scrape builds no label object per series.
 */
export type SampleSink = (labelValues: readonly string[], value: number) => void;

/** What a `TextFamily` needs from its owner: its samples, written at scrape time. */
export type SampleSource = (emit: SampleSink) => void;

/** prom-client's `MetricObjectWithValues`, as `get()` returns it. */
export interface TextFamilyObject {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  values: Array<MetricValue<string>>;
  aggregator: 'sum';
}

export interface TextFamilyOptions {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  labelNames: readonly string[];
  collect: SampleSource;
}

/**
 * A metric family written straight to the Prometheus text format (0.0.4) at scrape time, for the
 * per-endpoint families whose series count grows with the PBX. prom-client formats every series through
 * a label object, a `Object.entries` and two regex replaces (about 40 ms for 10k series on the bench
 * machine, against 2 ms here: docs/decisions.md, "Metrics exposition at scale").
 *
 * Registered in the prom-client registry like any metric (one name space, one exposition, HELP/TYPE
 * once): `ExpositionRegistry` asks `text()`, a plain prom-client `Registry` falls back to `get()`.
 */
export class TextFamily {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  readonly labelNames: readonly string[];
  /** prom-client's registry reads these when it aggregates (`AggregatorRegistry`); unused here. */
  readonly aggregator = 'sum' as const;
  private readonly collect: SampleSource;
  private readonly header: string;
  /** `name{label0="`, `",label1="` …, `"} `: the constant parts of a line, built once. */
  private readonly parts: readonly string[];

  constructor(options: TextFamilyOptions) {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(options.name)) throw new Error(`bad metric name ${options.name}`);
    for (const l of options.labelNames) {
      if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(l) || l.startsWith('__')) throw new Error(`bad label name ${l}`);
    }
    this.name = options.name;
    this.help = options.help;
    this.type = options.type;
    this.labelNames = options.labelNames;
    this.collect = options.collect;
    this.header = `# HELP ${this.name} ${escapeHelp(this.help)}\n# TYPE ${this.name} ${this.type}`;
    const n = this.labelNames.length;
    this.parts =
      n === 0
        ? [`${this.name} `]
        : this.labelNames.map((l, i) => (i === 0 ? `${this.name}{${l}="` : `",${l}="`)).concat('"} ');
  }

  /** The family as the text format writes it: HELP, TYPE, one line per sample, no trailing newline. */
  text(): string {
    let out = this.header;
    const parts = this.parts;
    const n = this.labelNames.length;
    this.collect((values, value) => {
      if (values.length !== n) throw new Error(`${this.name}: ${values.length} label values for ${n} labels`);
      let line = '\n';
      for (let i = 0; i < n; i++) line += parts[i] + escapeLabelValue(values[i]);
      out += line + parts[n] + formatValue(value);
    });
    return out;
  }

  /** The prom-client view of the same samples (a plain `Registry`, `getMetricsAsJSON`, tests). */
  get(): Promise<TextFamilyObject> {
    const values: Array<MetricValue<string>> = [];
    this.collect((labelValues, value) => {
      const labels: Record<string, string> = {};
      this.labelNames.forEach((l, i) => (labels[l] = labelValues[i]));
      values.push({ labels, value });
    });
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: 'sum' });
  }

  /** prom-client calls these on every registered metric (`registry.resetMetrics()`); nothing is kept. */
  reset(): void {}
}

const NEEDS_ESCAPE = /[\\\n"]/;

/** Label value escaping of the text format: backslash, double quote and line feed. */
export function escapeLabelValue(value: string): string {
  if (!NEEDS_ESCAPE.test(value)) return value;
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/** HELP escaping of the text format: backslash and line feed (a quote is literal). */
function escapeHelp(help: string): string {
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A sample value as the text format spells it (`NaN`, `+Inf`, `-Inf`, else the shortest decimal). */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : '-Inf';
  return String(value);
}
