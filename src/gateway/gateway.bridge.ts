import { Inject, Injectable, type OnModuleDestroy, Optional } from '@nestjs/common';
import { AlertsService } from '../detectors/alerts.service';
import { EventBus } from '../events/event-bus';
import type { PbxEvent } from '../events/pbx-events';
import { CallStore } from '../state/calls/call.store';
import { NodeStateStore } from '../state/node-state.store';
import { REGISTRATION_READER, type RegistrationReader } from '../state/registrations/registration.views';
import { GatewayHub } from './gateway.hub';

/**
 * Turns internal events into gateway deltas and lends the stores to the snapshot. Deltas carry the
 * full current object (a node, an endpoint, an alert), so a client applies them as upserts and a
 * duplicate is harmless.
 */
@Injectable()
export class GatewayBridge implements OnModuleDestroy {
  private readonly unsubscribe: Array<() => void> = [];

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
    }
    if (calls) {
      hub.contribute('calls', () => nodes.names().flatMap((node) => calls.activeCalls(node) ?? []));
      this.unsubscribe.push(
        calls.onCallUpdated((e) =>
          hub.publish(
            'call.updated',
            e.node,
            e.supersedes ? { ...e.call, supersedes: e.supersedes } : e.call,
            e.ts,
          ),
        ),
        calls.onCallEnded((e) => hub.publish('call.ended', e.node, e.call, e.ts)),
      );
    }
    this.unsubscribe.push(bus.subscribe((e) => this.onEvent(e)));
  }

  onModuleDestroy(): void {
    for (const off of this.unsubscribe) off();
  }

  private onEvent(e: PbxEvent): void {
    switch (e.type) {
      case 'node.connection_changed':
      case 'node.info_updated':
        this.hub.publish('node.status', e.node, this.nodes.get(e.node), e.ts);
        return;
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
}
