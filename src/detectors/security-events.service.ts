import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { PBXPULSE_CONFIG } from '../config/config.module';
import type { PbxpulseConfig } from '../config/config.types';
import { EventBus } from '../events/event-bus';
import {
  SECURITY_EVENT_TYPES,
  SecurityEventLog,
  type SecurityEventQuery,
  type SecurityEventRecord,
} from './security-event.log';
import { UnknownAccountTracker, type UnknownAccountOffender } from './unknown-account.tracker';

/**
 * Keeps every node's recent security events (ring buffer of `securityEventBuffer`) and the sources of
 * unknown-account requests. Accounts are attacker-controlled: stored and returned as data (JSON
 * encodes them), never logged here.
 */
@Injectable()
export class SecurityEventsService implements OnModuleDestroy {
  private readonly log: SecurityEventLog;
  private readonly unknownAccounts = new UnknownAccountTracker();
  private readonly unsubscribe: () => void;

  constructor(@Inject(PBXPULSE_CONFIG) config: PbxpulseConfig, bus: EventBus) {
    this.log = new SecurityEventLog(config.detection.securityEventBuffer);
    this.unsubscribe = bus.on(SECURITY_EVENT_TYPES, (e) => {
      this.log.add(e);
      if (e.type === 'auth.account_unknown') this.unknownAccounts.add(e);
    });
  }

  onModuleDestroy(): void {
    this.unsubscribe();
  }

  /** Newest first. */
  query(node: string, q: SecurityEventQuery): SecurityEventRecord[] {
    return this.log.query(node, q);
  }

  /** Top sources of unknown-account requests by attempts. */
  offenders(node: string, limit = 20): UnknownAccountOffender[] {
    return this.unknownAccounts.top(node, limit);
  }
}
