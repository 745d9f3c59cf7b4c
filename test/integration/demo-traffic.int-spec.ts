import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expectEventually } from '../support/expect-eventually';
import { sandboxNodeYaml, startDaemon, type TestDaemon } from '../support/daemon';
import { sandboxUp } from '../support/sandbox';

const ROOT = join(__dirname, '..', '..');
const TRAFFIC = join(ROOT, 'test-output', 'scripts', 'scripts', 'demo-traffic.js');

/** Runs the compiled demo traffic once; resolves with its exit code and output. */
function runTraffic(): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [TRAFFIC, '--tidy'], { cwd: ROOT });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, output })));
}

/**
 * What `npm run demo` promises a newcomer: within a minute of the traffic, the 401 loop and the
 * AOR-not-found are in the API and the metrics, and the Echo call is classified.
 */
describe('the demo traffic (scripts/demo-traffic.ts) on the sandbox Asterisk', () => {
  let daemon: TestDaemon;

  beforeAll(async () => {
    await sandboxUp();
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const build = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.scripts.json')], {
      encoding: 'utf8',
    });
    expect(build.stdout + build.stderr).toBe('');
    daemon = await startDaemon(sandboxNodeYaml('sandbox'));
    await expectEventually(async () => expect((await daemon.get('/health/ready')).status).toBe(200), 10_000);
  }, 90_000);

  afterAll(async () => {
    await daemon?.close();
  });

  it('shows the 401 loop, the AOR-not-found, the unknown accounts and the classified call within a minute', async () => {
    const started = Date.now();
    const run = await runTraffic();
    expect(run).toMatchObject({ code: 0 });
    expect(run.output).toContain('1002 REGISTER answered 404');

    await expectEventually(async () => {
      const alerts = (await daemon.get('/api/v1/alerts')).body.alerts as Array<{
        type: string;
        endpoint: string;
      }>;
      expect(alerts).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ type: 'auth_loop', endpoint: '2001' }),
          expect.objectContaining({ type: 'aor_not_found', endpoint: '1002' }),
        ]),
      );
      const metrics = (await daemon.get('/metrics')).text;
      expect(metrics).toContain('pbxpulse_auth_loop_active{node="sandbox",endpoint="2001"} 1');
      expect(metrics).toContain('pbxpulse_aor_not_found_total{node="sandbox",endpoint="1002"} 1');
      expect(metrics).toMatch(
        /pbxpulse_registration_failures_total\{node="sandbox",endpoint="<unknown>",reason="unknown_account"\} [3-9]/,
      );
      const recent = (await daemon.get('/api/v1/nodes/sandbox/calls/recent')).body.calls as Array<{
        classification: string;
      }>;
      expect(recent.map((c) => c.classification)).toContain('normal');
    }, 10_000);
    const seconds = (Date.now() - started) / 1000;
    console.log(`demo traffic: everything visible ${seconds.toFixed(1)} s after the traffic started`);
    expect(seconds).toBeLessThan(60);
  });
});
