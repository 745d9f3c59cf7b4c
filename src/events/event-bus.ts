import { Injectable, Logger } from '@nestjs/common';
import type { PbxEvent, PbxEventOf, PbxEventType } from './pbx-events';

export type EventHandler<E extends PbxEvent = PbxEvent> = (event: E) => void;

/**
 * One synchronous, typed bus for every internal event. A throwing consumer is logged and isolated:
 * it never breaks the other consumers, and nothing is rethrown into an adapter's socket read loop.
 */
@Injectable()
export class EventBus {
  private readonly logger = new Logger(EventBus.name);
  private readonly handlers = new Set<{ types?: ReadonlySet<PbxEventType>; fn: EventHandler }>();
  private failures = 0;

  publish(event: PbxEvent): void {
    for (const h of this.handlers) {
      if (h.types && !h.types.has(event.type)) continue;
      try {
        h.fn(event);
      } catch (err) {
        this.failures += 1;
        this.logger.error(
          `consumer failed on ${event.type} (node ${event.node}): ${(err as Error).message}`,
          (err as Error).stack,
        );
      }
    }
  }

  /** Subscribe to every event. Returns the unsubscribe function. */
  subscribe(fn: EventHandler): () => void {
    const entry = { fn };
    this.handlers.add(entry);
    return () => this.handlers.delete(entry);
  }

  /** Subscribe to the given event types only. Returns the unsubscribe function. */
  on<T extends PbxEventType>(types: T | readonly T[], fn: EventHandler<PbxEventOf<T>>): () => void {
    const list: readonly PbxEventType[] = Array.isArray(types) ? types : [types as T];
    const entry = { types: new Set(list), fn: fn as EventHandler };
    this.handlers.add(entry);
    return () => this.handlers.delete(entry);
  }

  /** How many consumer calls threw since start (for tests and diagnostics). */
  get consumerFailures(): number {
    return this.failures;
  }
}
