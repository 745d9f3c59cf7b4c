import type { PbxpulseConfig, PerEndpointMetricsConfig } from '../config/config.types';
import { CONFIG_DEFAULTS } from '../config/config.loader';
import { TextFamily } from './text-family';

/** `endpoint` label of the series that sums every endpoint beyond `metrics.perEndpoint.maxEndpoints`. */
export const OTHER_ENDPOINT = '<other>';

/** The per-endpoint policy of the config, or its defaults for a config built without one (tests). */
export function perEndpointPolicy(
  config: Pick<PbxpulseConfig, 'metrics'> | undefined,
): PerEndpointMetricsConfig {
  return config?.metrics?.perEndpoint ?? CONFIG_DEFAULTS.metrics.perEndpoint;
}

/**
 * The `endpoint` label values one per-endpoint family may use on one node, under the policy of
 * `metrics.perEndpoint` (README, "Metrics"):
 *
 * - `all`: every configured endpoint has the family's series, at 0 until its first event (no cap).
 * - `active` (default): only endpoints that have had an event, the first `maxEndpoints` of them in the
 *   order they were first seen; events of any later endpoint add to one `endpoint="<other>"` series.
 *
 * An endpoint admitted once keeps its own series until the daemon restarts, and the admitted set never
 * shrinks, so an endpoint sent to `<other>` stays there: every series (`<other>` included) only grows
 * while its sources only grow, with no spurious counter reset. Memory is bounded by the cap.
 *
 * A series created by an event would first be scraped at 1 (or more), and Prometheus's increase() and
 * rate() take a series' first sample as its base: the first event would never count. So the scrape that
 * creates a series writes it at 0 (`isNew`) and the next one its count: the first event is seen one
 * scrape late instead of never, by alerts, dashboards and ad-hoc queries alike. A second Prometheus of
 * an HA pair may take the true count as its first sample: the alert rules that must fire on a first
 * event also have a "new series" term (`x unless last_over_time(x[1h] offset 5m)`) for it.
 */
export class EndpointLabels {
  private readonly admitted = new Set<string>();
  /** Labels created since `settle()`: written at 0 by the scrape that creates them. */
  private readonly created = new Set<string>();
  private other = false;

  constructor(private readonly policy: PerEndpointMetricsConfig) {}

  /** The label of `endpoint`'s series: itself, or `<other>` once the cap is reached. */
  label(endpoint: string): string {
    if (this.policy.mode === 'all' || this.admitted.has(endpoint)) return endpoint;
    if (this.admitted.size < this.policy.maxEndpoints) {
      this.admitted.add(endpoint);
      this.created.add(endpoint);
      return endpoint;
    }
    if (!this.other) {
      this.other = true;
      this.created.add(OTHER_ENDPOINT);
    }
    return OTHER_ENDPOINT;
  }

  /** Whether `label`'s series was created by this scrape (so it is written at 0 this once). */
  isNew(label: string): boolean {
    return this.created.has(label);
  }

  /** The scrape is written: labels created by it are written with their counts from the next one. */
  settle(): void {
    this.created.clear();
  }

  /** Whether every configured endpoint is listed at 0 (`all`) instead of only those with events. */
  get zeroFill(): boolean {
    return this.policy.mode === 'all';
  }

  /** Endpoints admitted so far (`active`): their series stay listed, every reason included. */
  names(): ReadonlySet<string> {
    return this.admitted;
  }
}

/** One `EndpointLabels` per node, created on first use. */
export class NodeEndpointLabels {
  private readonly byNode = new Map<string, EndpointLabels>();

  constructor(private readonly policy: PerEndpointMetricsConfig) {}

  of(node: string): EndpointLabels {
    let labels = this.byNode.get(node);
    if (!labels) {
      labels = new EndpointLabels(this.policy);
      this.byNode.set(node, labels);
    }
    return labels;
  }
}

/**
 * One scrape of a per-endpoint counter family of a node under the policy: `counts` (endpoint → count
 * since start) summed by label, a series this scrape creates at 0, and in `all` mode every configured
 * endpoint at 0. `fixed` labels (`<unknown>`, always listed by the caller) bypass the cap: they are
 * bounded by the code, not by the PBX.
 */
export function endpointCounts(
  labels: EndpointLabels,
  counts: Iterable<readonly [string, number]>,
  configured: () => Iterable<string>,
  fixed: ReadonlySet<string> = NO_FIXED,
): Map<string, number> {
  const out = new Map<string, number>();
  if (labels.zeroFill) for (const e of configured()) out.set(e, 0);
  else for (const e of labels.names()) out.set(e, 0);
  for (const [endpoint, n] of counts) {
    if (n <= 0 && !labels.zeroFill) continue;
    const label = fixed.has(endpoint) ? endpoint : labels.label(endpoint);
    out.set(label, labels.isNew(label) ? 0 : (out.get(label) ?? 0) + n);
  }
  labels.settle();
  return out;
}

const NO_FIXED: ReadonlySet<string> = new Set();

export interface EndpointCounterFamilyOptions {
  name: string;
  help: string;
  /** The policy every node's `EndpointLabels` follows (one set of labels per family and node). */
  policy: PerEndpointMetricsConfig;
  nodes: () => Iterable<string>;
  /** Endpoint → count since start, of one node. */
  counts: (node: string) => Iterable<readonly [string, number]>;
  /** The node's configured endpoints (listed at 0 in `all` mode). */
  configured: (node: string) => Iterable<string>;
  fixed?: ReadonlySet<string>;
}

/** A `{node, endpoint}` counter family written under the policy (`endpointCounts`), node by node. */
export function endpointCounterFamily(o: EndpointCounterFamilyOptions): TextFamily {
  const labels = new NodeEndpointLabels(o.policy);
  return new TextFamily({
    name: o.name,
    help: o.help,
    type: 'counter',
    labelNames: ['node', 'endpoint'],
    collect(emit) {
      for (const node of o.nodes()) {
        const counts = endpointCounts(labels.of(node), o.counts(node), () => o.configured(node), o.fixed);
        for (const [endpoint, n] of counts) emit([node, endpoint], n);
      }
    },
  });
}

/** The sum of a family's counts of one node (its `pbxpulse_node_*` total). */
export function sumOfCounts(counts: Iterable<readonly [string, number]>): number {
  let total = 0;
  for (const [, n] of counts) total += n;
  return total;
}
