import { Controller, Get, Param, UseGuards } from '@nestjs/common';
import type { HttpStatus, PjsipObject, TransportRow } from '../health/pjsip/pjsip.parse';
import { type EndpointDetail, type ModuleStatus, PjsipShowService } from '../health/pjsip/pjsip-show.service';
import { NodeStateStore } from '../state/node-state.store';
import { requireNode } from './node-param';
import { ViewerGuard } from './viewer.guard';

/** `pjsip show …` equivalents, read live over AMI (options normalised, secrets dropped). */
@Controller('api/v1/nodes/:node')
@UseGuards(ViewerGuard)
export class PjsipController {
  constructor(
    private readonly nodes: NodeStateStore,
    private readonly pjsip: PjsipShowService,
  ) {}

  @Get('pjsip/endpoints')
  async endpoints(@Param('node') node: string): Promise<{ endpoints: PjsipObject[] }> {
    return { endpoints: await this.pjsip.endpoints(requireNode(this.nodes, node)) };
  }

  @Get('pjsip/endpoints/:name')
  endpoint(@Param('node') node: string, @Param('name') name: string): Promise<EndpointDetail> {
    return this.pjsip.endpoint(requireNode(this.nodes, node), name);
  }

  @Get('pjsip/aors')
  async aors(@Param('node') node: string): Promise<{ aors: PjsipObject[] }> {
    return { aors: await this.pjsip.aors(requireNode(this.nodes, node)) };
  }

  @Get('pjsip/auths')
  async auths(@Param('node') node: string): Promise<{ auths: PjsipObject[] }> {
    return { auths: await this.pjsip.auths(requireNode(this.nodes, node)) };
  }

  @Get('pjsip/contacts')
  async contacts(@Param('node') node: string): Promise<{ contacts: PjsipObject[] }> {
    return { contacts: await this.pjsip.contacts(requireNode(this.nodes, node)) };
  }

  @Get('pjsip/transports')
  async transports(@Param('node') node: string): Promise<{ transports: TransportRow[] }> {
    return { transports: await this.pjsip.transports(requireNode(this.nodes, node)) };
  }

  @Get('pjsip/registrations/inbound')
  async inbound(@Param('node') node: string): Promise<{ registrations: PjsipObject[] }> {
    return { registrations: await this.pjsip.registrationsInbound(requireNode(this.nodes, node)) };
  }

  @Get('pjsip/registrations/outbound')
  async outbound(@Param('node') node: string): Promise<{ registrations: PjsipObject[] }> {
    return { registrations: await this.pjsip.registrationsOutbound(requireNode(this.nodes, node)) };
  }

  @Get('modules')
  async modules(@Param('node') node: string): Promise<{ modules: ModuleStatus[] }> {
    return { modules: await this.pjsip.modules(requireNode(this.nodes, node)) };
  }

  @Get('http')
  http(@Param('node') node: string): Promise<HttpStatus> {
    return this.pjsip.http(requireNode(this.nodes, node));
  }
}
