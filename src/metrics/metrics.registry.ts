import { Registry, collectDefaultMetrics } from 'prom-client';

/** Injection token of the daemon's own prom-client registry (not the global one, so tests are isolated). */
export const METRICS_REGISTRY = Symbol('METRICS_REGISTRY');

export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}
