import type { PbxpulseConfig } from '../../config/config.types';
import { EventBus } from '../../events/event-bus';
import type { PjsipShowService } from '../pjsip/pjsip-show.service';
import { DIAGNOSTICS_INTERVAL_MS, DiagnosticsService } from './diagnostics.service';
import { expectEventually } from '../../../test/support/expect-eventually';

/** A PjsipShowService double for one endpoint whose AOR is misnamed. */
function fakePjsip(): { calls: () => number; service: PjsipShowService } {
  let calls = 0;
  const service = {
    allEndpointDetails: () => {
      calls += 1;
      return Promise.resolve([
        {
          endpoint: { objectName: '1002', aors: '1002-aor', context: 'internal' },
          auths: [{ objectName: '1002-auth', username: '1002' }],
        },
      ]);
    },
    aors: () => Promise.resolve([{ objectName: '1002-aor', maxContacts: 5, removeExisting: true }]),
    transports: () => Promise.resolve([]),
    modules: () => Promise.resolve([]),
    http: () =>
      Promise.resolve({
        enabled: true,
        bindAddress: '127.0.0.1:8088',
        tls: { enabled: false, bindAddress: null },
        prefix: '',
        uris: [],
        websocket: false,
      }),
    contexts: () => Promise.resolve(['internal']),
    configuredTransports: () => Promise.resolve([]),
    outboundRegistrations: () => Promise.resolve([]),
    contacts: () => Promise.resolve([]),
  };
  return { calls: () => calls, service: service as unknown as PjsipShowService };
}

