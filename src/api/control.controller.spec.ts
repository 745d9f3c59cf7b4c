import { type INestApplication, Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Registry } from 'prom-client';
import { AmiActionError } from '../ami/ami.errors';
import { type AmiActionLink, AmiPjsip } from '../ami/ami.pjsip';
import { AriQueries, type AriRequestLink } from '../ari/ari.queries';
import { AmiService } from '../ami/ami.service';
import { AriService } from '../ari/ari.service';
import { PBXPULSE_CONFIG } from '../config/config.module';
import type { PbxpulseConfig } from '../config/config.types';
import { ControlService } from '../control/control.service';
import { CONTROL_CLOCK } from '../control/reload-rate-limiter';
import { UnreadableRequestAudit } from './unreadable-request.audit';
import { EventBus } from '../events/event-bus';
import { GatewayHub } from '../gateway/gateway.hub';
import type { Finding } from '../health/diagnostics/diagnose';
import { DiagnosticsService } from '../health/diagnostics/diagnostics.service';
import { ControlMetrics } from '../metrics/control.metrics';
import { METRICS_REGISTRY } from '../metrics/metrics.registry';
import { NodeStateStore } from '../state/node-state.store';
import { AdminGuard } from './admin.guard';
import { ApiErrorsModule } from './api.module';
import { ControlController } from './control.controller';

const ADMIN = 'admin-token-for-tests';
const VIEWER = 'viewer-token-for-tests';

function finding(code: Finding['code'], name: string): Finding {
  return {
    code,
    severity: 'error',
    object: { type: 'endpoint', name },
    message: `${code} on ${name}`,
    remedy: 'fix it',
    evidence: {},
  };
}

/** ControlController + AdminGuard + the real ControlService over doubles of AMI, ARI and diagnostics. */
async function startApp(auth: PbxpulseConfig['auth']) {
  const bus = new EventBus();
  const registry = new Registry();
  const clock = { now: 1_000_000 };
  const ami = {
    isUp: true,
    action: jest.fn((action: string, fields: Record<string, string>) => {
      if (action === 'Reload') {
        setImmediate(() =>
          bus.publish({
            type: 'module.reloaded',
            node: 'pbx1',
            module: fields.Module,
            status: '0',
            ts: 0,
            source: 'ami',
          }),
        );
      }
      if (action === 'PJSIPQualify' && fields.Endpoint === 'ghost') {
        return Promise.reject(new AmiActionError('PJSIPQualify', 'Unable to retrieve endpoint ghost'));
      }
      return Promise.resolve({ fields: { Response: 'Success' } });
    }),
  };
  const reloadTimes = ['2026-01-01T00:00:00.000+0000', '2026-01-01T00:00:05.000+0000'];
  let infoCalls = 0;
  const ari = {
    getAsteriskInfo: jest.fn(() =>
      Promise.resolve({ lastReloadTime: reloadTimes[Math.min(infoCalls++, 1)] }),
    ),
  };
  const diagnoses = [
    [finding('AOR_NAME_MISMATCH', '1002'), finding('CONTEXT_MISSING', '1003')],
    [finding('CONTEXT_MISSING', '1003'), finding('RESTART_REQUIRED', 'transport-udp')],
  ];
  let diagCalls = 0;
  const diagnostics = {
    refresh: jest.fn(() =>
      Promise.resolve({
        findings: diagnoses[Math.min(diagCalls++, 1)],
        computedAt: '',
        durationMs: 0,
        endpoints: 0,
      }),
    ),
  };
  const hub = { publish: jest.fn() };
  const config = {
    auth,
    control: { reloadMinIntervalMs: 10_000 },
    connections: { actionTimeoutMs: 2_000 },
    nodes: [{ name: 'pbx1' }],
  } as unknown as PbxpulseConfig;

  const moduleRef = await Test.createTestingModule({
    imports: [ApiErrorsModule],
    controllers: [ControlController],
    providers: [
      AdminGuard,
      ControlService,
      ControlMetrics,
      UnreadableRequestAudit,
      { provide: PBXPULSE_CONFIG, useValue: config },
      { provide: METRICS_REGISTRY, useValue: registry },
      { provide: CONTROL_CLOCK, useValue: () => clock.now },
      { provide: EventBus, useValue: bus },
      { provide: NodeStateStore, useValue: { has: (n: string) => n === 'pbx1', get: () => undefined } },
      {
        provide: AmiService,
        useValue: { pjsip: () => new AmiPjsip('pbx1', ami as unknown as AmiActionLink) },
      },
      {
        provide: AriService,
        useValue: { queries: () => new AriQueries('pbx1', ari as unknown as AriRequestLink) },
      },
      { provide: DiagnosticsService, useValue: diagnostics },
      { provide: GatewayHub, useValue: hub },
    ],
  }).compile();
  const app: INestApplication = moduleRef.createNestApplication({ logger: false });
  await app.listen(0, '127.0.0.1');
  const port = (app.getHttpServer() as { address(): { port: number } }).address().port;
  const post = async (path: string, opts: { token?: string; body?: string } = {}) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', headers, body: opts.body });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, any> };
  };
  return { app, post, ami, hub, registry, clock };
}

