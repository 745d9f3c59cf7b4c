/**
 * How a channel (and a call) ended, from the Q.850 hangup cause, whether it was answered, and the
 * soft-hangup flags seen before the hangup. The one place that maps causes to classes.
 */

/** The `classification` label values, in the order the metrics list them. */
export const HANGUP_CLASSIFICATIONS = [
  'normal',
  'busy',
  'no_answer',
  'rejected',
  'failed',
  'rtp_timeout',
  'unknown',
] as const;

export type HangupClassification = (typeof HANGUP_CLASSIFICATIONS)[number];

/** `AST_SOFTHANGUP_DEV` (1 << 0): a soft-hangup *flag*, not a Q.850 cause. */
export const AST_SOFTHANGUP_DEV = 1;

/** `AST_SOFTHANGUP_SHUTDOWN` (1 << 2): Asterisk is shutting down or restarting (`core restart now`). */
export const AST_SOFTHANGUP_SHUTDOWN = 4;

/** Q.850 44 `AST_CAUSE_REQUESTED_CHAN_UNAVAIL`, what res_pjsip_sdp_rtp sets on an RTP timeout. */
export const CAUSE_REQUESTED_CHAN_UNAVAIL = 44;

/** Q.850 127 `AST_CAUSE_INTERWORKING`: chan_pjsip maps SIP 487 (a CANCELled INVITE) to it. */
export const CAUSE_INTERWORKING = 127;

/** What the classifier needs to know about one ended channel. */
export interface HangupFacts {
  /** Q.850 cause of the `Hangup` / `ChannelDestroyed`. */
  cause: number;
  /** The channel was Up at some point (or at hangup). */
  answered: boolean;
  /** Bitwise OR of the `Cause` of every `SoftHangupRequest` seen for the channel. */
  softHangupFlags: number;
  /** Q.850 cause of the last hard `HangupRequest`, if one carried a cause. */
  hangupRequestCause: number | null;
  /** `DialStatus` of the `DialEnd` that named this channel as the peer, if any. */
  dialStatus: string | null;
  /** The channel is a chan_pjsip channel (the only driver with `rtp_timeout`). */
  pjsip: boolean;
}

/**
 * The RTP-timeout signature, as observed on Asterisk 22.10 (docs: ASTERISK.md §3,
 * test/fixtures/calls.ami): `res_pjsip_sdp_rtp.c` sets the hangup cause to 44 and calls
 * `ast_softhangup(chan, AST_SOFTHANGUP_DEV)`, so AMI shows `SoftHangupRequest Cause: 1` (then
 * `SoftHangupRequest Cause: 16`) and `Hangup Cause: 44`; ARI shows `ChannelHangupRequest {cause:1,
 * soft:true}` … `ChannelDestroyed {cause:44}`. We require all of: a soft hangup with the DEV flag, Q.850 44,
 * an answered channel (the timer only fires on Up channels), and a PJSIP channel.
 *
 * Known limits — it is a heuristic, not a proof:
 * - Cause 44 is generic (any "requested channel not available").
 * - `SoftHangupRequest` with the DEV flag also comes from some transfer and bridge paths
 *   (`main/bridge_channel.c`, `main/bridge.c`), so another path that also sets 44 would match.
 * - The bridged peer of a timed-out channel typically ends with 44 too (the bridge passes the cause
 *   on); only the first channel of a linkedid group that matches is the culprit (see the reducers).
 * - The definitive source is the NOTICE log line `Disconnecting channel '…' for lack of audio RTP
 *   activity in N seconds`, which AMI and ARI never carry (or the BYE's `Reason: Q.850;cause=44`).
 */
export function isRtpTimeoutSignature(f: HangupFacts): boolean {
  return (
    f.pjsip &&
    f.answered &&
    f.cause === CAUSE_REQUESTED_CHAN_UNAVAIL &&
    (f.softHangupFlags & AST_SOFTHANGUP_DEV) !== 0
  );
}

