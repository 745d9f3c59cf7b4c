import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { EventBus } from '../events/event-bus';
import type { SecurityEvent } from '../events/pbx-events';
import type { RegistrationReader } from '../state/registrations/registration.views';
import { DETECTION_READER } from './detection.providers';
import { classifyFailure } from './failure-classifier';
import { SECURITY_EVENT_TYPES } from './security-event.log';

/**
 * Publishes one `registration.failed` (source `daemon`) per refused request, classified from the
 * security events (see `classifyFailure`). The `pbxpulse_registration_failures_total` counter and the
 * gateway read those events, not the raw security events.
 */
@Injectable()
export class FailureClassificationService implements OnModuleDestroy {
  private readonly unsubscribe: () => void;

  constructor(
    private readonly bus: EventBus,
    @Inject(DETECTION_READER) private readonly reader: RegistrationReader,
  ) {
    this.unsubscribe = bus.on(SECURITY_EVENT_TYPES, (e) => this.onSecurityEvent(e));
  }

  onModuleDestroy(): void {
    this.unsubscribe();
  }

  private onSecurityEvent(e: SecurityEvent): void {
    const failure = classifyFailure(e, (account) => this.reader.isKnownEndpoint(e.node, account));
    if (!failure) return;
    this.bus.publish({
      type: 'registration.failed',
      node: e.node,
      ts: e.ts,
      source: 'daemon',
      endpoint: failure.endpoint,
      reason: failure.reason,
    });
  }
}
