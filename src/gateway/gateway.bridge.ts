import { Inject, Injectable, type OnModuleDestroy, Optional } from '@nestjs/common';
import { stripTech } from '../common/asterisk.vocabulary';
import { AlertsService } from '../detectors/alerts.service';
import { EventBus } from '../events/event-bus';
import type { PbxEvent } from '../events/pbx-events';
import { CallStore } from '../state/calls/call.store';
import { NodeStateStore } from '../state/node-state.store';
import { REGISTRATION_READER, type RegistrationReader } from '../state/registrations/registration.views';
import {
  ENDPOINT_SOURCE_EVENTS,
  ENDPOINT_UPDATE_INTERVAL_MS,
  EndpointUpdateCoalescer,
  endpointChangesOf,
  type EndpointSourceEvent,
} from './endpoint-updates';
import { GatewayHub } from './gateway.hub';
import { CALL_QUALITY_INTERVAL_MS, LatestValueCoalescer } from './call-quality-updates';
import type { CallQualityData, EndpointChange } from './gateway.protocol';

/**
 * Turns internal events into gateway deltas and lends the stores to the snapshot. Deltas carry the
 * full current object (a node, an endpoint, an alert), so a client applies them as upserts and a
 * duplicate is harmless. Subscribed in the bus's `read` phase: the stores have applied an event
 * before the bridge reads them.
 */
@Injectable()
export class GatewayBridge implements OnModuleDestroy {
  private readonly unsubscribe: Array<() => void> = [];
  /** Latest RTCP quality per channel, sent at most once a second (`call.quality`). */
  private readonly quality: LatestValueCoalescer<CallQualityData>;

  constructor(
    bus: EventBus,
    private readonly hub: GatewayHub,
    private readonly nodes: NodeStateStore,
    @Optional() @Inject(REGISTRATION_READER) private readonly registrations?: RegistrationReader,
    @Optional() alerts?: AlertsService,
    @Optional() calls?: CallStore,
  ) {
    hub.contribute('nodes', () => nodes.all());
    if (alerts) hub.contribute('alerts', () => alerts.list());
    if (registrations) {
      hub.contribute('endpoints', () =>
        nodes.names().flatMap((node) => registrations.endpoints(node).map((e) => ({ node, ...e }))),
      );
      const updates = new EndpointUpdateCoalescer(ENDPOINT_UPDATE_INTERVAL_MS, (node, endpoint, changed) =>
        this.publishEndpoint(registrations, node, endpoint, changed),
      );
      this.unsubscribe.push(
        bus.on(ENDPOINT_SOURCE_EVENTS, (e) => this.markEndpoints(registrations, updates, e)),
        () => updates.stop(),
      );
    }
    if (calls) {
      hub.contribute('calls', () => nodes.names().flatMap((node) => calls.activeCalls(node) ?? []));
    }
    this.quality = new LatestValueCoalescer<CallQualityData>(CALL_QUALITY_INTERVAL_MS, (node, data) =>
      this.hub.publish('call.quality', node, data),
    );
    this.unsubscribe.push(() => this.quality.stop());
    this.unsubscribe.push(bus.subscribe((e) => this.onEvent(e)));
  }

  onModuleDestroy(): void {
    for (const off of this.unsubscribe.splice(0)) off();
  }

  private onEvent(e: PbxEvent): void {
    switch (e.type) {
      case 'node.connection_changed':
      case 'node.info_updated': {
        const view = this.nodes.get(e.node);
        if (view) this.hub.publish('node.status', e.node, view, e.ts);
        return;
      }
      case 'state.resynced':
        this.hub.publish('state.resynced', e.node, { link: e.link, counts: e.counts }, e.ts);
        return;
      case 'registration.changed': {
        const endpoint = this.registrations?.endpoint(e.node, e.endpoint);
        const contacts = this.registrations?.contacts(e.node, e.endpoint);
        this.hub.publish(
          'registration.changed',
          e.node,
          {
            endpoint: e.endpoint,
            registered: e.registered,
            contacts: e.contacts,
            view: endpoint ?? null,
            contactList: contacts ?? [],
          },
          e.ts,
        );
        return;
      }
      case 'call.updated':
        this.hub.publish(
          'call.updated',
          e.node,
          e.supersedes ? { ...e.call, supersedes: e.supersedes } : e.call,
          e.ts,
        );
        return;
      case 'call.ended':
        // The ended call carries its final quality: a pending update would only resurrect it.
        for (const c of e.call.channels) this.quality.drop(e.node, c.uniqueid);
        this.hub.publish('call.ended', e.node, e.call, e.ts);
        return;
      case 'call.quality_updated':
        this.quality.set(e.node, e.uniqueid, {
          linkedid: e.linkedid,
          uniqueid: e.uniqueid,
          endpoint: e.endpoint,
          quality: e.quality,
          callQuality: e.callQuality,
        });
        return;
      case 'alert.raised':
        this.hub.publish('alert.raised', e.node, e.alert, e.ts);
        return;
      case 'alert.cleared':
        this.hub.publish('alert.cleared', e.node, { ...e.alert, clearedBecause: e.reason }, e.ts);
        return;
      default:
        return;
    }
  }

  private markEndpoints(
    reader: RegistrationReader,
    updates: EndpointUpdateCoalescer,
    e: EndpointSourceEvent,
  ): void {
    const changed = endpointChangesOf(e);
    const names = new Set<string>();
    switch (e.type) {
      case 'contact.status_changed':
        // A contact belongs to its AOR: every endpoint listing that AOR shows it.
        if (e.endpoint) names.add(e.endpoint);
        for (const name of reader.aor(e.node, e.aor)?.endpoints ?? []) names.add(name);
        break;
      case 'device.state_changed':
        names.add(stripTech(e.device));
        break;
      case 'endpoint.reachability_changed':
      case 'registration.changed':
        names.add(e.endpoint);
        break;
      default: {
        const never: never = e;
        return never;
      }
    }
    // Events never create endpoints (the configuration does): one the store does not know has no view.
    for (const name of names) {
      if (reader.isKnownEndpoint(e.node, name)) updates.mark(e.node, name, changed);
    }
  }

  private publishEndpoint(
    reader: RegistrationReader,
    node: string,
    endpoint: string,
    changed: EndpointChange[],
  ): void {
    const view = reader.endpoint(node, endpoint) ?? null;
    const contactList = view ? reader.contacts(node, endpoint) : [];
    this.hub.publish('endpoint.updated', node, { endpoint, view, contactList, changed });
  }
}
