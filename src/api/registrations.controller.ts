import { Controller, Get, Inject, Param, Query, UseGuards, UseInterceptors } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { BadRequestError } from '../common/errors';
import { NodeStateStore } from '../state/node-state.store';
import {
  ENDPOINT_DETAIL_CONTRIBUTORS,
  type EndpointDetailContributors,
} from '../state/registrations/endpoint-detail';
import { EndpointNotFoundError } from '../state/registrations/registration.errors';
import {
  type AorView,
  type ContactView,
  type EndpointView,
  REGISTRATION_READER,
  type RegistrationReader,
} from '../state/registrations/registration.views';
import { KnownQueryInterceptor } from './known-query.interceptor';
import { requireNode } from './node-param';
import { ApiErrors, ApiNodeParam, ViewerAuth } from './openapi.decorators';
import {
  AorsResponseDto,
  ContactsResponseDto,
  EndpointDetailResponseDto,
  EndpointsResponseDto,
} from './openapi.schemas';
import { ViewerGuard } from './viewer.guard';

export interface EndpointsResponse {
  endpoints: EndpointView[];
}

/** The endpoint, the contacts it is reachable through, and whatever the detail contributors add. */
export interface EndpointDetailResponse extends Record<string, unknown> {
  endpoint: EndpointView;
  contacts: ContactView[];
}

export interface ContactsResponse {
  contacts: ContactView[];
}

export interface AorsResponse {
  aors: AorView[];
}

/** Reads of the live registration state of one node. */
@ApiTags('registrations')
@ViewerAuth()
@ApiNodeParam()
@ApiErrors(400, 404, 503)
@Controller('api/v1/nodes/:node')
@UseGuards(ViewerGuard)
@UseInterceptors(KnownQueryInterceptor)
export class RegistrationsController {
  constructor(
    private readonly nodes: NodeStateStore,
    @Inject(REGISTRATION_READER) private readonly reader: RegistrationReader,
    @Inject(ENDPOINT_DETAIL_CONTRIBUTORS) private readonly details: EndpointDetailContributors,
  ) {}

  /** PJSIP endpoints sorted by name; `?registered=true|false` keeps those with / without a contact. */
  @Get('endpoints')
  @ApiOperation({ summary: 'PJSIP endpoints with registration state, sorted by name' })
  @ApiQuery({
    name: 'registered',
    required: false,
    enum: ['true', 'false'],
    description: 'Keep the endpoints with (`true`) or without (`false`) a registered contact',
  })
  @ApiOkResponse({ type: EndpointsResponseDto })
  endpoints(@Param('node') node: string, @Query('registered') registered?: unknown): EndpointsResponse {
    requireNode(this.nodes, node);
    const filter = parseRegistered(registered);
    const endpoints = this.reader.endpoints(node);
    return { endpoints: filter === undefined ? endpoints : endpoints.filter((e) => e.registered === filter) };
  }

  @Get('endpoints/:name')
  @ApiOperation({
    summary: 'One endpoint: its state, its contacts, active 401 loops / AOR-not-found, recent auth events',
  })
  @ApiOkResponse({ type: EndpointDetailResponseDto })
  async endpoint(@Param('node') node: string, @Param('name') name: string): Promise<EndpointDetailResponse> {
    requireNode(this.nodes, node);
    const endpoint = this.reader.endpoint(node, name);
    if (!endpoint) throw new EndpointNotFoundError(node, name);
    // The one place the detail is assembled: contributors add their keys, ours come last and win.
    const extra = await this.details.collect(node, name);
    return { ...extra, endpoint, contacts: this.reader.contacts(node, name) };
  }

  /** Every registered contact of the node, sorted by endpoint, AOR and URI. */
  @Get('contacts')
  @ApiOperation({ summary: 'Every registered contact, sorted by endpoint, AOR and URI' })
  @ApiOkResponse({ type: ContactsResponseDto })
  contacts(@Param('node') node: string): ContactsResponse {
    requireNode(this.nodes, node);
    return { contacts: this.reader.contacts(node) };
  }

  @Get('aors')
  @ApiOperation({ summary: 'AORs with their registered contact count and the endpoints naming them' })
  @ApiOkResponse({ type: AorsResponseDto })
  aors(@Param('node') node: string): AorsResponse {
    requireNode(this.nodes, node);
    return { aors: this.reader.aors(node) };
  }
}

function parseRegistered(raw: unknown): boolean | undefined {
  if (raw === undefined) return undefined;
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  const got = typeof raw === 'string' ? `'${raw.slice(0, 40)}'` : 'a repeated parameter';
  throw new BadRequestError(`query parameter 'registered' must be 'true' or 'false', got ${got}`);
}
