import { ARI_USED_EVENT_TYPES } from '../../src/ari/ari.normaliser';
import { AriService } from '../../src/ari/ari.service';
import { expectEventually } from '../support/expect-eventually';
import { sandboxNodeYaml, startDaemon, type TestDaemon } from '../support/daemon';
import {
  SANDBOX,
  asteriskCli,
  coreRestartNow,
  sandboxDown,
  sandboxUp,
  waitFullyBooted,
} from '../support/sandbox';

/** The foundation against the real sandbox Asterisk 22: connect, survive restarts, report refusals. */
describe('pbxpulse against the sandbox Asterisk', () => {
  let daemon: TestDaemon | undefined;

  beforeAll(async () => {
    await sandboxUp();
  });

  afterEach(async () => {
    await daemon?.close();
    daemon = undefined;
  });

  afterAll(async () => {
    await sandboxUp();
  });

  it('connects AMI and ARI, becomes ready, and reports the Asterisk identity', async () => {
    daemon = await startDaemon(sandboxNodeYaml('pbx1'));
    await expectEventually(async () => expect((await daemon!.get('/health/ready')).status).toBe(200), 10_000);

    const { body } = await daemon.get('/api/v1/nodes');
    const node = body.nodes[0];
    expect(node).toMatchObject({ name: 'pbx1', ready: true, ami: { status: 'up' }, ari: { status: 'up' } });
    expect(node.asterisk.version).toMatch(/^22\./);
    expect(Date.parse(node.asterisk.startupTime)).not.toBeNaN();
    expect(Date.parse(node.asterisk.lastReloadTime)).not.toBeNaN();

    // Both links ran the resync hook and announced it (readiness may come a few ms before the
    // resync finishes: it only needs the links up).
    await expectEventually(() =>
      expect(
        daemon!.events
          .filter((e) => e.type === 'state.resynced')
          .map((e) => (e as { link: string }).link)
          .sort(),
      ).toEqual(['ami', 'ari']),
    );
    const changes = daemon.events.filter((e) => e.type === 'node.connection_changed');
    expect(changes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ link: 'ami', status: 'up' }),
        expect.objectContaining({ link: 'ari', status: 'up' }),
      ]),
    );

    const metrics = (await daemon.get('/metrics')).text;
    expect(metrics).toContain('pbxpulse_ami_up{node="pbx1"} 1');
    expect(metrics).toContain('pbxpulse_ari_up{node="pbx1"} 1');
    expect(metrics).toMatch(/pbxpulse_ami_events_total\{node="pbx1"\} \d+/);
    expect(metrics).toContain('pbxpulse_ami_malformed_frames_total{node="pbx1"} 0');
    expect(metrics).toContain('pbxpulse_ari_malformed_messages_total{node="pbx1"} 0');
    expect(metrics).toContain('process_cpu_user_seconds_total');

    // Asterisk sees our AMI session.
    expect(await asteriskCli('manager show connected')).toContain(SANDBOX.amiUser);
  });

  it("asks Asterisk for the ARI events it uses only (the app's eventFilter), and still follows calls", async () => {
    daemon = await startDaemon(sandboxNodeYaml('pbx1'));
    await expectEventually(async () => expect((await daemon!.get('/health/ready')).status).toBe(200), 10_000);
    const app = daemon.app.get(AriService).connection('pbx1').app;
    const auth = `Basic ${Buffer.from(`${SANDBOX.ariUser}:${SANDBOX.ariPassword}`).toString('base64')}`;
    await expectEventually(async () => {
      const res = await fetch(`${SANDBOX.ariUrl}/ari/applications/${app}`, {
        headers: { authorization: auth },
      });
      const body = (await res.json()) as { events_allowed: Array<{ type: string }> };
      expect(body.events_allowed.map((e) => e.type).sort()).toEqual([...ARI_USED_EVENT_TYPES].sort());
    });
    // Channel events still arrive over ARI: an originated call to the Echo test is seen on both links.
    await asteriskCli('channel originate Local/600@internal application Wait 1');
    await expectEventually(() => {
      const created = daemon!.events.filter((e) => e.type === 'channel.created');
      expect(new Set(created.map((e) => e.source))).toEqual(new Set(['ami', 'ari']));
    }, 10_000);
  });

  it('reports a refused AMI login as such, retries with backoff, and never shows the secret', async () => {
    const wrong = 'wrong-secret-Zq8v1';
    daemon = await startDaemon(
      `${sandboxNodeYaml('good')}\n${sandboxNodeYaml('bad', { amiSecret: wrong })}`,
      'connections: { reconnectInitialDelayMs: 100, reconnectMaxDelayMs: 1000 }',
    );
    await expectEventually(async () => {
      const { body } = await daemon!.get('/api/v1/nodes');
      const bad = body.nodes.find((n: { name: string }) => n.name === 'bad');
      expect(bad.ami.status).toBe('down');
      expect(bad.ami.lastError).toBe(
        `AMI login refused for user '${SANDBOX.amiUser}': Authentication failed`,
      );
      expect(bad.ari.status).toBe('up');
    }, 10_000);

    const ready = await daemon.get('/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.error['node:bad']).toMatchObject({ status: 'down', ami: 'down', ari: 'up' });
    expect(ready.body.info['node:good']).toMatchObject({ status: 'up' });

    // Backoff: with a 1 s cap, 3 s of refusals is a handful of attempts, not a tight loop.
    await new Promise((r) => setTimeout(r, 3000));
    const metrics = (await daemon.get('/metrics')).text;
    const attempts = Number(/pbxpulse_ami_reconnects_total\{node="bad"\} (\d+)/.exec(metrics)?.[1]);
    expect(attempts).toBeGreaterThanOrEqual(2);
    expect(attempts).toBeLessThan(30);

    for (const path of ['/api/v1/nodes', '/health/ready', '/metrics']) {
      expect((await daemon.get(path)).text).not.toContain(wrong);
    }
  });

  it('after `core restart now` is ready again within 5 s of Asterisk being fully booted, and resyncs', async () => {
    daemon = await startDaemon(sandboxNodeYaml('pbx1'));
    await expectEventually(async () => expect((await daemon!.get('/health/ready')).status).toBe(200), 10_000);
    const resyncsBefore = daemon.events.filter((e) => e.type === 'state.resynced').length;

    await coreRestartNow();
    await expectEventually(async () => expect((await daemon!.get('/health/ready')).status).toBe(503), 10_000);
    await waitFullyBooted(60_000);
    const booted = Date.now();
    await expectEventually(async () => expect((await daemon!.get('/health/ready')).status).toBe(200), 5_000);
    const readyAfterMs = Date.now() - booted;
    expect(readyAfterMs).toBeLessThan(5_000);

    // Each link resynced after the restart (AMI may log in twice while Asterisk boots: at least once each).
    await expectEventually(() => {
      const resynced = daemon!.events.filter((e) => e.type === 'state.resynced').slice(resyncsBefore);
      expect(new Set(resynced.map((e) => (e as { link: string }).link))).toEqual(new Set(['ami', 'ari']));
    });
    const metrics = (await daemon.get('/metrics')).text;
    expect(metrics).toMatch(/pbxpulse_ami_reconnects_total\{node="pbx1"\} [1-9]/);
    expect(metrics).toMatch(/pbxpulse_ari_reconnects_total\{node="pbx1"\} [1-9]/);
  });

  it('started while Asterisk is down: serves live and metrics, 503 with reasons, then 200 once Asterisk is up', async () => {
    await sandboxDown();
    daemon = await startDaemon(sandboxNodeYaml('pbx1'));
    expect((await daemon.get('/health/live')).status).toBe(200);
    expect((await daemon.get('/metrics')).text).toContain('pbxpulse_ami_up{node="pbx1"} 0');
    await expectEventually(async () => {
      const ready = await daemon!.get('/health/ready');
      expect(ready.status).toBe(503);
      expect(ready.body.error['node:pbx1'].amiError).toBe(
        `connection refused (${SANDBOX.amiHost}:${SANDBOX.amiPort})`,
      );
    }, 5_000);

    await sandboxUp();
    const booted = Date.now();
    await expectEventually(async () => expect((await daemon!.get('/health/ready')).status).toBe(200), 5_000);
    expect(Date.now() - booted).toBeLessThan(5_000);
  });
});
