import { Controller, Get, Param, Query, UseGuards, UseInterceptors } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { BadRequestError } from '../common/errors';
import {
  SECURITY_EVENT_TYPES,
  type SecurityEventRecord,
  type SecurityEventType,
} from '../detectors/security-event.log';
import { SecurityEventsService } from '../detectors/security-events.service';
import type { UnknownAccountOffender } from '../detectors/unknown-account.tracker';
import { NodeStateStore } from '../state/node-state.store';
import { KnownQueryInterceptor } from './known-query.interceptor';
import { requireNode } from './node-param';
import { ApiErrors, ApiNodeParam, ViewerAuth } from './openapi.decorators';
import { SecurityEventsResponseDto, UnknownAccountsResponseDto } from './openapi.schemas';
import { ViewerGuard } from './viewer.guard';

export const SECURITY_EVENTS_DEFAULT_LIMIT = 100;
export const SECURITY_EVENTS_MAX_LIMIT = 1000;
export const TOP_OFFENDERS = 20;

export interface SecurityEventsResponse {
  events: SecurityEventRecord[];
}

export interface UnknownAccountsResponse {
  offenders: UnknownAccountOffender[];
}

/** `?since=`: an ISO 8601 date or date-time (`2026-11-23`, `2026-11-23T11:00:00Z`, `…+01:00`). */
const ISO_8601 =
  /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

/** Short forms accepted by `?type=`: the part after the dot (`challenge_failed`). */
const TYPE_BY_NAME = new Map<string, SecurityEventType>(
  SECURITY_EVENT_TYPES.flatMap((t): Array<[string, SecurityEventType]> => [
    [t, t],
    [t.slice(t.indexOf('.') + 1), t],
  ]),
);

export function parseSince(raw: unknown): number | undefined {
  if (raw === undefined) return undefined;
  const ms = typeof raw === 'string' && ISO_8601.test(raw.trim()) ? Date.parse(raw.trim()) : NaN;
  if (Number.isNaN(ms)) throw new BadRequestError('since: expected an ISO 8601 time');
  return ms;
}

/** One type, or several comma-separated; full (`auth.challenge_failed`) or short (`challenge_failed`). */
export function parseTypes(raw: unknown): ReadonlySet<SecurityEventType> | undefined {
  if (raw === undefined) return undefined;
  const names = typeof raw === 'string' ? raw.split(',').map((s) => s.trim()) : [];
  const types = names.map((n) => TYPE_BY_NAME.get(n));
  if (names.length === 0 || types.some((t) => t === undefined)) {
    throw new BadRequestError(
      `type: expected one of ${SECURITY_EVENT_TYPES.join(', ')} (or the part after the dot), comma-separated`,
    );
  }
  return new Set(types as SecurityEventType[]);
}

export function parseLimit(raw: unknown): number {
  if (raw === undefined) return SECURITY_EVENTS_DEFAULT_LIMIT;
  const n = typeof raw === 'string' && /^\d{1,7}$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (!(n >= 1 && n <= SECURITY_EVENTS_MAX_LIMIT)) {
    throw new BadRequestError(`limit: expected an integer from 1 to ${SECURITY_EVENTS_MAX_LIMIT}`);
  }
  return n;
}

/** A node's recent SIP security events and the sources of unknown-account requests. */
@ApiTags('security')
@ViewerAuth()
@ApiNodeParam()
@ApiErrors(400, 404, 503)
@Controller('api/v1/nodes/:node')
@UseGuards(ViewerGuard)
@UseInterceptors(KnownQueryInterceptor)
export class SecurityEventsController {
  constructor(
    private readonly state: NodeStateStore,
    private readonly securityEvents: SecurityEventsService,
  ) {}

  /** Newest first; `since` (ISO 8601), `type`, `limit` (1..1000, default 100). */
  @Get('security-events')
  @ApiOperation({
    summary: 'Recent SIP security events (challenges, failures, unknown accounts, ACL denials), newest first',
  })
  @ApiQuery({
    name: 'since',
    required: false,
    type: String,
    description: 'ISO 8601 date or date-time: only events received at or after it',
    example: '2026-11-23T11:00:00Z',
  })
  @ApiQuery({
    name: 'type',
    required: false,
    type: String,
    description: `Comma-separated: ${SECURITY_EVENT_TYPES.join(', ')}, or the part after the dot`,
    example: 'challenge_failed,account_unknown',
  })
  @ApiQuery({
    name: 'limit',
    required: false,
    schema: {
      type: 'integer',
      minimum: 1,
      maximum: SECURITY_EVENTS_MAX_LIMIT,
      default: SECURITY_EVENTS_DEFAULT_LIMIT,
    },
  })
  @ApiOkResponse({ type: SecurityEventsResponseDto })
  list(
    @Param('node') node: string,
    @Query('since') since?: unknown,
    @Query('type') type?: unknown,
    @Query('limit') limit?: unknown,
  ): SecurityEventsResponse {
    requireNode(this.state, node);
    const query = { since: parseSince(since), types: parseTypes(type), limit: parseLimit(limit) };
    return { events: this.securityEvents.query(node, query) };
  }

  /** The 20 remote addresses with the most requests for accounts that do not exist. */
  @Get('unknown-accounts')
  @ApiOperation({
    summary: `The ${TOP_OFFENDERS} source addresses with the most requests for accounts that do not exist`,
  })
  @ApiOkResponse({ type: UnknownAccountsResponseDto })
  unknownAccounts(@Param('node') node: string): UnknownAccountsResponse {
    requireNode(this.state, node);
    return { offenders: this.securityEvents.offenders(node, TOP_OFFENDERS) };
  }
}
