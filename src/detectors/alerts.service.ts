import { Inject, Injectable, Logger } from '@nestjs/common';
import { EventBus } from '../events/event-bus';
import type { Alert, AlertType } from '../events/pbx-events';
import { type Clock, DETECTION_CLOCK, printable } from './detection.common';

/** What detectors need from the alert book (AlertsService in the daemon). */
export interface AlertSink {
  /**
   * Raises `alert`, or, when an alert with its id is active, updates it in place (count, lastSeen,
   * message, details …) without publishing again. Returns true when the alert was newly raised.
   */
  upsert(alert: Alert): boolean;
  /** Clears the active alert `id` and publishes `alert.cleared`; false when it was not active. */
  clear(id: string, reason: string): boolean;
}

export interface AlertFilter {
  node?: string;
  type?: AlertType;
  endpoint?: string;
}

/**
 * The active alerts of every node. Publishes `alert.raised` once per alert and `alert.cleared` when it
 * ends; repeated occurrences only update the stored alert, so clients read current counts from the
 * API snapshot instead of receiving an event per failed REGISTER.
 */
@Injectable()
export class AlertsService implements AlertSink {
  private readonly logger = new Logger(AlertsService.name);
  private readonly active = new Map<string, Alert>();

  constructor(
    private readonly bus: EventBus,
    @Inject(DETECTION_CLOCK) private readonly now: Clock,
  ) {}

  upsert(alert: Alert): boolean {
    const current = this.active.get(alert.id);
    if (current) {
      Object.assign(current, structuredClone(alert), { since: current.since });
      return false;
    }
    this.active.set(alert.id, structuredClone(alert));
    this.logger.log(`${alert.node}: ${alert.type} alert raised for endpoint ${printable(alert.endpoint)}`);
    this.bus.publish({
      type: 'alert.raised',
      node: alert.node,
      ts: this.now(),
      source: 'daemon',
      alert: structuredClone(alert),
    });
    return true;
  }

  clear(id: string, reason: string): boolean {
    const alert = this.active.get(id);
    if (!alert) return false;
    this.active.delete(id);
    this.logger.log(
      `${alert.node}: ${alert.type} alert cleared for endpoint ${printable(alert.endpoint)} (${reason})`,
    );
    this.bus.publish({
      type: 'alert.cleared',
      node: alert.node,
      ts: this.now(),
      source: 'daemon',
      alert,
      reason,
    });
    return true;
  }

  get(id: string): Alert | undefined {
    const alert = this.active.get(id);
    return alert && structuredClone(alert);
  }

  /** Active alerts, oldest first (by `since`, then id). Copies: callers cannot change the book. */
  list(filter: AlertFilter = {}): Alert[] {
    const out: Alert[] = [];
    for (const a of this.active.values()) {
      if (filter.node !== undefined && a.node !== filter.node) continue;
      if (filter.type !== undefined && a.type !== filter.type) continue;
      if (filter.endpoint !== undefined && a.endpoint !== filter.endpoint) continue;
      out.push(structuredClone(a));
    }
    return out.sort((a, b) => (a.since < b.since ? -1 : a.since > b.since ? 1 : a.id < b.id ? -1 : 1));
  }

  get size(): number {
    return this.active.size;
  }
}
