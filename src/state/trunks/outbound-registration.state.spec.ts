import type { OutboundRegistrationRecord } from '../../common/pbx.records';
import type { OutboundRegistrationReported } from '../../events/pbx-events';
import {
  IN_FLIGHT_MAX_SEC,
  applyRead,
  applyReport,
  registrationsOfReport,
  stateOf,
} from './outbound-registration.state';
import type { OutboundRegistrationView } from './outbound-registration.views';

const T0 = Date.parse('2026-12-06T23:00:00.000Z');

const record = (over: Partial<OutboundRegistrationRecord> = {}): OutboundRegistrationRecord => ({
  name: 'itsp',
  serverUri: 'sip:sip.example.com',
  clientUri: 'sip:123@sip.example.com',
  outboundAuths: ['itsp-auth'],
  missingAuths: [],
  transport: 'transport-udp',
  endpoint: null,
  expirationSec: 120,
  retryIntervalSec: 60,
  forbiddenRetryIntervalSec: 0,
  maxRetries: 10,
  authRejectionPermanent: true,
  status: 'Registered',
  ...over,
});

const report = (
  status: OutboundRegistrationReported['status'],
  ts: number,
): OutboundRegistrationReported => ({
  type: 'outbound_registration.reported',
  node: 'pbx1',
  ts,
  source: 'ami',
  clientUri: 'sip:123@sip.example.com',
  serverUri: 'sip:sip.example.com',
  status,
});

function registered(): OutboundRegistrationView {
  const { state } = applyRead(
    new Map(),
    [record()],
    [{ name: 'itsp', status: 'Registered', nextAttemptSec: 100 }],
    new Map(),
    T0,
  );
  return state.get('itsp')!;
}

describe('stateOf', () => {
  it('maps Asterisk words; a rejection is failed while a retry is scheduled after it, rejected when none is', () => {
    expect(stateOf('Registered', null, null, T0, undefined)).toBe('registered');
    expect(stateOf('Unregistered', T0 - 3000, null, T0, undefined)).toBe('unregistered');
    expect(stateOf('Stopped', null, null, T0, undefined)).toBe('stopped');
    // (exp. 4s): a retry is scheduled.
    expect(stateOf('Rejected', T0 + 4000, T0 - 1500, T0, undefined)).toBe('failed');
    // (exp. 2s ago) while the rejection was 1.5 s ago: the rejected attempt itself, nothing scheduled.
    expect(stateOf('Rejected', T0 - 2000, T0 - 1500, T0, undefined)).toBe('rejected');
    // A past time later than the rejection: a retry in flight.
    expect(stateOf('Rejected', T0 - 1000, T0 - 6000, T0, undefined)).toBe('failed');
    // No rejection time known (a resync): only a time older than any REGISTER in flight means "gave up".
    expect(stateOf('Rejected', T0 - 5000, null, T0, undefined)).toBe('failed');
    expect(stateOf('Rejected', T0 - (IN_FLIGHT_MAX_SEC + 1) * 1000, null, T0, undefined)).toBe('rejected');
    // No CLI: keep what was known.
    expect(stateOf('Rejected', null, null, T0, 'rejected')).toBe('rejected');
    expect(stateOf('Rejected', null, null, T0, 'registered')).toBe('failed');
  });
});

