import { Registry } from 'prom-client';
import type { PbxpulseConfig } from '../config/config.types';
import { EventBus } from '../events/event-bus';
import type { Alert } from '../events/pbx-events';
import { OutboundRegistrationMetrics } from '../metrics/outbound-registration.metrics';
import type { OutboundRegistrationStore } from '../state/trunks/outbound-registration.store';
import type { OutboundRegistrationView } from '../state/trunks/outbound-registration.views';
import type { AlertSink } from './alerts.service';
import { OutboundRegistrationDetector } from './outbound-registration.detector';

const T0 = Date.parse('2026-12-06T23:00:00.000Z');

function view(over: Partial<OutboundRegistrationView> = {}): OutboundRegistrationView {
  return {
    name: 'itsp',
    serverUri: 'sip:sip.example.com',
    clientUri: 'sip:123@sip.example.com',
    outboundAuths: ['itsp-auth'],
    transport: null,
    endpoint: null,
    state: 'registered',
    asteriskStatus: 'Registered',
    since: new Date(T0).toISOString(),
    lastReportAt: null,
    lastRejectedAt: null,
    nextAttemptAt: null,
    reason: null,
    consecutiveFailures: 0,
    expirationSec: 3600,
    retryIntervalSec: 60,
    maxRetries: 10,
    ...over,
  };
}

function setup() {
  let now = T0;
  let regs: OutboundRegistrationView[] = [view()];
  const active = new Map<string, Alert>();
  const cleared: Array<[string, string]> = [];
  const sink: AlertSink = {
    upsert: (a) => {
      const fresh = !active.has(a.id);
      active.set(a.id, a);
      return fresh;
    },
    clear: (id, reason) => {
      if (!active.delete(id)) return false;
      cleared.push([id, reason]);
      return true;
    },
  };
  const reader = { registrations: () => regs, registration: () => undefined };
  const detector = new OutboundRegistrationDetector({ failingMs: 60_000 }, reader, sink, () => now);
  return {
    detector,
    active,
    cleared,
    set: (r: OutboundRegistrationView[]) => (regs = r),
    advance: (ms: number) => (now += ms),
  };
}

describe('OutboundRegistrationDetector', () => {
  it('raises at once for a rejection Asterisk gave up on, naming the registration and what to check', () => {
    const t = setup();
    t.detector.evaluate('pbx1');
    expect(t.active.size).toBe(0);
    t.set([
      view({
        state: 'rejected',
        reason: 'fatal_response',
        consecutiveFailures: 1,
        since: new Date(T0).toISOString(),
      }),
    ]);
    t.detector.evaluate('pbx1');
    const alert = t.active.get('outbound_registration:pbx1:itsp');
    expect(alert).toMatchObject({ type: 'outbound_registration', node: 'pbx1', count: 1 });
    expect(alert?.details).toMatchObject({
      registration: 'itsp',
      state: 'rejected',
      reason: 'fatal_response',
    });
    expect(alert?.message).toContain("'itsp'");
    expect(alert?.remedy).toContain('outbound_auth=itsp-auth');
    expect(alert?.remedy).toContain('pjsip reload');
    t.set([view()]);
    t.detector.evaluate('pbx1');
    expect(t.cleared).toEqual([['outbound_registration:pbx1:itsp', 'registered']]);
  });

  it('raises for a failing (retried) registration only past the threshold, with DNS and transport to check', () => {
    const t = setup();
    t.set([
      view({
        state: 'failed',
        reason: 'temporary_failure',
        consecutiveFailures: 2,
        since: new Date(T0).toISOString(),
      }),
    ]);
    t.detector.evaluate('pbx1');
    t.advance(59_000);
    t.detector.evaluate('pbx1');
    expect(t.active.size).toBe(0);
    t.advance(1000);
    t.detector.evaluate('pbx1');
    const alert = t.active.get('outbound_registration:pbx1:itsp');
    expect(alert?.remedy).toMatch(/server_uri resolves \(DNS\)/);
    expect(alert?.message).toContain('has failed for 60 s');
    expect(alert?.since).toBe(new Date(T0).toISOString());
  });

  it('counts the time not registered across unregistered and failed, and clears a registration removed', () => {
    const t = setup();
    t.set([view({ state: 'unregistered', since: new Date(T0).toISOString() })]);
    t.detector.evaluate('pbx1');
    t.advance(30_000);
    t.set([view({ state: 'failed', since: new Date(T0 + 30_000).toISOString(), consecutiveFailures: 1 })]);
    t.detector.evaluate('pbx1');
    t.advance(30_000);
    t.detector.evaluate('pbx1');
    expect(t.active.size).toBe(1);
    t.set([]);
    t.detector.evaluate('pbx1');
    expect(t.cleared).toEqual([['outbound_registration:pbx1:itsp', 'removed']]);
  });
});

describe('OutboundRegistrationMetrics', () => {
  it('exposes up, state, state age and rejections by reason, each reason from 0, labels bounded', async () => {
    const registry = new Registry();
    const bus = new EventBus();
    const regs = [view(), view({ name: 'backup', state: 'rejected', reason: 'fatal_response' })];
    const store = { registrations: (node: string) => (node === 'pbx1' ? regs : []) };
    const config = { nodes: [{ name: 'pbx1' }] } as unknown as PbxpulseConfig;
    const metrics = new OutboundRegistrationMetrics(
      registry,
      store as unknown as OutboundRegistrationStore,
      config,
      bus,
    );
    bus.publish({
      type: 'outbound_registration.changed',
      node: 'pbx1',
      ts: T0,
      source: 'daemon',
      name: 'backup',
      registration: regs[1],
      previous: 'failed',
      rejections: [{ reason: 'fatal_response', count: 2 }],
    });
    const text = await registry.metrics();
    expect(text).toContain('pbxpulse_outbound_registration_up{node="pbx1",registration="itsp"} 1');
    expect(text).toContain('pbxpulse_outbound_registration_up{node="pbx1",registration="backup"} 0');
    expect(text).toContain(
      'pbxpulse_outbound_registration_state{node="pbx1",registration="backup",state="rejected"} 1',
    );
    expect(text).toContain(
      'pbxpulse_outbound_registration_state{node="pbx1",registration="backup",state="registered"} 0',
    );
    expect(text).toContain(
      'pbxpulse_outbound_registration_rejections_total{node="pbx1",registration="backup",reason="fatal_response"} 2',
    );
    expect(text).toContain(
      'pbxpulse_outbound_registration_rejections_total{node="pbx1",registration="itsp",reason="temporary_failure"} 0',
    );
    expect(text).toMatch(
      /pbxpulse_outbound_registration_state_age_seconds\{node="pbx1",registration="itsp"\} \d/,
    );
    expect(text).not.toContain('sip.example.com');
    // Removed from the configuration: its series go.
    regs.pop();
    bus.publish({
      type: 'outbound_registration.changed',
      node: 'pbx1',
      ts: T0,
      source: 'daemon',
      name: 'backup',
      registration: null,
      previous: 'rejected',
      rejections: [],
    });
    expect(await registry.metrics()).not.toContain('registration="backup"');
    metrics.onModuleDestroy();
  });
});
