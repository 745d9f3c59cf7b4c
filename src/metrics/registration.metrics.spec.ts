import * as fs from 'node:fs';
import * as path from 'node:path';
import { Registry } from 'prom-client';
import type { PbxpulseConfig } from '../config/config.types';
import { EventBus } from '../events/event-bus';
import type {
  ContactView,
  EndpointView,
  RegistrationReader,
} from '../state/registrations/registration.views';
import { REPAIR_KINDS, RegistrationMetrics } from './registration.metrics';

function contact(
  endpoint: string,
  status: ContactView['status'],
  rttUsec: number | null,
  uri: string,
): ContactView {
  return {
    aor: endpoint,
    endpoint,
    uri,
    status,
    rttUsec,
    userAgent: 'UA with "quotes"',
    expiresAt: null,
    viaAddress: '203.0.113.7:5060',
    transport: 'udp',
    callId: null,
  };
}

function setup() {
  const config = { nodes: [{ name: 'pbx1' }, { name: 'pbx2' }] } as unknown as PbxpulseConfig;
  const registry = new Registry();
  const bus = new EventBus();
  const eps = new Map<string, EndpointView[]>([
    [
      'pbx1',
      [
        { name: '1001', registered: true } as EndpointView,
        { name: '2002', registered: false } as EndpointView,
      ],
    ],
  ]);
  const contacts = new Map<string, ContactView[]>([
    [
      'pbx1',
      [
        contact('1001', 'reachable', 1500, 'sip:1001@203.0.113.7:5060'),
        contact('1001', 'reachable', 25_000, 'sip:1001@203.0.113.8:5060'),
        contact('1001', 'unreachable', null, 'sip:1001@203.0.113.9:5060'),
        contact('rogue', 'reachable', 9, 'sip:rogue@203.0.113.10:5060'),
      ],
    ],
  ]);
  const reader: RegistrationReader = {
    endpoints: (n) => eps.get(n) ?? [],
    endpoint: () => undefined,
    aors: () => [],
    aor: () => undefined,
    contacts: (n) => contacts.get(n) ?? [],
    isKnownEndpoint: (n, name) => (eps.get(n) ?? []).some((e) => e.name === name),
  };
  const metrics = new RegistrationMetrics(registry, reader, config, bus);
  return { registry, bus, metrics, eps };
}

describe('RegistrationMetrics', () => {
  it('computes the gauges at scrape time, with config/Asterisk names only as labels', async () => {
    const { registry } = setup();
    const text = await registry.metrics();
    expect(text).toContain('pbxpulse_endpoint_registered{node="pbx1",endpoint="1001"} 1');
    expect(text).toContain('pbxpulse_endpoint_registered{node="pbx1",endpoint="2002"} 0');
    for (const [node, status, n] of [
      ['pbx1', 'reachable', 3],
      ['pbx1', 'unreachable', 1],
      ['pbx1', 'nonqualified', 0],
      ['pbx1', 'unknown', 0],
      ['pbx2', 'reachable', 0],
      ['pbx2', 'unreachable', 0],
      ['pbx2', 'nonqualified', 0],
      ['pbx2', 'unknown', 0],
    ] as const) {
      expect(text).toContain(`pbxpulse_contacts{node="${node}",status="${status}"} ${n}`);
    }
    expect(text).toContain('pbxpulse_contact_rtt_seconds{node="pbx1",endpoint="1001"} 0.025');
    expect(text).not.toMatch(/rogue|203\.0\.113|quotes/);
  });

  it('counts state.repaired by node and kind; drops endpoints that disappeared', async () => {
    const { registry, bus, eps } = setup();
    const repaired = (kind: string) =>
      bus.publish({ type: 'state.repaired', node: 'pbx1', ts: 1, source: 'daemon', kind, subject: 'x' });
    repaired('contact_ghost');
    repaired('contact_ghost');
    repaired('contact_status');
    eps.set('pbx1', [{ name: '1001', registered: true } as EndpointView]);
    const text = await registry.metrics();
    expect(text).toContain('pbxpulse_state_repairs_total{node="pbx1",kind="contact_ghost"} 2');
    expect(text).toContain('pbxpulse_state_repairs_total{node="pbx1",kind="contact_status"} 1');
    expect(text).not.toContain('endpoint="2002"');
  });

  it('has pbxpulse_state_repairs_total at 0 for every node and kind from the first scrape', async () => {
    const { registry } = setup();
    const text = await registry.metrics();
    for (const node of ['pbx1', 'pbx2']) {
      for (const kind of REPAIR_KINDS) {
        expect(text).toContain(`pbxpulse_state_repairs_total{node="${node}",kind="${kind}"} 0\n`);
      }
    }
  });

  it('lists every kind the registration reducers publish (so none appears only at its first repair)', () => {
    const source = fs.readFileSync(
      path.join(__dirname, '..', 'state', 'registrations', 'registration.reducers.ts'),
      'utf8',
    );
    const published = new Set([...source.matchAll(/\brepair\('([a-z_]+)'/g)].map((m) => m[1]));
    expect(published.size).toBeGreaterThan(5);
    expect([...published].sort()).toEqual([...REPAIR_KINDS].sort());
  });

  it('lists only measured RTTs and every configured endpoint in pbxpulse_endpoint_registered', async () => {
    const { registry, eps } = setup();
    eps.set('pbx2', [{ name: '3001', registered: false } as EndpointView]);
    const text = await registry.metrics();
    expect(text.match(/^pbxpulse_endpoint_registered\{/gm)).toHaveLength(3);
    expect(text).toContain('pbxpulse_endpoint_registered{node="pbx2",endpoint="3001"} 0');
    expect(text.match(/^pbxpulse_contact_rtt_seconds\{/gm)).toHaveLength(1);
  });
});
