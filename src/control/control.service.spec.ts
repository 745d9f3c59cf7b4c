import { Logger } from '@nestjs/common';
import { Registry } from 'prom-client';
import type { AmiService } from '../ami/ami.service';
import type { AriService } from '../ari/ari.service';
import type { PbxpulseConfig } from '../config/config.types';
import { EventBus } from '../events/event-bus';
import type { GatewayHub } from '../gateway/gateway.hub';
import type { DiagnosticsService } from '../health/diagnostics/diagnostics.service';
import { ControlMetrics } from '../metrics/control.metrics';
import type { NodeStateStore } from '../state/node-state.store';
import { ControlService } from './control.service';

const config = {
  auth: {},
  control: { reloadMinIntervalMs: 10_000 },
  connections: { actionTimeoutMs: 2_000 },
  nodes: [{ name: 'pbx1' }],
} as unknown as PbxpulseConfig;

/** ControlService over strict doubles: none of these refusals may touch AMI, ARI or diagnostics. */
function setup(withHub = true) {
  const registry = new Registry();
  const hub = { publish: jest.fn() };
  const untouchable = new Proxy(
    {},
    {
      get: (_t, prop) => {
        throw new Error(`unexpected call to ${String(prop)}`);
      },
    },
  );
  const nodes = { has: (n: string) => n === 'pbx1' } as unknown as NodeStateStore;
  const service = new ControlService(
    config,
    nodes,
    untouchable as AmiService,
    untouchable as AriService,
    untouchable as DiagnosticsService,
    new EventBus(),
    new ControlMetrics(registry, config),
    () => 1_700_000_000_000,
    withHub ? (hub as unknown as GatewayHub) : undefined,
  );
  return { service, registry, hub };
}

describe('ControlService audit of refused calls', () => {
  let warn: jest.SpyInstance;
  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => warn.mockRestore());

  it.each([
    ['an empty body', undefined, false, 'res_pjsip.so'],
    ['an allowlisted module', { module: 'http' }, false, 'http'],
    ['a module outside the allowlist', { module: 'manager' }, false, '<invalid>'],
    ['a body of the wrong shape', ['res_pjsip.so'], false, '<invalid>'],
    ['a body the parser refused', undefined, true, '<invalid>'],
  ])(
    'reload with %s: audited with the allowlisted module or <invalid>',
    async (_what, body, unreadableBody, label) => {
      const { service, registry, hub } = setup();
      service.refused(
        { action: 'reload', node: 'pbx1', body, unreadableBody },
        'unauthorized',
        'anonymous',
        'no token',
      );
      expect(await registry.metrics()).toContain(
        `pbxpulse_reloads_total{node="pbx1",module="${label}",result="unauthorized"} 1`,
      );
      expect(hub.publish).toHaveBeenCalledWith(
        'control.action',
        'pbx1',
        {
          node: 'pbx1',
          action: 'reload',
          module: label,
          result: 'unauthorized',
          by: 'anonymous',
          reason: 'no token',
        },
        1_700_000_000_000,
      );
      expect(warn).toHaveBeenCalledWith(
        `control: anonymous reload ${label} on pbx1: unauthorized (no token)`,
      );
    },
  );

  it('an unknown node: bounded printable text in the log and delta, <unknown> as the label', async () => {
    const { service, registry, hub } = setup();
    const requested = `a\r\nb\u0000${'z'.repeat(200)}`;
    service.refused(
      { action: 'qualify', node: requested, endpoint: 'x y' },
      'forbidden',
      'viewer',
      'admin token required',
    );
    const shown = `a??b?${'z'.repeat(58)}…`;
    expect(shown).toHaveLength(64);
    expect(hub.publish).toHaveBeenCalledWith(
      'control.action',
      shown,
      expect.objectContaining({ node: shown, action: 'qualify', endpoint: '<invalid>', result: 'forbidden' }),
      expect.any(Number),
    );
    expect(warn).toHaveBeenCalledWith(
      `control: viewer qualify <invalid> on ${shown}: forbidden (admin token required)`,
    );
    const metrics = await registry.metrics();
    expect(metrics).toContain('pbxpulse_qualifies_total{node="<unknown>",result="forbidden"} 1');
    expect(metrics).not.toContain('zzz');
  });

  it('unknown node and bad body in the service itself: 404/400 audited and counted', async () => {
    const { service, registry, hub } = setup();
    await expect(service.reload('nope', { module: 'manager' }, 'admin')).rejects.toMatchObject({
      code: 'NODE_NOT_FOUND',
    });
    await expect(service.qualify('nope', '2001', 'admin')).rejects.toMatchObject({ code: 'NODE_NOT_FOUND' });
    await expect(service.reload('pbx1', { module: 'manager' }, 'admin')).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    await expect(service.qualify('pbx1', 'two words', 'admin')).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    expect(hub.publish.mock.calls.map(([, , data]) => (data as { result: string }).result)).toEqual([
      'node_not_found',
      'node_not_found',
      'bad_request',
      'bad_request',
    ]);
    const metrics = await registry.metrics();
    expect(metrics).toContain(
      'pbxpulse_reloads_total{node="<unknown>",module="<invalid>",result="node_not_found"} 1',
    );
    expect(metrics).toContain('pbxpulse_qualifies_total{node="<unknown>",result="node_not_found"} 1');
    expect(metrics).toContain(
      'pbxpulse_reloads_total{node="pbx1",module="<invalid>",result="bad_request"} 1',
    );
    expect(metrics).toContain('pbxpulse_qualifies_total{node="pbx1",result="bad_request"} 1');
  });

  it('without a gateway the call is still logged and counted', async () => {
    const { service, registry } = setup(false);
    service.refused(
      { action: 'qualify', node: 'pbx1', endpoint: '2001' },
      'unauthorized',
      'anonymous',
      'no token',
    );
    expect(warn).toHaveBeenCalledWith('control: anonymous qualify 2001 on pbx1: unauthorized (no token)');
    expect(await registry.metrics()).toContain(
      'pbxpulse_qualifies_total{node="pbx1",result="unauthorized"} 1',
    );
  });
});
