import { Controller, Get, Param, UseGuards, UseInterceptors } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { HttpStatus, PjsipObject, TransportRow } from '../common/pbx.records';
import { type EndpointDetail, type ModuleStatus, PjsipShowService } from '../health/pjsip/pjsip-show.service';
import { NodeStateStore } from '../state/node-state.store';
import { OutboundRegistrationStore } from '../state/trunks/outbound-registration.store';
import type { OutboundRegistrationView } from '../state/trunks/outbound-registration.views';
import { TrunkStore } from '../state/trunks/trunk.store';
import type { TrunkView } from '../state/trunks/trunk.views';
import { KnownQueryInterceptor } from './known-query.interceptor';
import { requireNode } from './node-param';
import { ApiErrors, ApiNodeParam, ViewerAuth } from './openapi.decorators';
import {
  HttpStatusDto,
  ModulesResponseDto,
  OutboundRegistrationsResponseDto,
  PJSIP_ENDPOINT_DETAIL_SCHEMA,
  TransportsResponseDto,
  TrunksResponseDto,
  pjsipListSchema,
} from './openapi.schemas';
import { ViewerGuard } from './viewer.guard';

/** `pjsip show …` equivalents, read live over AMI (options normalised, secrets dropped). */
@ApiTags('pjsip')
@ViewerAuth()
@ApiNodeParam()
@ApiErrors(400, 404, 502, 503, 504)
@Controller('api/v1/nodes/:node')
@UseGuards(ViewerGuard)
@UseInterceptors(KnownQueryInterceptor)
export class PjsipController {
  constructor(
    private readonly nodes: NodeStateStore,
    private readonly pjsip: PjsipShowService,
    private readonly outboundRegistrations: OutboundRegistrationStore,
    private readonly trunkStore: TrunkStore,
  ) {}

  @Get('pjsip/endpoints')
  @ApiOperation({ summary: '`pjsip show endpoints`' })
  @ApiOkResponse({ schema: pjsipListSchema('endpoints') })
  async endpoints(@Param('node') node: string): Promise<{ endpoints: PjsipObject[] }> {
    return { endpoints: await this.pjsip.endpoints(requireNode(this.nodes, node)) };
  }

  @Get('pjsip/endpoints/:name')
  @ApiOperation({
    summary: '`pjsip show endpoint <name>`: options, auths, AORs, transports, contacts, identifies',
  })
  @ApiOkResponse({ schema: PJSIP_ENDPOINT_DETAIL_SCHEMA })
  endpoint(@Param('node') node: string, @Param('name') name: string): Promise<EndpointDetail> {
    return this.pjsip.endpoint(requireNode(this.nodes, node), name);
  }

  @Get('pjsip/aors')
  @ApiOperation({ summary: '`pjsip show aors`' })
  @ApiOkResponse({ schema: pjsipListSchema('aors') })
  async aors(@Param('node') node: string): Promise<{ aors: PjsipObject[] }> {
    return { aors: await this.pjsip.aors(requireNode(this.nodes, node)) };
  }

  @Get('pjsip/auths')
  @ApiOperation({ summary: '`pjsip show auths` (passwords dropped)' })
  @ApiOkResponse({ schema: pjsipListSchema('auths') })
  async auths(@Param('node') node: string): Promise<{ auths: PjsipObject[] }> {
    return { auths: await this.pjsip.auths(requireNode(this.nodes, node)) };
  }

  @Get('pjsip/contacts')
  @ApiOperation({ summary: '`pjsip show contacts`' })
  @ApiOkResponse({ schema: pjsipListSchema('contacts') })
  async contacts(@Param('node') node: string): Promise<{ contacts: PjsipObject[] }> {
    return { contacts: await this.pjsip.contacts(requireNode(this.nodes, node)) };
  }

  @Get('pjsip/transports')
  @ApiOperation({ summary: '`pjsip show transports`' })
  @ApiOkResponse({ type: TransportsResponseDto })
  async transports(@Param('node') node: string): Promise<{ transports: TransportRow[] }> {
    return { transports: await this.pjsip.transports(requireNode(this.nodes, node)) };
  }

  @Get('pjsip/registrations/inbound')
  @ApiOperation({ summary: 'Inbound registrations (`PJSIPShowRegistrationsInbound`)' })
  @ApiOkResponse({ schema: pjsipListSchema('registrations') })
  async inbound(@Param('node') node: string): Promise<{ registrations: PjsipObject[] }> {
    return { registrations: await this.pjsip.registrationsInbound(requireNode(this.nodes, node)) };
  }

  @Get('pjsip/registrations/outbound')
  @ApiOperation({
    summary:
      'Outbound registrations (trunks) with their live state: `PJSIPShowRegistrationsOutbound` and ' +
      '`pjsip show registrations`, kept current by `Registry` events',
  })
  @ApiOkResponse({ type: OutboundRegistrationsResponseDto })
  outbound(@Param('node') node: string): { registrations: OutboundRegistrationView[] } {
    return { registrations: this.outboundRegistrations.registrations(requireNode(this.nodes, node)) };
  }

  @Get('trunks')
  @ApiOperation({
    summary:
      'Trunks that do not register (endpoints whose AOR has permanent `contact=` URIs and ' +
      '`qualify_frequency`): reachability and qualify round trip, kept current by `ContactStatus` events',
  })
  @ApiOkResponse({ type: TrunksResponseDto })
  trunks(@Param('node') node: string): { trunks: TrunkView[] } {
    return { trunks: this.trunkStore.trunks(requireNode(this.nodes, node)) };
  }

  @Get('modules')
  @ApiOperation({ summary: 'Modules WebRTC and the configured codecs need, and whether they run' })
  @ApiOkResponse({ type: ModulesResponseDto })
  async modules(@Param('node') node: string): Promise<{ modules: ModuleStatus[] }> {
    return { modules: await this.pjsip.modules(requireNode(this.nodes, node)) };
  }

  @Get('http')
  @ApiOperation({ summary: '`http show status`: the HTTP/TLS listener Asterisk serves `/ws` on' })
  @ApiOkResponse({ type: HttpStatusDto })
  http(@Param('node') node: string): Promise<HttpStatus> {
    return this.pjsip.http(requireNode(this.nodes, node));
  }
}
