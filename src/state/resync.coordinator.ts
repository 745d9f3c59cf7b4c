import { Injectable, Logger, Optional } from '@nestjs/common';
import { AmiService } from '../ami/ami.service';
import { AriService } from '../ari/ari.service';
import { EventBus } from '../events/event-bus';
import type { LinkKind } from '../events/pbx-events';

/** Rebuilds one part of a node's state after a (re)connect; returns counts for the log and event. */
export type ResyncHandler = (node: string) => Promise<Record<string, number>>;

/**
 * The resync hook: every (re)connect of a link runs the handlers registered for that link (state
 * layers add theirs), then publishes one `state.resynced` event. A failing handler is logged and does
 * not stop the others. It hooks itself onto the adapters' after-connect hooks (after the adapters' own
 * identity reads): the adapters know nothing of the state layer.
 */
@Injectable()
export class ResyncCoordinator {
  private readonly logger = new Logger(ResyncCoordinator.name);
  private readonly handlers: Record<LinkKind, Map<string, ResyncHandler>> = {
    ami: new Map(),
    ari: new Map(),
  };

  constructor(
    private readonly bus: EventBus,
    @Optional() ami?: AmiService,
    @Optional() ari?: AriService,
  ) {
    ami?.onConnected('resync', (node) => this.resync(node, 'ami').then(() => undefined));
    ari?.onConnected('resync', (node) => this.resync(node, 'ari').then(() => undefined));
  }

  register(link: LinkKind, name: string, handler: ResyncHandler): void {
    this.handlers[link].set(name, handler);
  }

  async resync(node: string, link: LinkKind): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    const failed: string[] = [];
    const started = Date.now();
    for (const [name, handler] of this.handlers[link]) {
      try {
        Object.assign(counts, await handler(node));
      } catch (err) {
        failed.push(name);
        this.logger.warn(`${node}: ${link} resync step '${name}' failed: ${(err as Error).message}`);
      }
    }
    const summary = Object.entries(counts)
      .map(([k, v]) => `${v} ${k}`)
      .join(', ');
    const took = `after ${link} connect in ${Date.now() - started} ms${summary ? ` (${summary})` : ''}`;
    // A failed step is retried by its own store; the log must not read as if everything was rebuilt.
    if (failed.length > 0) {
      this.logger.warn(
        `${node}: resync incomplete ${took}: ${failed.map((f) => `'${f}'`).join(', ')} failed`,
      );
    } else {
      this.logger.log(`${node}: resynced ${took}`);
    }
    this.bus.publish({ type: 'state.resynced', node, link, counts, ts: Date.now(), source: link });
    return counts;
  }
}
