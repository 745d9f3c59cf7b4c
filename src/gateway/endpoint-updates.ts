import { Logger } from '@nestjs/common';
import type { PbxEventOf } from '../events/pbx-events';
import { ENDPOINT_CHANGES, type EndpointChange } from './gateway.protocol';

/**
 * How often at most `endpoint.updated` deltas go out. A busy PBX qualifies and re-registers hundreds
 * of contacts a second; a viewer needs the picture, not every step, and a quarter of a second is
 * below what a person notices on the board. A constant until someone needs to tune it.
 */
export const ENDPOINT_UPDATE_INTERVAL_MS = 250;

/** The bus events that change what a viewer sees of an endpoint. */
export const ENDPOINT_SOURCE_EVENTS = [
  'contact.status_changed',
  'endpoint.reachability_changed',
  'device.state_changed',
  'registration.changed',
] as const;

export type EndpointSourceEvent = PbxEventOf<(typeof ENDPOINT_SOURCE_EVENTS)[number]>;

/**
 * What an event changes of its endpoint(s), as `endpoint.updated`'s `changed` tags. Pure.
 * - `contacts`: a contact appeared, went away, was refreshed or changed status.
 * - `reachability`: the endpoint's aggregate reachability flipped, or a qualify found a contact
 *   reachable or unreachable.
 * - `rtt`: a qualify measured a round trip, or the contact stopped being reachable (its RTT is gone).
 * - `device_state`: Asterisk's device state of `PJSIP/<endpoint>`.
 */
export function endpointChangesOf(e: EndpointSourceEvent): EndpointChange[] {
  switch (e.type) {
    case 'contact.status_changed': {
      // In `ENDPOINT_CHANGES` order, like a coalesced delta's tags.
      const changed: EndpointChange[] = ['contacts'];
      if ((e.status === 'reachable' && e.rttUsec !== undefined) || e.status === 'unreachable')
        changed.push('rtt');
      if (e.status === 'reachable' || e.status === 'unreachable') changed.push('reachability');
      return changed;
    }
    case 'registration.changed':
      return ['contacts'];
    case 'endpoint.reachability_changed':
      return ['reachability'];
    case 'device.state_changed':
      return ['device_state'];
    default: {
      const never: never = e;
      return never;
    }
  }
}

/**
 * Collects dirty endpoints per node and hands each to `flushTo` once per interval, with the union of
 * the tags it collected. The first mark after a flush arms one timer; marks until it fires only add
 * to the batch, so there is at most one flush per interval however busy the PBX.
 */
export class EndpointUpdateCoalescer {
  private readonly logger = new Logger(EndpointUpdateCoalescer.name);
  /** node → endpoint → tags, in first-marked order. */
  private dirty = new Map<string, Map<string, Set<EndpointChange>>>();
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly intervalMs: number,
    private readonly flushTo: (node: string, endpoint: string, changed: EndpointChange[]) => void,
  ) {}

  mark(node: string, endpoint: string, changed: readonly EndpointChange[]): void {
    if (this.stopped || changed.length === 0) return;
    let endpoints = this.dirty.get(node);
    if (!endpoints) this.dirty.set(node, (endpoints = new Map<string, Set<EndpointChange>>()));
    let tags = endpoints.get(endpoint);
    if (!tags) endpoints.set(endpoint, (tags = new Set<EndpointChange>()));
    for (const c of changed) tags.add(c);
    if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.intervalMs);
      // Pending viewer updates must not keep a stopping process alive.
      this.timer.unref();
    }
  }

  /** Endpoints waiting for the next flush. */
  get pending(): number {
    let n = 0;
    for (const endpoints of this.dirty.values()) n += endpoints.size;
    return n;
  }

  /** Hand over everything collected now (the timer calls this). */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.dirty;
    this.dirty = new Map<string, Map<string, Set<EndpointChange>>>();
    for (const [node, endpoints] of batch) {
      for (const [endpoint, tags] of endpoints) {
        try {
          this.flushTo(
            node,
            endpoint,
            ENDPOINT_CHANGES.filter((c) => tags.has(c)),
          );
        } catch (err) {
          // Runs from a timer: an exception here would reach the process, not a caller.
          this.logger.error(
            `endpoint update of ${endpoint} (node ${node}) failed: ${(err as Error).message}`,
            (err as Error).stack,
          );
        }
      }
    }
  }

  /** Cancel the timer and drop what is pending; later marks are ignored. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.dirty.clear();
  }
}
