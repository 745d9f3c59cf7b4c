import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Registry } from 'prom-client';
import { AmiActionError } from '../ami/ami.errors';
import { AmiService } from '../ami/ami.service';
import { AriService } from '../ari/ari.service';
import { PBXPULSE_CONFIG } from '../config/config.module';
import type { PbxpulseConfig } from '../config/config.types';
import { ControlService } from '../control/control.service';
import { CONTROL_CLOCK } from '../control/reload-rate-limiter';
import { EventBus } from '../events/event-bus';
import { GatewayHub } from '../gateway/gateway.hub';
import type { Finding } from '../health/diagnostics/diagnose';
import { DiagnosticsService } from '../health/diagnostics/diagnostics.service';
import { ControlMetrics } from '../metrics/control.metrics';
import { METRICS_REGISTRY } from '../metrics/metrics.registry';
import { NodeStateStore } from '../state/node-state.store';
import { AdminGuard } from './admin.guard';
import { ControlController } from './control.controller';
import { ErrorFilter } from './error.filter';

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
      Promise.resolve({ findings: diagnoses[Math.min(diagCalls++, 1)], computedAt: '' }),
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
    controllers: [ControlController],
    providers: [
      AdminGuard,
      ControlService,
      ControlMetrics,
      { provide: PBXPULSE_CONFIG, useValue: config },
      { provide: METRICS_REGISTRY, useValue: registry },
      { provide: CONTROL_CLOCK, useValue: () => clock.now },
      { provide: EventBus, useValue: bus },
      { provide: NodeStateStore, useValue: { has: (n: string) => n === 'pbx1', get: () => undefined } },
      { provide: AmiService, useValue: { connection: () => ami } },
      { provide: AriService, useValue: { connection: () => ari } },
      { provide: DiagnosticsService, useValue: diagnostics },
      { provide: GatewayHub, useValue: hub },
    ],
  }).compile();
  const app: INestApplication = moduleRef.createNestApplication({ logger: false });
  app.useGlobalFilters(new ErrorFilter());
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

describe('control routes', () => {
  let ctx: Awaited<ReturnType<typeof startApp>>;
  afterEach(() => ctx.app.close());

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
  });
});
