import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectEventually } from '../support/expect-eventually';
import { freePort } from '../support/prometheus-server';
import { SANDBOX, asteriskCli, sandboxUp } from '../support/sandbox';

const MAIN = join(__dirname, '..', '..', 'dist', 'main.js');

interface Proc {
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill: (signal: NodeJS.Signals) => void;
}

function runDaemon(args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  const child = spawn(process.execPath, [MAIN, ...args], { env: { PATH: process.env.PATH, ...env } });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { output: () => out, exited, kill: (s) => child.kill(s) };
}

function writeConfig(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'pbxpulse-cli-'));
  const path = join(dir, 'pbxpulse.yaml');
  writeFileSync(path, text);
  return path;
}

describe('the built daemon (node dist/main.js)', () => {
  beforeAll(async () => {
    await sandboxUp();
  });

  it('exits 2 on a bad config with one message per problem, naming the key, never the secret', async () => {
    const secret = 'Sup3r-Secret-Value-9f2';
    const path = writeConfig(
      [
        'http: { port: 99999 }',
        'nodes:',
        `  - name: pbx1`,
        `    ami: { host: 127.0.0.1, port: abc, username: ops, secret: "${secret}" }`,
        `    ari: { url: http://127.0.0.1:8088, username: ops, password: \${ARI_PASSWORD_UNSET} }`,
        `  - name: pbx1`,
        `    ami: { host: 127.0.0.1, username: ops, secretFile: /nonexistent/ami.secret }`,
        `    ari: { url: http://127.0.0.1:8088, username: ops, password: "${secret}" }`,
      ].join('\n'),
    );
    const proc = runDaemon(['--config', path]);
    const { code } = await proc.exited;
    const out = proc.output();
    expect(code).toBe(2);
    expect(out).toContain('http.port');
    expect(out).toContain('nodes[0].ami.port');
    expect(out).toContain('ARI_PASSWORD_UNSET');
    expect(out).toMatch(/nodes\[0\]\.name: "pbx1" is used by nodes\[1\] too/);
    expect(out).toContain('/nonexistent/ami.secret');
    expect(out).not.toContain(secret);
    expect(out).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('exits 2 when no config is given, saying how to give one', async () => {
    const proc = runDaemon([]);
    const { code } = await proc.exited;
    expect(code).toBe(2);
    expect(proc.output()).toContain('--config');
  });

  it('on SIGTERM logs off from Asterisk, closes and exits 0 within 5 s', async () => {
    const port = await freePort();
    const path = writeConfig(
      [
        `http: { host: 127.0.0.1, port: ${port} }`,
        'nodes:',
        '  - name: pbx1',
        `    ami: { host: ${SANDBOX.amiHost}, port: ${SANDBOX.amiPort}, username: ${SANDBOX.amiUser}, secret: \${AMI_SECRET} }`,
        `    ari: { url: ${SANDBOX.ariUrl}, username: ${SANDBOX.ariUser}, password: \${ARI_PASSWORD} }`,
      ].join('\n'),
    );
    const proc = runDaemon(['--config', path], {
      AMI_SECRET: SANDBOX.amiSecret,
      ARI_PASSWORD: SANDBOX.ariPassword,
    });
    await expectEventually(async () => {
      const res = await fetch(`http://127.0.0.1:${port}/health/ready`);
      expect(res.status).toBe(200);
    }, 15_000);
    const sessionsBefore = countSessions(await asteriskCli('manager show connected'));
    expect(sessionsBefore).toBeGreaterThanOrEqual(1);

    const t0 = Date.now();
    proc.kill('SIGTERM');
    const { code } = await proc.exited;
    const tookMs = Date.now() - t0;
    expect(code).toBe(0);
    expect(tookMs).toBeLessThan(5000);
    expect(proc.output()).toContain('readiness is now 503');
    await expectEventually(async () =>
      expect(countSessions(await asteriskCli('manager show connected'))).toBe(sessionsBefore - 1),
    );
    // Secrets came from the environment and never reached the log.
    expect(proc.output()).not.toContain(SANDBOX.amiSecret);
    expect(proc.output()).not.toContain(SANDBOX.ariPassword);
  });
});

describe('the built daemon answering bad input', () => {
  it('refuses text/plain "hello" on reload with 400 and audits it; every error has {statusCode, code, message}', async () => {
    const port = await freePort();
    const admin = 'cli-admin-token-0b7d41';
    const path = writeConfig(
      [
        `http: { host: 127.0.0.1, port: ${port} }`,
        `auth: { adminToken: ${admin} }`,
        'nodes:',
        // Nothing listens on port 1: the refusals below must not depend on a PBX.
        '  - { name: pbx1, ami: { host: 127.0.0.1, port: 1, username: u, secret: s }, ari: { url: "http://127.0.0.1:1", username: u, password: p } }',
      ].join('\n'),
    );
    const proc = runDaemon(['--config', path]);
    const url = `http://127.0.0.1:${port}`;
    try {
      await expectEventually(
        async () => expect((await fetch(`${url}/health/live`)).status).toBe(200),
        15_000,
      );
      const answer = async (path: string, init?: RequestInit) => {
        const res = await fetch(url + path, init);
        return { status: res.status, body: await res.json() };
      };
      const post = {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'text/plain' },
      };
      expect(await answer('/api/v1/nodes/pbx1/reload', { ...post, body: 'hello' })).toEqual({
        status: 400,
        body: {
          statusCode: 400,
          code: 'BAD_REQUEST',
          message:
            'the body must be JSON, sent with Content-Type: application/json, like {"module":"res_pjsip.so"}',
        },
      });
      expect(await answer('/api/v1/nodes/%FF/reload', { ...post, body: 'hello' })).toMatchObject({
        status: 400,
        body: { statusCode: 400, code: 'BAD_REQUEST' },
      });
      expect(await answer('/api/v1/nodes/pbx1/reload', { method: 'POST' })).toMatchObject({
        status: 401,
        body: { statusCode: 401, code: 'UNAUTHORIZED' },
      });
      expect(await answer('/nope')).toEqual({
        status: 404,
        body: { statusCode: 404, code: 'ROUTE_NOT_FOUND', message: 'Cannot GET /nope' },
      });
      await expectEventually(() => {
        expect(proc.output()).toContain(
          'control: admin reload <invalid> on pbx1: bad_request (body is not application/json)',
        );
        expect(proc.output()).toContain(
          'control: admin reload <invalid> on %FF: bad_request (undecodable path)',
        );
        expect(proc.output()).toContain(
          'control: anonymous reload res_pjsip.so on pbx1: unauthorized (no token)',
        );
      });
      expect(proc.output()).not.toContain(admin);
    } finally {
      proc.kill('SIGTERM');
      await proc.exited;
    }
  });
});

/** Rows of `manager show connected` for the pbxpulse AMI user. */
function countSessions(cli: string): number {
  return cli.split('\n').filter((l) => l.trim().startsWith(SANDBOX.amiUser + ' ')).length;
}
