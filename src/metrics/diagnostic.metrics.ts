import { Inject, Injectable } from '@nestjs/common';
import { Gauge, type Registry } from 'prom-client';
import { DiagnosticsService } from '../health/diagnostics/diagnostics.service';
import { FINDING_CODES, FINDING_SEVERITY } from '../health/diagnostics/diagnose';
import { METRICS_REGISTRY } from './metrics.registry';

/**
 * Diagnosis metrics (public contract), read at scrape time from the last cached diagnosis of each node.
 * Labels: node names from the config and the fixed code list (each code has one severity).
 */
@Injectable()
export class DiagnosticMetrics {
  constructor(@Inject(METRICS_REGISTRY) registry: Registry, diagnostics: DiagnosticsService) {
    /** Current findings of the node's last diagnosis, by code; every code is present (0) once diagnosed. */
    new Gauge({
      name: 'pbxpulse_diagnostic_findings',
      help: 'Findings of the last configuration diagnosis of the node, by code and severity.',
      labelNames: ['node', 'code', 'severity'],
      registers: [registry],
      collect(this: Gauge<'node' | 'code' | 'severity'>) {
        this.reset();
        for (const { node, result } of diagnostics.cached()) {
          for (const code of FINDING_CODES) {
            const n = result.findings.filter((f) => f.code === code).length;
            this.set({ node, code, severity: FINDING_SEVERITY[code] }, n);
          }
        }
      },
    });
    /** Duration of the node's last diagnosis; absent until the first one. */
    new Gauge({
      name: 'pbxpulse_diagnostics_duration_seconds',
      help: 'How long the last configuration diagnosis of the node took (AMI reads and findings).',
      labelNames: ['node'],
      registers: [registry],
      collect(this: Gauge<'node'>) {
        this.reset();
        for (const { node, result } of diagnostics.cached()) this.set({ node }, result.durationMs / 1000);
      },
    });
  }
}
