import { Inject, Injectable, type OnModuleDestroy, Optional } from '@nestjs/common';
import { EventBus } from '../events/event-bus';
import type { PbxEvent } from '../events/pbx-events';
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
  private readonly unsubscribe: () => void;

  constructor(
    bus: EventBus,
    private readonly hub: GatewayHub,
    private readonly nodes: NodeStateStore,
    @Optional() @Inject(REGISTRATION_READER) private readonly registrations?: RegistrationReader,
  ) {
    hub.contribute('nodes', () => nodes.all());
    if (registrations) {
      hub.contribute('endpoints', () =>
        nodes.names().flatMap((node) => registrations.endpoints(node).map((e) => ({ node, ...e }))),
      );
    }
    this.unsubscribe = bus.subscribe((e) => this.onEvent(e));
  }

  onModuleDestroy(): void {
    this.unsubscribe();
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
