import type {
  AsteriskRegistrationStatus,
  OutboundRegistrationReported,
  OutboundRejectionReason,
} from '../../events/pbx-events';
import type { OutboundRegistrationRecord, RegistrationCliRow } from '../../common/pbx.records';
import type { OutboundRegistrationState, OutboundRegistrationView } from './outbound-registration.views';

/*
 * Pure functions from (state, input) to state for the outbound registrations of one node: no clock (the
 * time is passed in), no I/O. The store owns the maps and publishes what these return.
 */

export type OutboundRegistrations = ReadonlyMap<string, OutboundRegistrationView>;

/** A registration whose state changed, appeared (`previous: null`) or disappeared (`view: null`). */
export interface OutboundChange {
  name: string;
  view: OutboundRegistrationView | null;
  previous: OutboundRegistrationState | null;
  rejections: Array<{ reason: OutboundRejectionReason; count: number }>;
}

/**
 * A REGISTER awaiting its answer shows a next-attempt time in the past for at most pjsip's timer B
 * (32 s by default; UDP retransmissions stop then) plus this margin.
 */
export const IN_FLIGHT_MAX_SEC = 40;

/**
 * pbxpulse's state from Asterisk's status and, for `Rejected`, the CLI's next-attempt time. After a
 * rejection Asterisk either schedules a retry (`(exp. 4s)`: a time after the rejection) or nothing (the
 * time stays that of the rejected attempt and goes by: `(exp. 7s ago)`); a retry in flight also shows a
 * past time, but one later than the rejection before it. Without a rejection time to compare with (a
 * resync), a past time older than a REGISTER can stay in flight means Asterisk gave up.
 */
export function stateOf(
  status: AsteriskRegistrationStatus | null,
  nextAttemptAt: number | null,
  lastRejectedAt: number | null,
  now: number,
  previous: OutboundRegistrationState | undefined,
): OutboundRegistrationState {
  switch (status) {
    case 'Registered':
      return 'registered';
    case 'Stopped':
      return 'stopped';
    case 'Rejected':
      if (nextAttemptAt === null) return previous === 'rejected' ? 'rejected' : 'failed';
      if (nextAttemptAt >= now) return 'failed';
      // The CLI counts whole seconds: a retry scheduled after the rejection is at least 1 s later.
      if (lastRejectedAt !== null) return nextAttemptAt > lastRejectedAt + 1000 ? 'failed' : 'rejected';
      return now - nextAttemptAt > IN_FLIGHT_MAX_SEC * 1000 ? 'rejected' : 'failed';
    case 'Unregistered':
    case null:
      return 'unregistered';
    default: {
      const never: never = status;
      return never;
    }
  }
}

function reasonOf(
  state: OutboundRegistrationState,
  previous: OutboundRegistrationView | undefined,
): OutboundRejectionReason | null {
  if (state === 'failed') return 'temporary_failure';
  if (state !== 'rejected') return null;
  // Gave up: at once (a fatal answer), or after retries of temporary failures.
  if (previous?.state === 'rejected' && previous.reason) return previous.reason;
  // Asterisk gives up on temporary failures once its retries reach max_retries.
  return previous !== undefined && previous.consecutiveFailures > previous.maxRetries
    ? 'retries_exhausted'
    : 'fatal_response';
}

const isFailure = (s: OutboundRegistrationState): boolean => s === 'failed' || s === 'rejected';

/**
 * A fresh read (the AMI list and, when the AMI user may run it, `pjsip show registrations`) against the
 * current state. `pending` holds the `Rejected` reports received since the last read, per registration:
 * they become the rejection counts of the change (at least one when a registration newly failed).
 * `unsettled` registrations were rejected too recently to tell a retry from none: not counted yet.
 */
