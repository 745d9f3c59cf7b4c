import { Controller, Get, Param, Query, UseGuards, UseInterceptors } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { BadRequestError } from '../common/errors';
import { CallStore, DEFAULT_RECENT_CALLS } from '../state/calls/call.store';
import type { CallView, EndedCallView } from '../state/calls/call.views';
import { NodeStateStore } from '../state/node-state.store';
import { KnownQueryInterceptor } from './known-query.interceptor';
import { requireNode } from './node-param';
import { ApiErrors, ApiNodeParam, ViewerAuth } from './openapi.decorators';
import { ActiveCallsResponseDto, RecentCallsResponseDto } from './openapi.schemas';
import { ViewerGuard } from './viewer.guard';

export interface ActiveCallsResponse {
  calls: CallView[];
}

export interface RecentCallsResponse {
  calls: EndedCallView[];
}

/** Default and ceiling of `?limit=` on `/calls/recent` (the ceiling is what the store keeps). */
export const RECENT_DEFAULT_LIMIT = 50;
export const RECENT_MAX_LIMIT = DEFAULT_RECENT_CALLS;

@ApiTags('calls')
@ViewerAuth()
@ApiNodeParam()
@ApiErrors(400, 404, 503)
@Controller('api/v1/nodes/:node/calls')
@UseGuards(ViewerGuard)
@UseInterceptors(KnownQueryInterceptor)
export class CallsController {
  constructor(
    private readonly state: NodeStateStore,
    private readonly calls: CallStore,
  ) {}

  /** Active calls of the node (channels grouped by linkedid), oldest first. */
  @Get()
  @ApiOperation({ summary: 'Active calls (channels grouped by linkedid), oldest first' })
  @ApiOkResponse({ type: ActiveCallsResponseDto })
  active(@Param('node') node: string): ActiveCallsResponse {
    return { calls: this.calls.activeCalls(requireNode(this.state, node)) ?? [] };
  }

  /** Ended calls, newest first, with classification, cause and duration (the last N kept per node). */
  @Get('recent')
  @ApiOperation({ summary: 'Ended calls, newest first, with classification, cause and duration' })
  @ApiQuery({
    name: 'limit',
    required: false,
    schema: { type: 'integer', minimum: 1, maximum: RECENT_MAX_LIMIT, default: RECENT_DEFAULT_LIMIT },
  })
  @ApiOkResponse({ type: RecentCallsResponseDto })
  recent(@Param('node') node: string, @Query('limit') limit?: unknown): RecentCallsResponse {
    const name = requireNode(this.state, node);
    return { calls: this.calls.recentCalls(name, parseLimit(limit)) ?? [] };
  }
}

function parseLimit(raw: unknown): number {
  if (raw === undefined) return RECENT_DEFAULT_LIMIT;
  const n = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > RECENT_MAX_LIMIT) {
    throw new BadRequestError(`limit must be an integer between 1 and ${RECENT_MAX_LIMIT}`);
  }
  return n;
}
