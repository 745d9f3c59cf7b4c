import { Inject, Injectable } from '@nestjs/common';
import { Counter, Gauge, type Registry } from 'prom-client';
import { AmiService } from '../ami/ami.service';
import { AriService } from '../ari/ari.service';
import { NodeStateStore } from '../state/node-state.store';
import { METRICS_REGISTRY } from './metrics.registry';

/**
 * The metric contract (names and labels are public: dashboards and alerts depend on them).
 * Every value here is read at scrape time from the state store or the adapters' counters; nothing on
 * the event hot path touches prom-client. Label values are node names from the config only.
 */
@Injectable()
export class PbxMetrics {
  constructor(
    @Inject(METRICS_REGISTRY) registry: Registry,
    state: NodeStateStore,
    ami: AmiService,
    ari: AriService,
  ) {
    const linkUp = (link: 'ami' | 'ari') =>
      function (this: Gauge<'node'>) {
        for (const node of state.all()) this.set({ node: node.name }, node[link].status === 'up' ? 1 : 0);
      };
    /** 1 while the node's AMI session is logged in, else 0. */
    new Gauge({
      name: 'pbxpulse_ami_up',
      help: 'Whether the AMI session to the node is logged in (1) or not (0).',
      labelNames: ['node'],
      registers: [registry],
      collect: linkUp('ami'),
    });
    /** 1 while the node's ARI event WebSocket is connected, else 0. */
    new Gauge({
      name: 'pbxpulse_ari_up',
      help: 'Whether the ARI event WebSocket to the node is connected (1) or not (0).',
      labelNames: ['node'],
      registers: [registry],
      collect: linkUp('ari'),
    });

    const fromStats = (read: () => Array<{ node: string; value: number }>) =>
      function (this: Counter<'node'>) {
        this.reset();
        for (const { node, value } of read()) this.inc({ node }, value);
      };
    /** AMI connection attempts after the first one (failed attempts and successful reconnects). */
    new Counter({
      name: 'pbxpulse_ami_reconnects_total',
      help: 'AMI connection attempts after the first one.',
      labelNames: ['node'],
      registers: [registry],
      collect: fromStats(() => ami.stats().map(({ node, stats }) => ({ node, value: stats.reconnects }))),
    });
    /**
     * Logged-in AMI sessions lost, by `reason`: `closed` (Asterisk closed it: a restart, or a reader that
     * let its writes wait past `writetimeout`), `reset`, `keepalive` (nothing received within
     * `connections.keepaliveIntervalMs`), `error`. Each loss is followed by a reconnect and a resync.
     */
    new Counter({
      name: 'pbxpulse_ami_disconnects_total',
      help: 'Logged-in AMI sessions lost, by reason (closed by Asterisk, reset, keepalive, error).',
      labelNames: ['node', 'reason'],
      registers: [registry],
      collect: function (this: Counter<'node' | 'reason'>) {
        this.reset();
        for (const { node, stats } of ami.stats()) {
          for (const [reason, n] of Object.entries(stats.disconnects)) this.inc({ node, reason }, n);
        }
      },
    });
    /** ARI event WebSocket connection attempts after the first one. */
    new Counter({
      name: 'pbxpulse_ari_reconnects_total',
      help: 'ARI event WebSocket connection attempts after the first one.',
      labelNames: ['node'],
      registers: [registry],
      collect: fromStats(() => ari.stats().map(({ node, stats }) => ({ node, value: stats.reconnects }))),
    });
    /** Every AMI event frame received (async events and list items). */
    new Counter({
      name: 'pbxpulse_ami_events_total',
      help: 'AMI event frames received.',
      labelNames: ['node'],
      registers: [registry],
      collect: fromStats(() => ami.stats().map(({ node, stats }) => ({ node, value: stats.events }))),
    });
    /** AMI frames skipped: a line that is not `Key: Value`, no Event/Response, or larger than maxFrameBytes. */
    new Counter({
      name: 'pbxpulse_ami_malformed_frames_total',
      help: 'AMI frames skipped as malformed or oversized.',
      labelNames: ['node'],
      registers: [registry],
      collect: fromStats(() =>
        ami.stats().map(({ node, stats }) => ({ node, value: stats.malformedFrames })),
      ),
    });
    /** ARI messages skipped: not a JSON object with a `type`, or a used event type not of Asterisk's shape. */
    new Counter({
      name: 'pbxpulse_ari_malformed_messages_total',
      help: 'ARI event messages skipped as malformed.',
      labelNames: ['node'],
      registers: [registry],
      collect: fromStats(() =>
        ari.stats().map(({ node, stats }) => ({ node, value: stats.malformedMessages })),
      ),
    });
  }
}
