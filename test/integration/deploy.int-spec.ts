/**
 * The production packaging: deploy/systemd/pbxpulse.service passes `systemd-analyze verify`, and the
 * pieces of deploy/compose.yaml fit together: its pbxpulse configuration loads (cluster mode, the Redis
 * URL from the environment the compose file sets), its Prometheus configuration passes promtool and
 * scrapes every daemon, and the daemons share one configuration and one Redis.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { parseConfig } from '../../src/config/config.loader';
import { PROMTOOL, ensurePrometheus } from '../support/prometheus-server';

const ROOT = path.join(__dirname, '..', '..');
const DEPLOY = path.join(ROOT, 'deploy');

function run(cmd: string, args: string[]): { status: number | null; output: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error?.message ?? ''}` };
}

interface ComposeService {
  image?: string;
  hostname?: string;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, unknown>;
}

describe('deploy/', () => {
  it('systemd unit passes systemd-analyze verify', () => {
    // The unit names /usr/bin/node (Debian's nodejs); verify checks that the binary exists, so point it
    // at this machine's node.
    const unit = fs
      .readFileSync(path.join(DEPLOY, 'systemd', 'pbxpulse.service'), 'utf8')
      .replace('ExecStart=/usr/bin/node ', `ExecStart=${process.execPath} `);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pbxpulse-unit-'));
    const file = path.join(dir, 'pbxpulse.service');
    fs.writeFileSync(file, unit);
    const r = run('systemd-analyze', ['verify', file]);
    expect(r.output).toBe('');
    expect(r.status).toBe(0);
    expect(unit).toMatch(/^RestartPreventExitStatus=2$/m);
  });

  const compose = parse(fs.readFileSync(path.join(DEPLOY, 'compose.yaml'), 'utf8'), { merge: true }) as {
    services: Record<string, ComposeService>;
  };
  const daemons = Object.entries(compose.services).filter(([name]) => name.startsWith('pbxpulse-'));

  it('compose: three daemons with one configuration and one Redis, with a password', () => {
    expect(daemons.map(([name]) => name)).toEqual(['pbxpulse-1', 'pbxpulse-2', 'pbxpulse-3']);
    for (const [name, s] of daemons) {
      // Reachable by the others at the default cluster.advertiseUrl (http://<hostname>:9630).
      expect(s.hostname).toBe(name);
      expect(s.volumes).toEqual(['./compose/pbxpulse.yaml:/etc/pbxpulse/config.yaml:ro']);
      expect(s.environment?.PBXPULSE_REDIS_URL).toBe(
        'redis://:${PBXPULSE_REDIS_PASSWORD:?set PBXPULSE_REDIS_PASSWORD}@redis:6379/0',
      );
      expect(s.depends_on).toHaveProperty('redis');
    }
    expect(compose.services.redis.command).toContain('--requirepass');
    expect(new Set(daemons.map(([, s]) => s.ports?.[0])).size).toBe(3);
  });

  it('compose: the pbxpulse configuration loads in cluster mode', () => {
    const text = fs.readFileSync(path.join(DEPLOY, 'compose', 'pbxpulse.yaml'), 'utf8');
    const env = {
      PBXPULSE_REDIS_URL: 'redis://:pw@redis:6379/0',
      PBXPULSE_ADMIN_TOKEN: 'admin',
      PBX1_AMI_SECRET: 's1',
      PBX1_ARI_PASSWORD: 'p1',
      PBX2_AMI_SECRET: 's2',
      PBX2_ARI_PASSWORD: 'p2',
    };
    const config = parseConfig(text, { source: 'deploy/compose/pbxpulse.yaml', env });
    expect(config.cluster).toEqual({ redis: env.PBXPULSE_REDIS_URL });
    expect(config.nodes.map((n) => n.name)).toEqual(['pbx1', 'pbx2']);
  });

  it(
    'compose: Prometheus scrapes every daemon and loads the alert rules (promtool check config)',
    () => {
      ensurePrometheus();
      const prometheus = compose.services.prometheus;
      expect(prometheus.volumes).toEqual(
        expect.arrayContaining([
          './compose/prometheus.yml:/etc/prometheus/prometheus.yml:ro',
          './prometheus/pbxpulse-alerts.yml:/etc/prometheus/pbxpulse-alerts.yml:ro',
        ]),
      );
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pbxpulse-prom-'));
      fs.copyFileSync(
        path.join(DEPLOY, 'prometheus', 'pbxpulse-alerts.yml'),
        path.join(dir, 'pbxpulse-alerts.yml'),
      );
      const text = fs
        .readFileSync(path.join(DEPLOY, 'compose', 'prometheus.yml'), 'utf8')
        .replace('/etc/prometheus/pbxpulse-alerts.yml', path.join(dir, 'pbxpulse-alerts.yml'));
      fs.writeFileSync(path.join(dir, 'prometheus.yml'), text);
      const r = run(PROMTOOL, ['check', 'config', path.join(dir, 'prometheus.yml')]);
      expect(r.output).toContain('SUCCESS');
      expect(r.status).toBe(0);
      const scrape = parse(text) as {
        scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
      };
      expect(scrape.scrape_configs[0].job_name).toBe('pbxpulse');
      expect(scrape.scrape_configs[0].static_configs[0].targets).toEqual(
        daemons.map(([name]) => `${name}:9630`),
      );
    },
    6 * 60_000,
  );
});
