/**
 * The closed union of internal events. Adapters (`src/ami`, `src/ari`) are the only code that knows
 * protocol names; everything else switches on `type`.
 */

/** Which long-lived link to a node an event or status is about. */
export type LinkKind = 'ami' | 'ari';

/** Connection status of one link, as shown by `/api/v1/nodes` and the `pbxpulse_*_up` gauges. */
export type LinkStatus = 'connecting' | 'up' | 'down';

/** Where an event was observed. `daemon` is for events pbxpulse derives itself. */
export type EventSource = LinkKind | 'daemon';

interface EventBase {
  /** Node name from the configuration. */
  node: string;
  /** Milliseconds since the epoch when pbxpulse received or derived the event. */
  ts: number;
  source: EventSource;
}

/** A link changed status (connecting → up, up → down …). `error` never contains a secret. */
export interface NodeConnectionChanged extends EventBase {
  type: 'node.connection_changed';
  link: LinkKind;
  status: LinkStatus;
  previous: LinkStatus;
  error?: string;
}

/** The state layer finished rebuilding a node's state after a (re)connect. */
export interface StateResynced extends EventBase {
  type: 'state.resynced';
  link: LinkKind;
  /** What the resync rebuilt, e.g. `{ contacts: 3 }`. */
  counts: Record<string, number>;
}

/** Asterisk identity and times, from ARI `/asterisk/info` (or AMI `CoreSettings`/`CoreStatus`). */
export interface NodeInfoUpdated extends EventBase {
  type: 'node.info_updated';
  version?: string;
  startupTime?: string;
  lastReloadTime?: string;
}

/** Asterisk finished booting (AMI `FullyBooted`). */
export interface NodeBooted extends EventBase {
  type: 'node.booted';
}

/** Asterisk is shutting down (AMI `Shutdown`). */
export interface NodeShutdown extends EventBase {
  type: 'node.shutdown';
  restart: boolean;
}

/** A module was reloaded (AMI `Reload`). */
export interface ModuleReloaded extends EventBase {
  type: 'module.reloaded';
  module: string;
  status: string;
}

export type PbxEvent =
  NodeConnectionChanged | StateResynced | NodeInfoUpdated | NodeBooted | NodeShutdown | ModuleReloaded;

export type PbxEventType = PbxEvent['type'];

/** Narrow the union by its `type`. */
export type PbxEventOf<T extends PbxEventType> = Extract<PbxEvent, { type: T }>;
