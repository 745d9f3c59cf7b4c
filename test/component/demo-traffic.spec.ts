import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { RECURRING_REGISTERS } from '../../scripts/demo-traffic';
import { CONFIG_DEFAULTS } from '../../src/config/config.loader';

/** The `[5m]` of a Prometheus alert's expression, in ms. */
function alertWindowMs(alert: string): number {
  const file = join(__dirname, '..', '..', 'deploy', 'prometheus', 'pbxpulse-alerts.yml');
  const doc = parse(readFileSync(file, 'utf8')) as {
    groups: { rules: { alert?: string; expr: string }[] }[];
  };
  const rule = doc.groups.flatMap((g) => g.rules).find((r) => r.alert === alert);
  const m = /\[(\d+)m\]/.exec(rule?.expr ?? '');
  if (!m) throw new Error(`no [Nm] window in ${alert}`);
  return Number(m[1]) * 60_000;
}

/** `npm run demo` (demo-traffic.js --continuous): what keeps its two alerts active while it runs. */
describe('the continuous demo traffic', () => {
  const every = (user: string) => RECURRING_REGISTERS.find((r) => r.user === user)?.everyMs;

  it('repeats the 1002 REGISTER inside the AOR-not-found window (pbxpulse and PbxpulseAorNotFound)', () => {
    const ms = every('1002');
    expect(ms).toBeDefined();
    expect(ms).toBeLessThan(CONFIG_DEFAULTS.detection.aorNotFoundWindowMs / 2);
    expect(ms).toBeLessThan(alertWindowMs('PbxpulseAorNotFound') / 2);
  });

  it('repeats the wrong 2001 password often enough for the 401 loop never to go quiet', () => {
    const { authLoopThreshold, authLoopWindowMs, authLoopQuietMs } = CONFIG_DEFAULTS.detection;
    const ms = every('2001');
    expect(ms).toBeDefined();
    expect(ms! * authLoopThreshold).toBeLessThanOrEqual(authLoopWindowMs);
    expect(ms).toBeLessThan(authLoopQuietMs);
  });
});
