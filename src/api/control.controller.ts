import { Body, Controller, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { type QualifyResponse, type ReloadResponse, ControlService } from '../control/control.service';
import { DEFAULT_RELOAD_MODULE, RELOAD_MODULE_NAMES } from '../control/reload-modules';
import { AdminGuard, ControlRoute } from './admin.guard';

/** Route paths of the control calls (also where an unreadable request body is audited). */
export const CONTROL_ROUTES = {
  reload: '/api/v1/nodes/:node/reload',
  qualify: '/api/v1/nodes/:node/endpoints/:name/qualify',
} as const;

/** Commands (admin token): reload an allowlisted module, qualify an endpoint. Every call is audited. */
@ApiTags('control')
@ApiBearerAuth()
@ApiResponse({ status: 401, description: 'No or invalid token, or no admin token configured' })
@ApiResponse({ status: 403, description: 'Viewer token' })
@ApiResponse({ status: 404, description: 'Unknown node (or endpoint)' })
@ApiResponse({ status: 503, description: 'AMI of the node not connected' })
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
  @ApiResponse({ status: 400, description: 'Bad body or module not in the allowlist' })
  @ApiResponse({ status: 429, description: 'Reloaded too recently (Retry-After header)' })
  @ApiResponse({ status: 502, description: 'Asterisk refused the reload' })
  reload(@Param('node') node: string, @Body() body: unknown): Promise<ReloadResponse> {
    return this.control.reload(node, body, 'admin');
  }

  @Post(CONTROL_ROUTES.qualify)
  @ControlRoute('qualify')
  @HttpCode(200)
  @ApiOperation({ summary: "Qualify the endpoint's contacts now (results arrive as contact status changes)" })
  qualify(@Param('node') node: string, @Param('name') name: string): Promise<QualifyResponse> {
    return this.control.qualify(node, name, 'admin');
  }
}