describe('DiagnosticsService', () => {
  const config = { nodes: [{ name: 'pbx1', ami: { host: '127.0.0.1' } }] } as unknown as PbxpulseConfig;

  it('computes on demand once, then serves the cache', async () => {
    const pjsip = fakePjsip();
    const svc = new DiagnosticsService(config, pjsip.service, new EventBus());
    const first = await svc.get('pbx1');
    expect(first.findings.map((f) => f.code)).toEqual(['AOR_NAME_MISMATCH']);
    await expect(svc.get('pbx1')).resolves.toBe(first);
    expect(pjsip.calls()).toBe(1);
    svc.onModuleDestroy();
  });

  it('recomputes after an AMI resync and a module reload, not after an ARI resync', async () => {
    const pjsip = fakePjsip();
    const bus = new EventBus();
    const svc = new DiagnosticsService(config, pjsip.service, bus);
    bus.publish({ type: 'state.resynced', node: 'pbx1', link: 'ari', counts: {}, ts: 0, source: 'ari' });
    expect(pjsip.calls()).toBe(0);
    bus.publish({ type: 'state.resynced', node: 'pbx1', link: 'ami', counts: {}, ts: 0, source: 'ami' });
    await svc.refresh('pbx1');
    const after = pjsip.calls();
    expect(after).toBeGreaterThanOrEqual(1);
    expect(svc.cached().map((c) => c.node)).toEqual(['pbx1']);
    bus.publish({
      type: 'module.reloaded',
      node: 'pbx1',
      module: 'res_pjsip.so',
      status: '2',
      ts: 0,
      source: 'ami',
    });
    await svc.refresh('pbx1');
    expect(pjsip.calls()).toBeGreaterThan(after);
    svc.onModuleDestroy();
  });

  it('a refresh asked for during a computation runs once more after it, shared by every such request', async () => {
    const pjsip = fakePjsip();
    const gates: Array<() => void> = [];
    const details = pjsip.service.allEndpointDetails.bind(pjsip.service);
    pjsip.service.allEndpointDetails = (node: string) =>
      new Promise<void>((resolve) => gates.push(resolve)).then(() => details(node));
    const bus = new EventBus();
    const svc = new DiagnosticsService(config, pjsip.service, bus);
    const first = svc.refresh('pbx1');
    // Asterisk restarted while the first diagnosis was reading it: the resync must not be absorbed.
    bus.publish({ type: 'state.resynced', node: 'pbx1', link: 'ami', counts: {}, ts: 0, source: 'ami' });
    const second = svc.refresh('pbx1');
    const third = svc.refresh('pbx1');
    expect(second).toBe(third);
    expect(second).not.toBe(first);
    gates.shift()?.();
    await first;
    await expectEventually(() => expect(gates).toHaveLength(1));
    gates.shift()?.();
    await second;
    expect(pjsip.calls()).toBe(2);
    svc.onModuleDestroy();
  });

  it('reports how long the diagnosis took and how many endpoints it read', async () => {
    jest.useFakeTimers();
    try {
      const pjsip = fakePjsip();
      const details = pjsip.service.allEndpointDetails.bind(pjsip.service);
      // Reading the endpoints takes 1.5 s of (fake) time.
      pjsip.service.allEndpointDetails = (node: string) =>
        new Promise<void>((resolve) => setTimeout(resolve, 1500)).then(() => details(node));
      const svc = new DiagnosticsService(config, pjsip.service, new EventBus());
      const pending = svc.refresh('pbx1');
      await jest.advanceTimersByTimeAsync(1500);
      const result = await pending;
      expect(result.durationMs).toBe(1500);
      expect(result.endpoints).toBe(1);
      svc.onModuleDestroy();
    } finally {
      jest.useRealTimers();
    }
  });

  it('raises an alert per finding and clears the ones a recomputation no longer finds', async () => {
    const pjsip = fakePjsip();
    const raised: string[] = [];
    const cleared: string[] = [];
    const alerts = {
      upsert: (a: { id: string }) => raised.push(a.id),
      clear: (id: string) => cleared.push(id),
    };
    const svc = new DiagnosticsService(config, pjsip.service, new EventBus(), alerts as never);
    await svc.refresh('pbx1');
    expect(raised).toEqual(['diagnostic:pbx1:AOR_NAME_MISMATCH:endpoint:1002']);
    pjsip.service.allEndpointDetails = () => Promise.resolve([]);
    await svc.refresh('pbx1');
    expect(cleared).toEqual(['diagnostic:pbx1:AOR_NAME_MISMATCH:endpoint:1002']);
    svc.onModuleDestroy();
  });

  it('rejects an unknown node', async () => {
    const svc = new DiagnosticsService(config, fakePjsip().service, new EventBus());
    await expect(svc.get('nope')).rejects.toThrow("unknown node 'nope'");
    svc.onModuleDestroy();
  });
  describe('periodic recompute (fake timers)', () => {
    afterEach(() => jest.useRealTimers());

    it('tries a failed recomputation after a resync again 5 s later (then 10 s), not 5 minutes later', async () => {
      jest.useFakeTimers();
      const pjsip = fakePjsip();
      const service = pjsip.service as unknown as { allEndpointDetails: () => Promise<unknown> };
      const working = service.allEndpointDetails;
      let failing = true;
      let attempts = 0;
      service.allEndpointDetails = () => {
        attempts += 1;
        // Asterisk still booting after a restart: the first reads fail.
        return failing ? Promise.reject(new Error('AMI action PJSIPShowEndpoints failed')) : working();
      };
      const bus = new EventBus();
      const svc = new DiagnosticsService(config, pjsip.service, bus);
      bus.publish({ type: 'state.resynced', node: 'pbx1', link: 'ami', counts: {}, ts: 0, source: 'ami' });
      await jest.advanceTimersByTimeAsync(0);
      expect(attempts).toBe(1);
      await jest.advanceTimersByTimeAsync(4_900);
      expect(attempts).toBe(1);
      await jest.advanceTimersByTimeAsync(200);
      expect(attempts).toBe(2); // failed again: next in 10 s
      failing = false;
      await jest.advanceTimersByTimeAsync(9_800);
      expect(attempts).toBe(2);
      await jest.advanceTimersByTimeAsync(300);
      expect(attempts).toBe(3);
      expect(svc.cached().map((c) => c.node)).toEqual(['pbx1']);
      // Succeeded: no retry left waiting.
      await jest.advanceTimersByTimeAsync(60_000);
      expect(attempts).toBe(3);
      svc.onModuleDestroy();
      expect(jest.getTimerCount()).toBe(0);
    });

    it('recomputes every node every 5 minutes after bootstrap, and stops on module destroy', async () => {
      jest.useFakeTimers();
      expect(DIAGNOSTICS_INTERVAL_MS).toBe(5 * 60_000);
      const two = {
        nodes: [
          { name: 'pbx1', ami: { host: '127.0.0.1' } },
          { name: 'pbx2', ami: { host: '127.0.0.1' } },
        ],
      } as unknown as PbxpulseConfig;
      const pjsip = fakePjsip();
      const svc = new DiagnosticsService(two, pjsip.service, new EventBus());
      svc.onApplicationBootstrap();

      await jest.advanceTimersByTimeAsync(DIAGNOSTICS_INTERVAL_MS - 1);
      expect(pjsip.calls()).toBe(0);
      expect(svc.cached()).toEqual([]);

      await jest.advanceTimersByTimeAsync(1);
      expect(pjsip.calls()).toBe(2);
      expect(svc.cached().map((c) => c.node)).toEqual(['pbx1', 'pbx2']);
      const first = svc.cached()[0].result;

      await jest.advanceTimersByTimeAsync(DIAGNOSTICS_INTERVAL_MS);
      expect(pjsip.calls()).toBe(4);
      // A fresh result object (recomputed), not the cached one served again.
      expect(svc.cached()[0].result).not.toBe(first);

      svc.onModuleDestroy();
      await jest.advanceTimersByTimeAsync(3 * DIAGNOSTICS_INTERVAL_MS);
      expect(pjsip.calls()).toBe(4);
      expect(jest.getTimerCount()).toBe(0);
    });
  });
});
