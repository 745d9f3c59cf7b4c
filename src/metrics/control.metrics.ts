import { Inject, Injectable } from '@nestjs/common';
import { Counter, type Registry } from 'prom-client';
import { PBXPULSE_CONFIG } from '../config/config.module';
import type { PbxpulseConfig } from '../config/config.types';
import { isReloadModule } from '../control/reload-modules';
import { METRICS_REGISTRY } from './metrics.registry';

/**
 * Outcome label of a control call. `unauthorized`/`forbidden` are token refusals (401/403),
 * `bad_request` a body or endpoint name refused (400), `node_not_found` a node not in the
 * configuration (404); `not_found` is an endpoint Asterisk does not know (qualify).
 */
export type ControlResult =
  | 'ok'
  | 'error'
  | 'rate_limited'
  | 'not_connected'
  | 'not_found'
  | 'unauthorized'
  | 'forbidden'
  | 'bad_request'
  | 'node_not_found'
  // cluster mode: another daemon watches the node / this daemon cannot confirm its lease
  | 'watched_elsewhere'
  | 'cluster_unavailable';

/** `node` label of a call naming a node that is not configured (never the requested name). */
export const UNKNOWN_NODE_LABEL = '<unknown>';
/** `module` label of a reload naming no allowlisted module (never the requested name). */
export const INVALID_MODULE_LABEL = '<invalid>';

/**
 * Control metrics (public contract). Incremented per control call, refusals included, never on the
 * event path. Label values are bounded whatever the caller sent: configured node names or
 * `<unknown>`, allowlisted modules or `<invalid>`, fixed results.
 */
@Injectable()
export class ControlMetrics {
  private readonly reloads: Counter<'node' | 'module' | 'result'>;
  private readonly qualifies: Counter<'node' | 'result'>;
  private readonly nodes: ReadonlySet<string>;

  constructor(@Inject(METRICS_REGISTRY) registry: Registry, @Inject(PBXPULSE_CONFIG) config: PbxpulseConfig) {
    this.nodes = new Set(config.nodes.map((n) => n.name));
    /** Reloads requested through the control API, by node, allowlisted module and outcome. */
    this.reloads = new Counter({
      name: 'pbxpulse_reloads_total',
      help: 'Module reloads requested through the control API (refusals included), by outcome.',
      labelNames: ['node', 'module', 'result'],
      registers: [registry],
    });
    /** Endpoint qualifies requested through the control API, by node and outcome. */
    this.qualifies = new Counter({
      name: 'pbxpulse_qualifies_total',
      help: 'Endpoint qualifies requested through the control API (refusals included), by outcome.',
      labelNames: ['node', 'result'],
      registers: [registry],
    });
  }

  /** `node` and `module` as requested: anything outside the configuration/allowlist is collapsed. */
  reload(node: string, module: string | undefined, result: ControlResult): void {
    const label = module !== undefined && isReloadModule(module) ? module : INVALID_MODULE_LABEL;
    this.reloads.inc({ node: this.nodeLabel(node), module: label, result });
  }

  qualify(node: string, result: ControlResult): void {
    this.qualifies.inc({ node: this.nodeLabel(node), result });
  }

  private nodeLabel(node: string): string {
    return this.nodes.has(node) ? node : UNKNOWN_NODE_LABEL;
  }
}
