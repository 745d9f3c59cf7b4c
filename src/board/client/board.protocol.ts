/**
 * What the board reads from the daemon. The `/ws` messages are the gateway's own types; the REST
 * answers it reads are restated here because their declarations sit in Nest controllers and services.
 */
import type {
  Alert,
  CallView,
  ContactView,
  EndpointView,
  NodeView,
  ServerMessage,
  SnapshotEndpoint,
} from '../../gateway/gateway.protocol';

export type { Alert, CallView, ContactView, EndpointView, NodeView, ServerMessage, SnapshotEndpoint };

export type LinkView = NodeView['ami'];

/** `GET api/v1/nodes` */
export interface NodesResponse {
  nodes: NodeView[];
}

/** One finding of `GET api/v1/nodes/{node}/diagnostics`. */
export interface FindingView {
  code: string;
  severity: 'error' | 'warning' | 'info';
  object: { type: string; name: string } | null;
  message: string;
  remedy: string;
}

/** `GET api/v1/nodes/{node}/diagnostics` */
export interface DiagnosticsResponse {
  findings: FindingView[];
}

/** `GET api/v1/nodes/{node}/contacts` */
export interface ContactsResponse {
  contacts: ContactView[];
}
