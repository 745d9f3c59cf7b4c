import { type Metric, Registry, collectDefaultMetrics } from 'prom-client';
import { TextFamily } from './text-family';

/** Injection token of the daemon's own prom-client registry (not the global one, so tests are isolated). */
export const METRICS_REGISTRY = Symbol('METRICS_REGISTRY');

/**
 * The prom-client registry of the daemon, writing its `TextFamily` members itself (the per-endpoint
 * families) and every other metric through prom-client: one exposition, in registration order, with
 * prom-client's framing (families separated by a blank line, a final newline) and content type.
 */
export class ExpositionRegistry extends Registry {
  override async metrics(): Promise<string> {
    const parts = await Promise.all(
      this.getMetricsAsArray().map((m: unknown) =>
        m instanceof TextFamily
          ? Promise.resolve(m.text())
          : this.getSingleMetricAsString((m as { name: string }).name),
      ),
    );
    return `${parts.join('\n\n')}\n`;
  }

  override getSingleMetricAsString(name: string): Promise<string> {
    const m: unknown = this.getSingleMetric(name);
    return m instanceof TextFamily ? Promise.resolve(m.text()) : super.getSingleMetricAsString(name);
  }
}

/** Adds a `TextFamily` to any prom-client registry (a plain one formats it through `get()`). */
export function registerTextFamily(registry: Registry, family: TextFamily): TextFamily {
  registry.registerMetric(family as unknown as Metric);
  return family;
}

/**
 * prom-client's default gauges that end in `_total`, which `promtool check metrics` flags (a gauge must
 * not look like a counter). Each is the sum of a gauge that stays: `nodejs_active_handles{type}` …
 */
export const DROPPED_DEFAULT_METRICS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
] as const;

export function createRegistry(): Registry {
  const registry = new ExpositionRegistry();
  collectDefaultMetrics({ register: registry });
  for (const name of DROPPED_DEFAULT_METRICS) registry.removeSingleMetric(name);
  return registry;
}