/** The `control.action` deltas published so far, in order. */
function actions(hub: { publish: jest.Mock }): Array<{ node: string; data: Record<string, unknown> }> {
  return hub.publish.mock.calls
    .filter(([type]) => type === 'control.action')
    .map(([, node, data]) => ({ node: node as string, data: data as Record<string, unknown> }));
}

describe('control routes', () => {
  let ctx: Awaited<ReturnType<typeof startApp>>;
  let warnings: jest.SpyInstance;
  beforeEach(() => {
    warnings = jest.spyOn(Logger.prototype, 'warn');
  });
  afterEach(async () => {
    warnings.mockRestore();
    await ctx.app.close();
  });
  /** Every warning logged so far, as one text. */
  const logged = (): string => warnings.mock.calls.map((c) => c.map(String).join(' ')).join('\n');

  describe('with admin and viewer tokens', () => {
    beforeEach(async () => {
      ctx = await startApp({ adminToken: ADMIN, viewerToken: VIEWER });
    });

    it('reloads with the admin token: times, changed diagnoses, restartRequired, audit and metric', async () => {
      const res = await ctx.post('/api/v1/nodes/pbx1/reload', {
        token: ADMIN,
        body: '{"module":"res_pjsip.so"}',
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        node: 'pbx1',
        module: 'res_pjsip.so',
        result: 'ok',
        confirmed: true,
        lastReloadBefore: '2026-01-01T00:00:00.000+0000',
        lastReloadAfter: '2026-01-01T00:00:05.000+0000',
        restartRequired: true,
        restartReason: 'RESTART_REQUIRED on transport-udp',
      });
      expect(res.body.diagnosesChanged.added.map((f: Finding) => f.code)).toEqual(['RESTART_REQUIRED']);
      expect(res.body.diagnosesChanged.removed.map((f: Finding) => f.code)).toEqual(['AOR_NAME_MISMATCH']);
      expect(ctx.ami.action).toHaveBeenCalledWith('Reload', { Module: 'res_pjsip.so' });
      expect(ctx.hub.publish).toHaveBeenCalledWith(
        'control.action',
        'pbx1',
        expect.objectContaining({ action: 'reload', module: 'res_pjsip.so', result: 'ok', by: 'admin' }),
        expect.any(Number),
      );
      expect(await ctx.registry.metrics()).toContain(
        'pbxpulse_reloads_total{node="pbx1",module="res_pjsip.so",result="ok"} 1',
      );
    });

    it('an empty body reloads res_pjsip.so', async () => {
      const res = await ctx.post('/api/v1/nodes/pbx1/reload', { token: ADMIN });
      expect(res.status).toBe(200);
      expect(res.body.module).toBe('res_pjsip.so');
    });

    it.each([
      ['no token', undefined, 401, /admin token required/],
      ['a wrong token', 'nope', 401, /admin token required/],
      ['the viewer token', VIEWER, 403, /admin token is required/],
    ])('refuses %s', async (_what, token, status, message) => {
      const res = await ctx.post('/api/v1/nodes/pbx1/reload', { token, body: '{}' });
      expect(res.status).toBe(status);
      expect(res.body.message).toMatch(message);
      expect(ctx.ami.action).not.toHaveBeenCalled();
    });

    it.each([
      ['no token', undefined, 401, 'unauthorized', 'anonymous', 'no token'],
      ['a wrong token', 'nope-not-a-token', 401, 'unauthorized', 'anonymous', 'invalid token'],
      ['the viewer token', VIEWER, 403, 'forbidden', 'viewer', 'admin token required'],
    ])('audits a reload refused for %s: log line, control.action, counter', async (...args) => {
      const [, token, status, result, by, reason] = args;
      const res = await ctx.post('/api/v1/nodes/pbx1/reload', { token, body: '{"module":"pbx_config.so"}' });
      expect(res.status).toBe(status);
      expect(actions(ctx.hub)).toEqual([
        {
          node: 'pbx1',
          data: { node: 'pbx1', action: 'reload', module: 'pbx_config.so', result, by, reason },
        },
      ]);
      expect(await ctx.registry.metrics()).toContain(
        `pbxpulse_reloads_total{node="pbx1",module="pbx_config.so",result="${result}"} 1`,
      );
      expect(logged()).toContain(`control: ${by} reload pbx_config.so on pbx1: ${result} (${reason})`);
      for (const secret of [ADMIN, VIEWER, 'nope-not-a-token']) {
        expect(JSON.stringify(ctx.hub.publish.mock.calls)).not.toContain(secret);
        expect(logged()).not.toContain(secret);
        expect(await ctx.registry.metrics()).not.toContain(secret);
      }
    });

    it('audits a refused reload naming no allowlisted module with module="<invalid>"', async () => {
      const res = await ctx.post('/api/v1/nodes/pbx1/reload', { body: '{"module":"manager"}' });
      expect(res.status).toBe(401);
      expect(actions(ctx.hub)[0].data).toMatchObject({ module: '<invalid>', result: 'unauthorized' });
      expect(await ctx.registry.metrics()).toContain(
        'pbxpulse_reloads_total{node="pbx1",module="<invalid>",result="unauthorized"} 1',
      );
      expect(await ctx.registry.metrics()).not.toContain('manager');
    });

    it.each([
      ['no token', undefined, 'unauthorized', 'anonymous'],
      ['the viewer token', VIEWER, 'forbidden', 'viewer'],
    ])('audits a qualify refused for %s', async (_what, token, result, by) => {
      const res = await ctx.post('/api/v1/nodes/pbx1/endpoints/2001/qualify', { token });
      expect(res.status).toBe(result === 'forbidden' ? 403 : 401);
      expect(actions(ctx.hub)).toEqual([
        { node: 'pbx1', data: expect.objectContaining({ action: 'qualify', endpoint: '2001', result, by }) },
      ]);
      expect(await ctx.registry.metrics()).toContain(
        `pbxpulse_qualifies_total{node="pbx1",result="${result}"} 1`,
      );
      expect(logged()).toContain(`control: ${by} qualify 2001 on pbx1: ${result}`);
    });

    it('audits a refusal on an unknown node with node="<unknown>" as the label', async () => {
      await ctx.post('/api/v1/nodes/elsewhere/reload', { body: '{}' });
      await ctx.post('/api/v1/nodes/elsewhere/endpoints/2001/qualify', { token: VIEWER });
      expect(actions(ctx.hub).map((a) => [a.node, a.data.result])).toEqual([
        ['elsewhere', 'unauthorized'],
        ['elsewhere', 'forbidden'],
      ]);
      const metrics = await ctx.registry.metrics();
      expect(metrics).toContain(
        'pbxpulse_reloads_total{node="<unknown>",module="res_pjsip.so",result="unauthorized"} 1',
      );
      expect(metrics).toContain('pbxpulse_qualifies_total{node="<unknown>",result="forbidden"} 1');
      expect(metrics).not.toContain('elsewhere');
    });

    it('404 for an unknown node: audited with the requested name bounded, never as a label', async () => {
      const long = 'x'.repeat(300);
      expect((await ctx.post(`/api/v1/nodes/${long}/reload`, { token: ADMIN, body: '{}' })).status).toBe(404);
      expect(
        (await ctx.post('/api/v1/nodes/evil%0Anode/endpoints/2001/qualify', { token: ADMIN })).status,
      ).toBe(404);
      const [reload, qualify] = actions(ctx.hub);
      expect(reload.node).toHaveLength(64);
      expect(reload.node).toBe(`${'x'.repeat(63)}…`);
      expect(reload.data).toMatchObject({
        node: reload.node,
        action: 'reload',
        module: 'res_pjsip.so',
        result: 'node_not_found',
        by: 'admin',
      });
      expect(qualify.node).toBe('evil?node');
      expect(qualify.data).toMatchObject({ action: 'qualify', endpoint: '2001', result: 'node_not_found' });
      const metrics = await ctx.registry.metrics();
      expect(metrics).toContain(
        'pbxpulse_reloads_total{node="<unknown>",module="res_pjsip.so",result="node_not_found"} 1',
      );
      expect(metrics).toContain('pbxpulse_qualifies_total{node="<unknown>",result="node_not_found"} 1');
      expect(metrics).not.toContain('xxxx');
      expect(metrics).not.toContain('evil');
      expect(logged()).toContain(`control: admin reload res_pjsip.so on ${reload.node}: node_not_found`);
      expect(logged()).not.toContain('evil\n');
    });

    it('400 for a bad body or endpoint name: audited with module="<invalid>" and counted', async () => {
      expect(
        (await ctx.post('/api/v1/nodes/pbx1/reload', { token: ADMIN, body: '{"module":"manager"}' })).status,
      ).toBe(400);
      expect((await ctx.post('/api/v1/nodes/pbx1/reload', { token: ADMIN, body: '[1]' })).status).toBe(400);
      expect(
        (await ctx.post('/api/v1/nodes/pbx1/endpoints/bad%20name/qualify', { token: ADMIN })).status,
      ).toBe(400);
      expect(actions(ctx.hub).map((a) => a.data)).toEqual([
        { node: 'pbx1', action: 'reload', module: '<invalid>', result: 'bad_request', by: 'admin' },
        { node: 'pbx1', action: 'reload', module: '<invalid>', result: 'bad_request', by: 'admin' },
        {
          node: 'pbx1',
          action: 'qualify',
          endpoint: '<invalid>',
          result: 'bad_request',
          by: 'admin',
          reason: undefined,
        },
      ]);
      const metrics = await ctx.registry.metrics();
      expect(metrics).toContain(
        'pbxpulse_reloads_total{node="pbx1",module="<invalid>",result="bad_request"} 2',
      );
      expect(metrics).toContain('pbxpulse_qualifies_total{node="pbx1",result="bad_request"} 1');
      expect(metrics).not.toContain('manager');
    });

    it.each([
      ['no token', undefined, 401, 'unauthorized', 'anonymous'],
      ['the viewer token', VIEWER, 403, 'forbidden', 'viewer'],
      ['the admin token', ADMIN, 400, 'bad_request', 'admin'],
    ])('a body the JSON parser refuses, with %s: audited, auth checked first', async (...args) => {
      const [, token, status, result, by] = args;
      expect((await ctx.post('/api/v1/nodes/pbx1/reload', { token, body: '{not json' })).status).toBe(status);
      expect(
        (await ctx.post('/api/v1/nodes/pbx1/endpoints/2001/qualify', { token, body: '{not json' })).status,
      ).toBe(status);
      expect(actions(ctx.hub).map((a) => a.data)).toEqual([
        expect.objectContaining({ node: 'pbx1', action: 'reload', module: '<invalid>', result, by }),
        expect.objectContaining({ node: 'pbx1', action: 'qualify', endpoint: '2001', result, by }),
      ]);
      const metrics = await ctx.registry.metrics();
      expect(metrics).toContain(
        `pbxpulse_reloads_total{node="pbx1",module="<invalid>",result="${result}"} 1`,
      );
      expect(metrics).toContain(`pbxpulse_qualifies_total{node="pbx1",result="${result}"} 1`);
      expect(ctx.ami.action).not.toHaveBeenCalled();
    });

    it('a refused body on another path is not a control call', async () => {
      const res = await ctx.post('/api/v1/nodes/pbx1/reload/extra', { token: ADMIN, body: '{not json' });
      expect(res.status).toBe(400);
      expect(actions(ctx.hub)).toEqual([]);
    });

    it('400 for a module outside the allowlist, naming the allowlist', async () => {
      const res = await ctx.post('/api/v1/nodes/pbx1/reload', { token: ADMIN, body: '{"module":"manager"}' });
      expect(res.status).toBe(400);
      expect(res.body.message).toMatch(/allowed modules: res_pjsip\.so, .*pbx_config\.so/);
    });

    it.each([
      ['[1]', /JSON object/],
      ['{"module":5}', /must be a string/],
      ['{"modul":"res_pjsip.so"}', /unknown key/],
      ['{not json', /.+/],
    ])('400 for the body %s', async (body, reason) => {
      const res = await ctx.post('/api/v1/nodes/pbx1/reload', { token: ADMIN, body });
      expect(res.status).toBe(400);
      expect(String(res.body.message)).toMatch(reason);
    });

    it('404 for an unknown node', async () => {
      expect((await ctx.post('/api/v1/nodes/nope/reload', { token: ADMIN })).status).toBe(404);
      expect((await ctx.post('/api/v1/nodes/nope/endpoints/2001/qualify', { token: ADMIN })).status).toBe(
        404,
      );
    });

    it('503 while the AMI link is down', async () => {
      ctx.ami.isUp = false;
      expect((await ctx.post('/api/v1/nodes/pbx1/reload', { token: ADMIN })).status).toBe(503);
      expect((await ctx.post('/api/v1/nodes/pbx1/endpoints/2001/qualify', { token: ADMIN })).status).toBe(
        503,
      );
      expect(await ctx.registry.metrics()).toContain(
        'pbxpulse_reloads_total{node="pbx1",module="res_pjsip.so",result="not_connected"} 1',
      );
    });

    it('429 with Retry-After for a second reload within the interval, 200 again after it', async () => {
      expect((await ctx.post('/api/v1/nodes/pbx1/reload', { token: ADMIN })).status).toBe(200);
      ctx.clock.now += 3_000;
      const limited = await ctx.post('/api/v1/nodes/pbx1/reload', {
        token: ADMIN,
        body: '{"module":"pbx_config.so"}',
      });
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toBe('7');
      expect(limited.body.code).toBe('RATE_LIMITED');
      expect(await ctx.registry.metrics()).toContain(
        'pbxpulse_reloads_total{node="pbx1",module="pbx_config.so",result="rate_limited"} 1',
      );
      ctx.clock.now += 7_000;
      expect((await ctx.post('/api/v1/nodes/pbx1/reload', { token: ADMIN })).status).toBe(200);
    });

    it("502 with Asterisk's reason when it refuses the reload", async () => {
      ctx.ami.action.mockRejectedValueOnce(new AmiActionError('Reload', 'A reload is in progress'));
      const res = await ctx.post('/api/v1/nodes/pbx1/reload', { token: ADMIN });
      expect(res.status).toBe(502);
      expect(res.body).toMatchObject({ code: 'RELOAD_FAILED' });
      expect(res.body.message).toContain('A reload is in progress');
      expect(await ctx.registry.metrics()).toContain(
        'pbxpulse_reloads_total{node="pbx1",module="res_pjsip.so",result="error"} 1',
      );
    });

    it('qualify: queued; unknown endpoint 404; viewer 403', async () => {
      const ok = await ctx.post('/api/v1/nodes/pbx1/endpoints/2001/qualify', { token: ADMIN });
      expect(ok).toMatchObject({ status: 200, body: { result: 'queued', endpoint: '2001' } });
      expect(ctx.ami.action).toHaveBeenCalledWith('PJSIPQualify', { Endpoint: '2001' });
      const ghost = await ctx.post('/api/v1/nodes/pbx1/endpoints/ghost/qualify', { token: ADMIN });
      expect(ghost).toMatchObject({ status: 404, body: { code: 'ENDPOINT_NOT_FOUND' } });
      const viewer = await ctx.post('/api/v1/nodes/pbx1/endpoints/2001/qualify', { token: VIEWER });
      expect(viewer.status).toBe(403);
    });
  });

  it('401 saying control is disabled when no admin token is configured', async () => {
    ctx = await startApp({ viewerToken: VIEWER });
    for (const token of [undefined, VIEWER, 'anything']) {
      const res = await ctx.post('/api/v1/nodes/pbx1/reload', { token });
      expect(res.status).toBe(401);
      expect(res.body.message).toMatch(/control is disabled until auth\.adminToken is set/);
    }
    expect(actions(ctx.hub).map((a) => a.data.result)).toEqual([
      'unauthorized',
      'unauthorized',
      'unauthorized',
    ]);
    expect(await ctx.registry.metrics()).toContain(
      'pbxpulse_reloads_total{node="pbx1",module="res_pjsip.so",result="unauthorized"} 3',
    );
    expect(logged()).toContain('control disabled: no auth.adminToken');
  });
});
