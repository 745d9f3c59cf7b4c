import type { ChannelView, CallView, EndedCallView } from './call.views';

/**
 * Events the call store derives (source `daemon`). Shaped like the members of `PbxEvent` (same base
 * fields) so that they can join the union in `src/events/pbx-events.ts` unchanged; until then they
 * are delivered through `CallStore.onCallUpdated` / `onChannelEnded` / `onCallEnded`.
 */
interface DerivedCallEventBase {
  node: string;
  ts: number;
  source: 'daemon';
}

/** Something a client sees changed: state, answer, caller/connected line, bridge, a channel joined or ended. */
export interface CallUpdated extends DerivedCallEventBase {
  type: 'call.updated';
  call: CallView;
  /**
   * The key of a call that no longer exists because its (only) channel turned out to belong to this
   * one (ARI-only fallback key replaced by AMI's linkedid). Clients drop that call.
   */
  supersedes?: string;
}

/** One channel of a call ended (the call may go on). */
export interface CallChannelEnded extends DerivedCallEventBase {
  type: 'call.channel_ended';
  /** Key of the call the channel belonged to. */
  linkedid: string;
  channel: ChannelView;
  /** This channel is the one that timed out (the bridged peer of a timed-out channel is not). */
  rtpTimeoutCulprit: boolean;
}

/** The last channel of the call ended. */
export interface CallEnded extends DerivedCallEventBase {
  type: 'call.ended';
  call: EndedCallView;
}

export type CallEvent = CallUpdated | CallChannelEnded | CallEnded;