/**
 * Q.850 causes that mean the call could not be set up or was torn down by a fault, whatever the
 * answer state: 1 unallocated number, 2/3 no route, 20 subscriber absent, 22 number changed,
 * 27 destination out of order, 28 invalid number format, 29 facility rejected, 34 no circuit,
 * 38 network out of order, 41 temporary failure, 42 switching congestion, 44 requested channel not
 * available (without the RTP-timeout signature), 47 resource unavailable, 50/57/58/65/66 bearer or
 * facility not available/implemented, 79 service not implemented, 88 incompatible destination,
 * 95/96/97/99/100/111 protocol errors, 102 timer expiry, 127 interworking (4xx/5xx/6xx that
 * chan_pjsip has no better cause for; unanswered CANCELs are the exception, below).
 */
const FAILED_CAUSES: ReadonlySet<number> = new Set([
  1, 2, 3, 20, 22, 27, 28, 29, 34, 38, 41, 42, 44, 47, 50, 57, 58, 65, 66, 79, 88, 95, 96, 97, 99, 100, 102,
  111, 127,
]);

/**
 * The classification table. First match wins:
 *
 * | condition                                                          | class         |
 * |--------------------------------------------------------------------|---------------|
 * | RTP-timeout signature (see `isRtpTimeoutSignature`)                | `rtp_timeout` |
 * | soft hangup with the SHUTDOWN flag (Asterisk stopping/restarting)  | `unknown`     |
 * | 16 normal clearing, answered                                       | `normal`      |
 * | 0 not defined, answered (a BYE without `Reason` gives 0 on Asterisk 22) | `normal` |
 * | 31 normal unspecified, answered                                    | `normal`      |
 * | 17 user busy                                                       | `busy`        |
 * | 18 no user response, 19 no answer                                  | `no_answer`   |
 * | 21 call rejected                                                   | `rejected`    |
 * | 0 or 16, unanswered (the caller gave up, Dial timed out)           | `no_answer`   |
 * | 127, unanswered, CANCEL seen (own `HangupRequest` 127 or `DialStatus: CANCEL`) | `no_answer` |
 * | `FAILED_CAUSES`                                                    | `failed`      |
 * | anything else                                                      | `unknown`     |
 *
 * Measured on the sandbox (Asterisk 22.10): a caller that CANCELs a ringing call gets
 * `HangupRequest Cause: 127` then `Hangup Cause: 127` (chan_pjsip maps SIP 487 to 127), and the
 * ringing peer also ends with 127 after `DialEnd DialStatus: CANCEL` — hence the CANCEL row. A busy
 * peer (486) ends with 17 on both legs; a Dial to an endpoint without contacts ends the caller with 3.
 * `core restart now` mid-call gives `SoftHangupRequest Cause: 4` (SHUTDOWN), then 16, then `Hangup
 * Cause: 0` on the answered channel: not the parties' doing, so `unknown` — the same class a resync
 * gives when the sockets close before those events get out.
 */
export function classifyHangup(f: HangupFacts): HangupClassification {
  if (isRtpTimeoutSignature(f)) return 'rtp_timeout';
  if ((f.softHangupFlags & AST_SOFTHANGUP_SHUTDOWN) !== 0) return 'unknown';
  const c = f.cause;
  if (f.answered && (c === 16 || c === 0 || c === 31)) return 'normal';
  if (c === 17) return 'busy';
  if (c === 18 || c === 19) return 'no_answer';
  if (c === 21) return 'rejected';
  if (!f.answered && (c === 0 || c === 16)) return 'no_answer';
  if (
    !f.answered &&
    c === CAUSE_INTERWORKING &&
    (f.hangupRequestCause === CAUSE_INTERWORKING || f.dialStatus === 'CANCEL')
  )
    return 'no_answer';
  if (FAILED_CAUSES.has(c)) return 'failed';
  return 'unknown';
}
