import { Inject, Injectable } from '@nestjs/common';
import { Counter, type Registry } from 'prom-client';
import type { ReloadModule } from '../control/reload-modules';
import { METRICS_REGISTRY } from './metrics.registry';

/** Outcome label of a control call. */
export type ControlResult = 'ok' | 'error' | 'rate_limited' | 'not_connected' | 'not_found';

/**
 * Control metrics (public contract). Incremented per control call, never on the event path. Label
 * values are bounded: node names from the config, modules from the reload allowlist, fixed results.
 */
@Injectable()
export class ControlMetrics {
  private readonly reloads: Counter<'node' | 'module' | 'result'>;
  private readonly qualifies: Counter<'node' | 'result'>;

  constructor(@Inject(METRICS_REGISTRY) registry: Registry) {
    /** Reloads requested through the control API, by node, allowlisted module and outcome. */
    this.reloads = new Counter({
      name: 'pbxpulse_reloads_total',
      help: 'Module reloads requested through the control API, by outcome.',
      labelNames: ['node', 'module', 'result'],
      registers: [registry],
    });
    /** Endpoint qualifies requested through the control API, by node and outcome. */
    this.qualifies = new Counter({
      name: 'pbxpulse_qualifies_total',
      help: 'Endpoint qualifies requested through the control API, by outcome.',
      labelNames: ['node', 'result'],
      registers: [registry],
    });
  }

  reload(node: string, module: ReloadModule, result: ControlResult): void {
    this.reloads.inc({ node, module, result });
  }

  qualify(node: string, result: ControlResult): void {
    this.qualifies.inc({ node, result });
  }
}
