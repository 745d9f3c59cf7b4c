import { Controller, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { type QualifyResponse, type ReloadResponse, ControlService } from '../control/control.service';
import { DEFAULT_RELOAD_MODULE, RELOAD_MODULE_NAMES } from '../control/reload-modules';
import { AdminGuard, ControlRoute } from './admin.guard';
import { CONTROL_ROUTES } from './control.routes';
import { JsonBody } from './json-body';
import { AdminAuth, ApiErrors, ApiNodeParam } from './openapi.decorators';
import { QualifyResponseDto, ReloadResponseDto } from './openapi.schemas';

/**
 * Commands (admin token): reload an allowlisted module, qualify an endpoint. Every call is audited.
 * A body must be JSON (`Content-Type: application/json`) of the route's shape, else 400.
 */
@ApiTags('control')
@AdminAuth()
@ApiNodeParam()
@ApiErrors(400, 404, 503)
@Controller()
@UseGuards(AdminGuard)
export class ControlController {
  constructor(private readonly control: ControlService) {}

  @Post(CONTROL_ROUTES.reload)
  @ControlRoute('reload')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Reload one allowlisted module, then re-diagnose the node',
    description: `Modules: ${RELOAD_MODULE_NAMES.join(', ')} (default ${DEFAULT_RELOAD_MODULE}). One reload per node per control.reloadMinIntervalMs.`,
  })
  @ApiBody({
    required: false,
    schema: {
      type: 'object',
      properties: { module: { type: 'string', enum: RELOAD_MODULE_NAMES, default: DEFAULT_RELOAD_MODULE } },
      additionalProperties: false,
    },
  })
  @ApiErrors(429, 502)
  @ApiOkResponse({ type: ReloadResponseDto })
  reload(@Param('node') node: string, @JsonBody() body: unknown): Promise<ReloadResponse> {
    return this.control.reload(node, body, 'admin');
  }

  @Post(CONTROL_ROUTES.qualify)
  @ControlRoute('qualify')
  @HttpCode(200)
  @ApiOperation({ summary: "Qualify the endpoint's contacts now (results arrive as contact status changes)" })
  @ApiBody({
    required: false,
    description: 'None, or `{}`: qualify takes no parameters',
    schema: { type: 'object', additionalProperties: false, maxProperties: 0 },
  })
  @ApiOkResponse({ type: QualifyResponseDto })
  qualify(
    @Param('node') node: string,
    @Param('name') name: string,
    @JsonBody() body: unknown,
  ): Promise<QualifyResponse> {
    return this.control.qualify(node, name, 'admin', body);
  }
}
