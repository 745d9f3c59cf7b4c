import { Inject, Injectable, type OnModuleDestroy, Optional } from '@nestjs/common';
import type { Alert } from '../events/pbx-events';
import {
  ENDPOINT_DETAIL_CONTRIBUTORS,
  type EndpointDetailContributors,
} from '../state/registrations/endpoint-detail';
import { AlertsService } from './alerts.service';
import type { SecurityEventRecord } from './security-event.log';
import { SecurityEventsService } from './security-events.service';

/** Security events listed in an endpoint's detail. */
export const RECENT_AUTH_EVENTS = 20;

/** What the detectors add to `GET /api/v1/nodes/{node}/endpoints/{name}`. */
export interface EndpointDetectionDetail {
  /** The endpoint's active 401 loop; with several source IPs, the one seen most recently. */
  authLoop: Alert | null;
  /** Every active 401 loop of the endpoint (one per source IP), most recently seen first. */
  authLoops: Alert[];
  aorNotFound: Alert | null;
  /** The last 20 security events whose account is this endpoint, newest first. */
  recentAuthEvents: SecurityEventRecord[];
}

/** Key of the detectors' contribution in the `ENDPOINT_DETAIL_CONTRIBUTORS` registry. */
export const DETECTIONS_CONTRIBUTOR = 'detections';

/**
 * The detectors' part of an endpoint's detail, registered with the registration module's
 * `ENDPOINT_DETAIL_CONTRIBUTORS` when that registry is provided.
 */
@Injectable()
export class EndpointDetailService implements OnModuleDestroy {
  private readonly unregister: (() => void) | undefined;

  constructor(
    private readonly alerts: AlertsService,
    private readonly securityEvents: SecurityEventsService,
    @Optional() @Inject(ENDPOINT_DETAIL_CONTRIBUTORS) details?: EndpointDetailContributors,
  ) {
    this.unregister = details?.register(DETECTIONS_CONTRIBUTOR, (node, name) => ({
      ...this.endpointDetail(node, name),
    }));
  }

  onModuleDestroy(): void {
    this.unregister?.();
  }

  endpointDetail(node: string, name: string): EndpointDetectionDetail {
    const authLoops = this.alerts
      .list({ node, type: 'auth_loop', endpoint: name })
      .sort((a, b) => (a.lastSeen < b.lastSeen ? 1 : a.lastSeen > b.lastSeen ? -1 : 0));
    const aorNotFound = this.alerts.list({ node, type: 'aor_not_found', endpoint: name });
    return {
      authLoop: authLoops[0] ?? null,
      authLoops,
      aorNotFound: aorNotFound[0] ?? null,
      recentAuthEvents: this.securityEvents.query(node, { account: name, limit: RECENT_AUTH_EVENTS }),
    };
  }
}
