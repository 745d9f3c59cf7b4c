import { Inject, Injectable } from '@nestjs/common';
import type { Registry } from 'prom-client';
import { PBXPULSE_CONFIG } from '../config/config.module';
import type { PbxpulseConfig } from '../config/config.types';
import { TrunkStore } from '../state/trunks/trunk.store';
import { METRICS_REGISTRY, registerTextFamily } from './metrics.registry';
import { TextFamily } from './text-family';

/**
 * Reachability of the trunks that do not register (permanent `contact=` with `qualify_frequency`), public
 * contract. Labels: node names from the config and endpoint names (operator-configured trunk sections),
 * never a contact URI or an address. Read from the store at scrape time.
 */
@Injectable()
export class TrunkMetrics {
  constructor(
    @Inject(METRICS_REGISTRY) registry: Registry,
    store: TrunkStore,
    @Inject(PBXPULSE_CONFIG) config: PbxpulseConfig,
  ) {
    const nodes = config.nodes.map((n) => n.name);

    /** 1 reachable, 0 unreachable; no series while unknown (not qualified yet). */
    registerTextFamily(
      registry,
      new TextFamily({
        name: 'pbxpulse_trunk_reachable',
        help:
          'Whether a trunk with permanent contacts and qualify_frequency answers OPTIONS: 1 when one of its ' +
          'contacts is reachable, 0 when none is; absent while not qualified yet.',
        type: 'gauge',
        labelNames: ['node', 'endpoint'],
        collect(emit) {
          for (const node of nodes) {
            for (const t of store.trunks(node)) {
              if (t.reachability !== 'unknown')
                emit([node, t.endpoint], t.reachability === 'reachable' ? 1 : 0);
            }
          }
        },
      }),
    );

    /** The smallest qualify round trip of the trunk's reachable contacts, as of the last read or event. */
    registerTextFamily(
      registry,
      new TextFamily({
        name: 'pbxpulse_trunk_rtt_seconds',
        help:
          'Qualify (OPTIONS) round trip of a reachable trunk, its fastest contact, read at each ' +
          'reconciliation (Asterisk sends no event when only the round trip changes).',
        type: 'gauge',
        labelNames: ['node', 'endpoint'],
        collect(emit) {
          for (const node of nodes) {
            for (const t of store.trunks(node))
              if (t.rttMs !== null) emit([node, t.endpoint], Math.round(t.rttMs * 100) / 100_000);
          }
        },
      }),
    );
  }
}
