import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectEventually } from '../support/expect-eventually';
import { bearer, fetchAnswer } from '../support/http';
import { freePort } from '../support/prometheus-server';

const MAIN = join(__dirname, '..', '..', 'dist', 'main.js');

const SECRETS = {
  AMI_SECRET: 'ami-Secret-Value-3f1c',
  ARI_PASSWORD: 'ari-Secret-Value-8c2e',
  ADMIN_TOKEN: 'admin-Token-Value-77aa',
};
const WRONG_TOKEN = 'wrong-Token-Value-41bd';
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[`);

interface JsonLine {
  level: string;
  pid: number;
  timestamp: number;
  message: string;
  context?: string;
  stack?: string;
}

/**
 * The built daemon with stdout and stderr piped, as under systemd or Kubernetes, on nodes where nothing
 * listens (the log format does not depend on Asterisk); a few control calls make audit lines, then
 * SIGTERM. Resolves with both streams once it has exited.
 */
async function runDaemon(logYaml: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'pbxpulse-logs-'));
  const path = join(dir, 'pbxpulse.yaml');
  writeFileSync(
    path,
    [
      `http: { host: 127.0.0.1, port: ${port} }`,
      'auth: { adminToken: ${ADMIN_TOKEN} }',
      logYaml,
      'nodes:',
      '  - name: pbx1',
      '    ami: { host: 127.0.0.1, port: 1, username: ops, secret: ${AMI_SECRET} }',
      '    ari: { url: "http://127.0.0.1:1", username: ops, password: ${ARI_PASSWORD} }',
    ].join('\n'),
  );
  const child = spawn(process.execPath, [MAIN, '--config', path], {
    env: { PATH: process.env.PATH, ...SECRETS },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

  const base = `http://127.0.0.1:${port}`;
  await expectEventually(
    async () => expect((await fetchAnswer(`${base}/health/live`)).status).toBe(200),
    15_000,
  );
  const reload = (node: string, headers: Record<string, string>, body = '{"module":"res_pjsip.so"}') =>
    fetchAnswer(`${base}/api/v1/nodes/${node}/reload`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
  expect((await reload('nope', bearer(SECRETS.ADMIN_TOKEN))).status).toBe(404);
  expect((await reload('pbx1', bearer(SECRETS.ADMIN_TOKEN))).status).toBe(503);
  expect((await reload('pbx1', bearer(WRONG_TOKEN))).status).toBe(401);
  expect((await reload('pbx1', bearer(SECRETS.ADMIN_TOKEN), '{"module": ')).status).toBe(400);
  child.kill('SIGTERM');
  return { code: await exited, stdout, stderr };
}

function expectNoSecret(text: string): void {
  for (const secret of [...Object.values(SECRETS), WRONG_TOKEN]) expect(text).not.toContain(secret);
}

describe('the built daemon logs (node dist/main.js, stdout piped)', () => {
  it('writes one JSON object per line by default, the control audit lines included, never a secret', async () => {
    const { code, stdout, stderr } = await runDaemon('');
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    const records = lines.map((line) => JSON.parse(line) as JsonLine);
    for (const r of records) {
      expect(r).toEqual(
        expect.objectContaining({
          level: expect.stringMatching(/^(log|warn)$/),
          pid: expect.any(Number),
          timestamp: expect.any(Number),
          message: expect.any(String),
        }),
      );
    }
    // Nothing goes wrong in this run: the error stream (errors, stacks) stays empty.
    expect(stderr).toBe('');
    const audit = records.filter((r) => r.context === 'ControlService').map((r) => [r.level, r.message]);
    expect(audit).toEqual([
      ['warn', 'control: admin reload res_pjsip.so on nope: node_not_found'],
      ['warn', 'control: admin reload res_pjsip.so on pbx1: not_connected'],
      ['warn', expect.stringMatching(/^control: anonymous reload .* on pbx1: unauthorized/)],
      ['warn', expect.stringMatching(/^control: admin reload <invalid> on pbx1: bad_request/)],
    ]);
    expect(records.map((r) => r.message)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^listening on http:\/\/127\.0\.0\.1:\d+; watching pbx1/),
        'SIGTERM received: readiness is now 503, logging off and closing',
        'stopped',
      ]),
    );
    expect(stdout).not.toMatch(ANSI);
    expectNoSecret(stdout + stderr);
  });

  it('log: { format: text } keeps Nest text lines, without escape codes on a pipe', async () => {
    const { code, stdout, stderr } = await runDaemon('log: { format: text }');
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThan(3);
    for (const line of lines) expect(line).toMatch(/^\[Nest\] \d+ {2}- .* (LOG|WARN) \[[^\]]+\] /);
    expect(stdout).toMatch(
      /WARN \[ControlService\] control: admin reload res_pjsip\.so on nope: node_not_found/,
    );
    expect(stdout).not.toMatch(ANSI);
    expectNoSecret(stdout + stderr);
  });

  it('log: { level: warn } drops the log lines and keeps the audit warnings', async () => {
    const { code, stdout } = await runDaemon('log: { level: warn }');
    expect(code).toBe(0);
    const records = stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as JsonLine);
    expect(new Set(records.map((r) => r.level))).toEqual(new Set(['warn']));
    expect(records.filter((r) => r.context === 'ControlService')).toHaveLength(4);
  });
});
