import * as fs from 'node:fs';
import { WebSocket } from 'ws';
import { startDaemonProcess, type DaemonProcess } from '../../bench/support/daemon-process';
import { labNodeYaml, labStart, labStop } from '../support/lab-asterisk';
import { labLoadConfig, startLabLoad, type SipLoad } from '../support/lab-load';
import { expectEventually } from '../support/expect-eventually';

const ENDPOINTS = 50;
const TOKEN = 'shutdown-test-admin-token-0123456789';

/**
 * SIGTERM to the real daemon process (node dist/main.js) while SIPp makes events flow and a reload is in
 * flight: the reload finishes or answers 503, every /ws client gets close code 1001, the audit line of
 * the reload is written, and the process exits 0 within 10 s.
 */
describe('graceful shutdown under load', () => {
  let daemon: DaemonProcess | undefined;
  let load: SipLoad | undefined;

  beforeAll(async () => {
    await labStart(labLoadConfig(ENDPOINTS));
  }, 60_000);

  afterAll(async () => {
    await load?.stop().catch(() => undefined);
    await daemon?.stop();
    await labStop();
  }, 60_000);

  it('SIGTERM during a reload: reload 200 or 503, /ws closes 1001, audit line, exit 0 within 10 s', async () => {
    daemon = await startDaemonProcess({
      config: (port) =>
        [
          `http: { host: 127.0.0.1, port: ${port} }`,
          `auth: { adminToken: "${TOKEN}" }`,
          'log: { level: log, format: json }',
          'nodes:',
          labNodeYaml('lab'),
        ].join('\n'),
      readyTimeoutMs: 60_000,
    });
    const d = daemon;
    load = await startLabLoad({
      endpoints: ENDPOINTS,
      regRate: 100,
      callRate: 5,
      callHoldMs: 1000,
      maxSeconds: 120,
    });
    await expectEventually(
      async () => {
        const res = await fetch(`${d.url}/metrics`);
        const m = /pbxpulse_ami_events_total\{node="lab"\} (\d+)/.exec(await res.text());
        expect(Number(m?.[1] ?? 0)).toBeGreaterThan(500);
      },
      20_000,
      200,
    );

    const wsUrl = `${d.url.replace('http', 'ws')}/ws`;
    const clients = await Promise.all(
      Array.from(
        { length: 5 },
        () =>
          new Promise<{ ws: WebSocket; code: Promise<number> }>((resolve, reject) => {
            const ws = new WebSocket(wsUrl);
            const code = new Promise<number>((r) => ws.once('close', (c) => r(c)));
            ws.once('open', () => resolve({ ws, code }));
            ws.once('error', reject);
          }),
      ),
    );

    const reload = fetch(`${d.url}/api/v1/nodes/lab/reload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ module: 'res_pjsip.so' }),
    }).then(
      async (res) => ({ status: res.status, body: (await res.json()) as Record<string, unknown> }),
      (err: Error) => ({ status: 0, body: { error: err.message } }),
    );
    // The reload is under way (its AMI action is out) when the signal lands.
    await new Promise((r) => setTimeout(r, 30));
    const t0 = Date.now();
    const exitCode = await d.stop();
    const tookMs = Date.now() - t0;
    const answer = await reload;
    const codes = await Promise.all(clients.map((c) => c.code));
    const log = fs.readFileSync(d.logPath, 'utf8');
    const audit = log.split('\n').find((l) => l.includes('control: admin reload res_pjsip.so on lab'));
    console.log(
      `SIGTERM → exit ${String(exitCode)} in ${tookMs} ms; reload answered ${answer.status}; /ws close codes ${codes.join(',')}; audit: ${audit ?? '(none)'}`,
    );
    expect(exitCode).toBe(0);
    expect(tookMs).toBeLessThan(10_000);
    expect([200, 503]).toContain(answer.status);
    expect(codes).toEqual([1001, 1001, 1001, 1001, 1001]);
    expect(audit).toBeDefined();
    expect(log).toContain('stopped');
    daemon = undefined;
  }, 120_000);
});
