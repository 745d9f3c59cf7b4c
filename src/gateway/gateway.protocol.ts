/**
 * The `/ws` protocol (version 1). Public contract: see README "WebSocket stream".
 *
 * Server → client: `hello`, then `snapshot`, then deltas `{type, seq, node, ts, data}` with `seq`
 * strictly increasing. Client → server: `subscribe` to filter by nodes and topics.
 */
export const PROTOCOL_VERSION = 1;

/** What a client can filter on. `system` deltas (`node.status`, `state.resynced`, `control.action`) always pass. */
export type Topic = 'calls' | 'registrations' | 'alerts';
export const TOPICS: readonly Topic[] = ['calls', 'registrations', 'alerts'];

export type DeltaType =
  | 'call.updated'
  | 'call.ended'
  | 'registration.changed'
  | 'alert.raised'
  | 'alert.cleared'
  | 'node.status'
  | 'state.resynced'
  | 'control.action';

export const DELTA_TOPIC: Record<DeltaType, Topic | 'system'> = {
  'call.updated': 'calls',
  'call.ended': 'calls',
  'registration.changed': 'registrations',
  'alert.raised': 'alerts',
  'alert.cleared': 'alerts',
  'node.status': 'system',
  'state.resynced': 'system',
  'control.action': 'system',
};

export interface Delta {
  type: DeltaType;
  seq: number;
  node: string;
  /** ISO time. */
  ts: string;
  data: unknown;
}

export interface Snapshot {
  type: 'snapshot';
  seq: number;
  nodes: unknown[];
  calls: unknown[];
  endpoints: unknown[];
  alerts: unknown[];
}

export interface SubscribeMessage {
  type: 'subscribe';
  nodes?: string[];
  topics?: Topic[];
}

/** Close codes. */
export const CLOSE_UNAUTHORIZED = 4401;
export const CLOSE_BAD_MESSAGE = 4400;
export const CLOSE_TOO_SLOW = 1013;
