import { Injectable, Logger } from '@nestjs/common';
import type { PbxEvent, PbxEventOf, PbxEventType } from './pbx-events';

export type EventHandler<E extends PbxEvent = PbxEvent> = (event: E) => void;

/**
 * When a consumer sees each event: every `state` handler (the stores, the only writers of state) runs
 * before any `read` handler (metrics, detectors, the gateway …), so a reader always finds the event
 * already applied. Within a phase, handlers run in subscription order.
 */
export type EventPhase = 'state' | 'read';

export interface SubscribeOptions {
  /** Default `read`. */
  phase?: EventPhase;
}

interface Entry {
  types?: ReadonlySet<PbxEventType>;
  fn: EventHandler;
}

/**
 * One synchronous, typed bus for every internal event. A throwing consumer is logged and isolated:
 * it never breaks the other consumers, and nothing is rethrown into an adapter's socket read loop.
 *
 * An event published while the bus is delivering another one (a store deriving `registration.changed`
 * from a contact event) is queued and delivered once the current event has reached every consumer, so
 * all consumers see all events in one global order. `publish` still returns only when the queue is
 * empty: a publisher outside a dispatch sees every consequence of its event applied.
 */
@Injectable()
export class EventBus {
  private readonly logger = new Logger(EventBus.name);
  private readonly phases: Record<EventPhase, Set<Entry>> = { state: new Set(), read: new Set() };
  /** The phases in delivery order (built once: dispatch runs for every AMI and ARI event). */
  private readonly ordered: readonly Set<Entry>[] = [this.phases.state, this.phases.read];
  private readonly queue: PbxEvent[] = [];
  private dispatching = false;
  private failures = 0;

  publish(event: PbxEvent): void {
    this.queue.push(event);
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      for (let next = this.queue.shift(); next; next = this.queue.shift()) this.dispatch(next);
    } finally {
      this.dispatching = false;
    }
  }

  /** Subscribe to every event. Returns the unsubscribe function. */
  subscribe(fn: EventHandler, options?: SubscribeOptions): () => void {
    return this.add({ fn }, options);
  }

  /** Subscribe to the given event types only. Returns the unsubscribe function. */
  on<T extends PbxEventType>(
    types: T | readonly T[],
    fn: EventHandler<PbxEventOf<T>>,
    options?: SubscribeOptions,
  ): () => void {
    const list: readonly PbxEventType[] = Array.isArray(types) ? types : [types as T];
    return this.add({ types: new Set(list), fn: fn as EventHandler }, options);
  }

  /** How many consumer calls threw since start (for tests and diagnostics). */
  get consumerFailures(): number {
    return this.failures;
  }

  private add(entry: Entry, options: SubscribeOptions | undefined): () => void {
    const set = this.phases[options?.phase ?? 'read'];
    set.add(entry);
    return () => set.delete(entry);
  }

  private dispatch(event: PbxEvent): void {
    for (const set of this.ordered) {
      for (const h of set) {
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
  }
}
