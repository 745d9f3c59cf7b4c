import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import {
  CLOSE_BAD_MESSAGE,
  CLOSE_TOO_SLOW,
  CLOSE_UNAUTHORIZED,
  PROTOCOL_VERSION,
  TOPICS,
} from '../gateway/gateway.protocol';
import { BEARER_SCHEME, QUERY_TOKEN_SCHEME } from './openapi.decorators';

/**
 * The `/ws` stream is not an HTTP route, so OpenAPI has no place for it: it is described here, in the
 * document's markdown description. README "WebSocket stream" is the long form; keep the two in step.
 */
export const WS_PROTOCOL_MARKDOWN = `
## WebSocket stream: \`/ws\`

Live call, registration and alert state: a snapshot, then ordered deltas. Plain WebSocket, JSON text
frames, on the same port as this API: \`ws://<host>:<port>/ws\` (\`wss://\` behind a TLS proxy).

- **Auth**: when \`auth.viewerToken\` is set, send \`Authorization: Bearer <viewer or admin token>\` or,
  from a browser, \`/ws?token=<token>\`; otherwise the stream is open. Unauthorised → close code
  **${CLOSE_UNAUTHORIZED}**.
- **On connect**: \`{"type":"hello","protocol":${PROTOCOL_VERSION}}\`, then
  \`{"type":"snapshot","seq":N,"nodes":[…],"calls":[…],"endpoints":[…],"alerts":[…]}\` (\`seq\`: the
  last delta the snapshot includes; items shaped as in the REST responses below).
- **Deltas**: \`{"type":…,"seq":N,"node":"pbx1","ts":"<iso>","data":…}\`, \`seq\` strictly increasing
  on a connection. Each carries the full current object, so applying one twice is harmless.

| type | topic | \`data\` |
|---|---|---|
| \`call.updated\` | calls | the call (as in \`/calls\`); \`supersedes\` when an ARI-only call got its AMI linkedid |
| \`call.ended\` | calls | the ended call (as in \`/calls/recent\`) |
| \`registration.changed\` | registrations | \`{endpoint, registered, contacts, view, contactList}\` |
| \`endpoint.updated\` | registrations | \`{endpoint, view, contactList, changed}\`, coalesced: at most one per endpoint every 250 ms |
| \`alert.raised\` | alerts | the alert (as in \`/api/v1/alerts\`) |
| \`alert.cleared\` | alerts | the alert, plus \`clearedBecause\` |
| \`node.status\` | always sent | the node (as in \`/api/v1/nodes\`) |
| \`state.resynced\` | always sent | \`{link, counts}\`; **followed by a fresh snapshot** |
| \`control.action\` | always sent | every control call, refusals included |

- **Client messages**: \`{"type":"subscribe","nodes":["pbx1"],"topics":[${TOPICS.map((t) => `"${t}"`).join(',')}]}\`
  (either list optional) filters what follows; answered with \`{"type":"subscribed",…}\`. An unknown
  node or topic closes with **${CLOSE_BAD_MESSAGE}**; other junk gets \`{"type":"error",…}\`.
- **Resume**: \`/ws?since=<seq>\` replays the deltas after \`seq\` from a bounded buffer
  (\`gateway.replayBuffer\`); when it no longer reaches back that far, or a resync happened meanwhile,
  a fresh snapshot comes instead.
- **Slow clients**: a client that stops reading (unsent deltas above \`gateway.maxBufferedBytes\`) is
  closed with **${CLOSE_TOO_SLOW}**. The server pings every \`gateway.heartbeatIntervalMs\`.
`;

const DESCRIPTION = `
Live Asterisk state, diagnoses, metrics and control.

**Auth.** Reads under \`/api\` are open unless \`auth.viewerToken\` is configured; then they need the
viewer or the admin token, as \`Authorization: Bearer <token>\` (scheme \`${BEARER_SCHEME}\`) or
\`?token=<token>\` (scheme \`${QUERY_TOKEN_SCHEME}\`, for browsers; it ends up in access logs). Control
routes need the admin token as a bearer token; without \`auth.adminToken\` they answer 401.
\`/health/*\`, \`/metrics\` and the board are open.

**Errors** have the body \`{statusCode, code, message}\` (\`ApiErrorDto\`).
${WS_PROTOCOL_MARKDOWN}`;

/** Builds the OpenAPI document of every HTTP route the app serves (controllers without decorators too). */
export function openApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('pbxpulse')
    .setDescription(DESCRIPTION.trim())
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'Viewer or admin token' }, BEARER_SCHEME)
    .addApiKey(
      { type: 'apiKey', in: 'query', name: 'token', description: 'Viewer or admin token (reads only)' },
      QUERY_TOKEN_SCHEME,
    )
    .build();
  return SwaggerModule.createDocument(app, config);
}

/** Serves Swagger UI at `/docs` and the document at `/docs-json`. Call before `listen`. */
export function setupOpenApi(app: INestApplication): void {
  SwaggerModule.setup('docs', app, () => openApiDocument(app), { jsonDocumentUrl: 'docs-json' });
}