describe('applyReport and applyRead', () => {
  it('a Rejected report fails the registration at once; the read after it classifies and counts it', () => {
    const reg = registered();
    expect(reg).toMatchObject({ state: 'registered', consecutiveFailures: 0, reason: null });
    expect(reg.nextAttemptAt).toBe(new Date(T0 + 100_000).toISOString());

    const { view, change } = applyReport(reg, report('Rejected', T0 + 10_000));
    expect(view).toMatchObject({ state: 'failed', consecutiveFailures: 1, reason: 'temporary_failure' });
    expect(view.lastRejectedAt).toBe(new Date(T0 + 10_000).toISOString());
    expect(change).toMatchObject({ previous: 'registered', rejections: [] });

    const now = T0 + 11_600;
    const read = applyRead(
      new Map([['itsp', view]]),
      [record({ status: 'Rejected' })],
      // (exp. 2s ago): the time of the rejected attempt.
      [{ name: 'itsp', status: 'Rejected', nextAttemptSec: -2 }],
      new Map([['itsp', 1]]),
      now,
    );
    expect(read.state.get('itsp')).toMatchObject({
      state: 'rejected',
      reason: 'fatal_response',
      nextAttemptAt: null,
      consecutiveFailures: 1,
    });
    expect(read.changes).toEqual([
      expect.objectContaining({
        name: 'itsp',
        previous: 'failed',
        rejections: [{ reason: 'fatal_response', count: 1 }],
      }),
    ]);
  });

  it('does not count a rejection read back too early, and counts it once when settled', () => {
    const { view } = applyReport(registered(), report('Rejected', T0 + 10_000));
    const early = applyRead(
      new Map([['itsp', view]]),
      [record({ status: 'Rejected' })],
      [{ name: 'itsp', status: 'Rejected', nextAttemptSec: 0 }],
      new Map(),
      T0 + 10_300,
      new Set(['itsp']),
    );
    expect(early.changes).toEqual([]);
    const late = applyRead(
      early.state,
      [record({ status: 'Rejected' })],
      [{ name: 'itsp', status: 'Rejected', nextAttemptSec: 58 }],
      new Map([['itsp', 1]]),
      T0 + 12_000,
    );
    expect(late.state.get('itsp')).toMatchObject({ state: 'failed', reason: 'temporary_failure' });
    expect(late.changes).toEqual([
      expect.objectContaining({ rejections: [{ reason: 'temporary_failure', count: 1 }] }),
    ]);
  });

  it('a give-up after more failures than max_retries is retries_exhausted', () => {
    let view = registered();
    for (let i = 1; i <= 11; i++) view = applyReport(view, report('Rejected', T0 + i * 1000)).view;
    expect(view.consecutiveFailures).toBe(11);
    const read = applyRead(
      new Map([['itsp', view]]),
      [record({ status: 'Rejected' })],
      // The last attempt (rejected at T0+11 s) is the last one: nothing scheduled after it.
      [{ name: 'itsp', status: 'Rejected', nextAttemptSec: -10 }],
      new Map(),
      T0 + 20_000,
    );
    expect(read.state.get('itsp')).toMatchObject({ state: 'rejected', reason: 'retries_exhausted' });
  });

  it('registers again: failures reset; a registration gone from the list is removed', () => {
    const failed = applyReport(registered(), report('Rejected', T0 + 1000)).view;
    const back = applyReport(failed, report('Registered', T0 + 5000));
    expect(back.view).toMatchObject({ state: 'registered', consecutiveFailures: 0, reason: null });
    expect(back.change).toMatchObject({ previous: 'failed' });
    const gone = applyRead(new Map([['itsp', back.view]]), [], [], new Map(), T0 + 6000);
    expect(gone.state.size).toBe(0);
    expect(gone.changes).toEqual([{ name: 'itsp', view: null, previous: 'registered', rejections: [] }]);
  });

  it('a refresh (Registered again) changes nothing but the report time', () => {
    const reg = registered();
    const { view, change } = applyReport(reg, report('Registered', T0 + 110_000));
    expect(change).toBeNull();
    expect(view.since).toBe(reg.since);
    expect(view.lastReportAt).toBe(new Date(T0 + 110_000).toISOString());
  });

  it('a rejection of URIs no registration had yet (before the first read) is dated by its URIs', () => {
    const read = applyRead(
      new Map(),
      [record({ status: 'Rejected' })],
      [{ name: 'itsp', status: 'Rejected', nextAttemptSec: -3 }],
      new Map(),
      T0 + 3000,
      new Set(),
      new Map([['sip:123@sip.example.com\u0000sip:sip.example.com', T0 + 1000]]),
    );
    expect(read.state.get('itsp')).toMatchObject({ state: 'rejected', reason: 'fatal_response' });
  });

  it('finds the registrations a report names by both URIs', () => {
    const state = new Map([['itsp', registered()]]);
    expect(registrationsOfReport(state, report('Registered', T0)).map((r) => r.name)).toEqual(['itsp']);
    expect(registrationsOfReport(state, { clientUri: 'sip:x@y', serverUri: 'sip:sip.example.com' })).toEqual(
      [],
    );
  });
});