export function applyRead(
  current: OutboundRegistrations,
  records: readonly OutboundRegistrationRecord[],
  rows: readonly RegistrationCliRow[],
  pending: ReadonlyMap<string, number>,
  now: number,
  unsettled: ReadonlySet<string> = new Set(),
  rejectedByUris: ReadonlyMap<string, number> = new Map(),
): { state: Map<string, OutboundRegistrationView>; changes: OutboundChange[] } {
  const rowByName = new Map(rows.map((r) => [r.name, r]));
  const next = new Map<string, OutboundRegistrationView>();
  const changes: OutboundChange[] = [];
  const iso = new Date(now).toISOString();
  for (const rec of records) {
    const prev = current.get(rec.name);
    const row = rowByName.get(rec.name);
    // The CLI is read after the list: when they disagree, the later word (the CLI's) wins.
    const status = row?.status ?? rec.status;
    const nextAt = row?.nextAttemptSec === null || !row ? null : now + row.nextAttemptSec * 1000;
    const rejectedAt = prev?.lastRejectedAt
      ? Date.parse(prev.lastRejectedAt)
      : (rejectedByUris.get(urisKey(rec)) ?? null);
    const state = stateOf(status, nextAt, rejectedAt, now, prev?.state);
    const changed = prev === undefined || prev.state !== state;
    const reported = pending.get(rec.name) ?? 0;
    // A rejection read back too early (`unsettled`) is counted by the read that classifies it.
    const newFailures =
      isFailure(state) && !unsettled.has(rec.name) ? Math.max(reported, changed ? 1 : 0) : 0;
    // Counted per `Registry` event (applyReport); a read only makes sure a failure counts at least once.
    const consecutiveFailures = isFailure(state)
      ? Math.max(1, prev && isFailure(prev.state) ? prev.consecutiveFailures : 0)
      : 0;
    const view: OutboundRegistrationView = {
      name: rec.name,
      serverUri: rec.serverUri,
      clientUri: rec.clientUri,
      outboundAuths: [...rec.outboundAuths],
      transport: rec.transport,
      endpoint: rec.endpoint,
      state,
      asteriskStatus: status,
      since: changed ? iso : prev.since,
      lastReportAt: prev?.lastReportAt ?? null,
      lastRejectedAt: rejectedAt === null ? null : new Date(rejectedAt).toISOString(),
      nextAttemptAt:
        nextAt !== null && nextAt >= now
          ? new Date(nextAt).toISOString()
          : row
            ? null
            : (prev?.nextAttemptAt ?? null),
      reason: reasonOf(state, prev),
      consecutiveFailures,
      expirationSec: rec.expirationSec,
      retryIntervalSec: rec.retryIntervalSec,
      maxRetries: rec.maxRetries,
    };
    next.set(rec.name, view);
    const rejections = newFailures > 0 && view.reason ? [{ reason: view.reason, count: newFailures }] : [];
    if (changed || rejections.length > 0 || configChanged(prev, view)) {
      changes.push({ name: rec.name, view, previous: prev?.state ?? null, rejections });
    }
  }
  for (const [name, prev] of current) {
    if (!next.has(name)) changes.push({ name, view: null, previous: prev.state, rejections: [] });
  }
  return { state: next, changes };
}

function configChanged(prev: OutboundRegistrationView | undefined, view: OutboundRegistrationView): boolean {
  return (
    prev !== undefined &&
    (prev.serverUri !== view.serverUri ||
      prev.clientUri !== view.clientUri ||
      prev.outboundAuths.join(',') !== view.outboundAuths.join(','))
  );
}

/** What a `Registry` event names a registration by. */
export function urisKey(r: { clientUri: string; serverUri: string }): string {
  return `${r.clientUri}\u0000${r.serverUri}`;
}

/** The registrations a `Registry` event can be about (Asterisk names them by URIs only). */
export function registrationsOfReport(
  current: OutboundRegistrations,
  e: Pick<OutboundRegistrationReported, 'clientUri' | 'serverUri'>,
): OutboundRegistrationView[] {
  const out: OutboundRegistrationView[] = [];
  for (const v of current.values()) {
    if (v.clientUri === e.clientUri && v.serverUri === e.serverUri) out.push(v);
  }
  return out;
}

/**
 * A `Registry` event for the one registration it names. A `Rejected` one is provisionally `failed` (or
 * stays `rejected`): only the read that follows tells whether Asterisk retries. The rejection itself is
 * counted by that read (the caller keeps it pending).
 */
export function applyReport(
  view: OutboundRegistrationView,
  e: OutboundRegistrationReported,
): { view: OutboundRegistrationView; change: OutboundChange | null } {
  const state = stateOf(e.status, null, null, e.ts, view.state);
  const iso = new Date(e.ts).toISOString();
  const failure = isFailure(state);
  const next: OutboundRegistrationView = {
    ...view,
    outboundAuths: [...view.outboundAuths],
    state,
    asteriskStatus: e.status,
    since: state === view.state ? view.since : iso,
    lastReportAt: iso,
    lastRejectedAt: e.status === 'Rejected' ? iso : view.lastRejectedAt,
    nextAttemptAt:
      state === 'registered' && view.expirationSec > 0
        ? // Asterisk refreshes 10 s before the expiry it asked for (REREGISTER_BUFFER_TIME).
          new Date(e.ts + Math.max(1, view.expirationSec - 10) * 1000).toISOString()
        : failure && view.retryIntervalSec > 0 && state === 'failed'
          ? new Date(e.ts + view.retryIntervalSec * 1000).toISOString()
          : null,
    reason: reasonOf(state, view),
    consecutiveFailures: failure ? view.consecutiveFailures + 1 : 0,
  };
  const change =
    state === view.state ? null : { name: view.name, view: next, previous: view.state, rejections: [] };
  return { view: next, change };
}
