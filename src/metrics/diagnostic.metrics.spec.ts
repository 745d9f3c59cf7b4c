import { Registry } from 'prom-client';
import type { DiagnosticsResult, DiagnosticsService } from '../health/diagnostics/diagnostics.service';
import { DiagnosticMetrics } from './diagnostic.metrics';

describe('DiagnosticMetrics', () => {
  it('exports the duration of each node’s last diagnosis in seconds, and nothing before the first', async () => {
    const cached: Array<{ node: string; result: DiagnosticsResult }> = [];
    const registry = new Registry();
    new DiagnosticMetrics(registry, { cached: () => cached } as unknown as DiagnosticsService);

    const before = await registry.getSingleMetricAsString('pbxpulse_diagnostics_duration_seconds');
    expect(before).not.toMatch(/^pbxpulse_diagnostics_duration_seconds\{/m);

    cached.push({
      node: 'scale',
      result: { findings: [], computedAt: '2026-01-01T00:00:00.000Z', durationMs: 4250, endpoints: 10000 },
    });
    const text = await registry.getSingleMetricAsString('pbxpulse_diagnostics_duration_seconds');
    expect(text).toContain('# TYPE pbxpulse_diagnostics_duration_seconds gauge');
    expect(text).toMatch(/^pbxpulse_diagnostics_duration_seconds\{node="scale"\} 4\.25$/m);
  });
});
