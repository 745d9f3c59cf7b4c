import { Inject, Injectable } from '@nestjs/common';
import { Counter, Gauge, type Registry } from 'prom-client';
import { METRICS_REGISTRY } from '../metrics/metrics.registry';
import { LiveGateway, type DropReason } from './live.gateway';

/** Gateway metrics, read at scrape time from the gateway. */
@Injectable()
export class GatewayMetrics {
  constructor(@Inject(METRICS_REGISTRY) registry: Registry, gateway: LiveGateway) {
    /** Open `/ws` connections. */
    new Gauge({
      name: 'pbxpulse_gateway_clients',
      help: 'WebSocket clients connected to /ws.',
      registers: [registry],
      collect() {
        this.set(gateway.clientCount);
      },
    });
    /** Clients closed by the server: `slow` (stopped reading, 1013) or `heartbeat` (no pong). */
    new Counter({
      name: 'pbxpulse_gateway_clients_dropped_total',
      help: 'WebSocket clients dropped by the server, by reason (slow: stopped reading; heartbeat: no pong; oversized: a message over 64 KiB; protocol: a broken frame; bad_messages: more than 10 messages that are not a subscribe).',
      labelNames: ['reason'],
      registers: [registry],
      collect() {
        this.reset();
        for (const reason of Object.keys(gateway.dropped) as DropReason[])
          this.inc({ reason }, gateway.dropped[reason]);
      },
    });
  }
}
