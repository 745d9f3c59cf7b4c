import { Logger } from '@nestjs/common';
import type { Subscription } from 'rxjs';
import { NodeNotFoundError } from './errors';
import type { StatusStream } from './status-stream';
import type { EventBus } from '../events/event-bus';
import type { LinkKind, LinkStatus } from '../events/pbx-events';

/** What both adapters' connection classes offer to their Nest service. */
export interface SupervisedLink {
  readonly status: StatusStream;
  start(): void;
  stop(): Promise<void>;
  /** Connect again after `stop()` (a cluster daemon got the node's lease back). */
  resume(): void;
}

/** Work to do after each (re)connect of a node's link: a resync, a version read. */
export type ConnectedHook = (node: string) => void | Promise<void>;

/**
 * The Nest glue both adapters share: one link per node, started at bootstrap with its status published
 * as `node.connection_changed`, stopped (log off, close) on shutdown, looked up by node name.
 */
export abstract class LinkServiceBase<L extends SupervisedLink> {
  protected readonly links = new Map<string, L>();
  private readonly subscriptions: Subscription[] = [];
  private readonly connectedHooks: Array<{ name: string; hook: ConnectedHook }> = [];
  private readonly hookLogger: Logger;

  /**
   * `autoStart` false (cluster mode): links start only through `watch(node)`, when this daemon holds
   * the node's lease.
   */
  protected constructor(
    private readonly kind: LinkKind,
    protected readonly bus: EventBus,
    private readonly autoStart = true,
  ) {
    this.hookLogger = new Logger(`${kind.toUpperCase()} link`);
  }

  /**
   * Run `hook` after each (re)connect of any node's link, after the hooks registered before it. The
   * adapter registers its own first (identity reads); the state layer's resync registers itself this
   * way, so the adapter never depends on the state layer. A failing hook is logged and does not stop the
   * others.
   */
  onConnected(name: string, hook: ConnectedHook): void {
    this.connectedHooks.push({ name, hook });
  }

  /** The adapter calls this from its connection's `onConnected`. */
  protected async runConnectedHooks(node: string): Promise<void> {
    for (const { name, hook } of this.connectedHooks) {
      try {
        await hook(node);
      } catch (err) {
        this.hookLogger.warn(`${node}: after-connect step '${name}' failed: ${(err as Error).message}`);
      }
    }
  }

  onApplicationBootstrap(): void {
    for (const [node, link] of this.links) {
      let previous: LinkStatus = 'connecting';
      this.subscriptions.push(
        link.status.changes.subscribe((s) => {
          this.bus.publish({
            type: 'node.connection_changed',
            node,
            link: this.kind,
            status: s.status,
            previous,
            error: s.lastError,
            ts: Date.now(),
            source: this.kind,
          });
          previous = s.status;
        }),
      );
      if (this.autoStart) link.start();
    }
  }

  /** Open the node's link (cluster: this daemon now holds the node's lease). */
  watch(node: string): void {
    const link = this.connection(node);
    link.start();
    link.resume();
  }

  /** Close the node's link (cluster: the lease went to another daemon); resolves once logged off. */
  async unwatch(node: string): Promise<void> {
    await this.connection(node).stop();
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all([...this.links.values()].map((l) => l.stop()));
    for (const s of this.subscriptions) s.unsubscribe();
  }

  /** The node's link; unknown node → `NodeNotFoundError`. */
  connection(node: string): L {
    const link = this.links.get(node);
    if (!link) throw new NodeNotFoundError(node);
    return link;
  }
}
