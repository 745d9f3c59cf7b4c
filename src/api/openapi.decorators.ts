import { applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiParam, ApiResponse, ApiSecurity } from '@nestjs/swagger';
import { ApiErrorDto } from './openapi.schemas';

/** Security scheme names registered on the document (`openapi.ts`). */
export const BEARER_SCHEME = 'bearer';
export const QUERY_TOKEN_SCHEME = 'token';

type ErrorStatus = 400 | 404 | 429 | 502 | 503 | 504;

const ERROR_DESCRIPTIONS: Record<ErrorStatus, string> = {
  400: 'Bad query parameter or body (`code: BAD_REQUEST`)',
  404: 'Unknown node (`NODE_NOT_FOUND`) or endpoint (`ENDPOINT_NOT_FOUND`)',
  429: 'Called again too soon (`RATE_LIMITED`, `Retry-After` header)',
  502: 'Asterisk refused or failed the action',
  503:
    'The AMI link of the node is not connected (`NODE_NOT_CONNECTED`, `AMI_CLOSED`); cluster: the node is ' +
    'watched by another daemon that could not be asked (`NODE_OWNER_UNREACHABLE`)',
  504: 'Asterisk did not answer in time (`AMI_TIMEOUT`)',
};

/** Error responses of a route, each with the `{statusCode, code, message}` body of the error filter. */
export function ApiErrors(...statuses: ErrorStatus[]): ClassDecorator & MethodDecorator {
  return applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({ status, description: ERROR_DESCRIPTIONS[status], type: ApiErrorDto }),
    ),
  );
}

/**
 * Reads guarded by `ViewerGuard`: the viewer or admin token as `Authorization: Bearer` or `?token=`,
 * needed only when `auth.viewerToken` is configured (otherwise the route is open).
 */
export function ViewerAuth(): ClassDecorator & MethodDecorator {
  return applyDecorators(
    ApiBearerAuth(BEARER_SCHEME),
    ApiSecurity(QUERY_TOKEN_SCHEME),
    ApiResponse({
      status: 401,
      description:
        'auth.viewerToken is configured and the request carries neither the viewer nor the admin token',
      type: ApiErrorDto,
    }),
  );
}

/** Control routes (`AdminGuard`): the admin token, as `Authorization: Bearer` only. */
export function AdminAuth(): ClassDecorator & MethodDecorator {
  return applyDecorators(
    ApiBearerAuth(BEARER_SCHEME),
    ApiResponse({
      status: 401,
      description: 'No or invalid token, or no admin token configured',
      type: ApiErrorDto,
    }),
    ApiResponse({
      status: 403,
      description: 'Viewer token: control needs the admin token',
      type: ApiErrorDto,
    }),
  );
}

/** The `{node}` path parameter of every per-node route. */
export const ApiNodeParam = (): ClassDecorator & MethodDecorator =>
  ApiParam({ name: 'node', description: 'A configured node name (`nodes[].name`)', example: 'pbx1' });
