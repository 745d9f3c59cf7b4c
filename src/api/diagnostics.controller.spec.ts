import { NodeNotFoundError } from '../common/errors';
import type { DiagnosticsService } from '../health/diagnostics/diagnostics.service';
import type { NodeStateStore } from '../state/node-state.store';
import { DiagnosticsController } from './diagnostics.controller';

describe('DiagnosticsController', () => {
  const nodes = { has: (n: string) => n === 'pbx1' } as unknown as NodeStateStore;
  const result = { findings: [], computedAt: '2026-01-01T00:00:00.000Z', durationMs: 12, endpoints: 3 };
  const diagnostics = { get: jest.fn(() => Promise.resolve(result)) };
  const controller = new DiagnosticsController(nodes, diagnostics as unknown as DiagnosticsService);

  it('returns the cached diagnosis of the node', async () => {
    await expect(controller.diagnosticsOf('pbx1')).resolves.toBe(result);
    expect(diagnostics.get).toHaveBeenCalledWith('pbx1');
  });

  it('answers an unknown node with NodeNotFoundError (404)', () => {
    expect(() => controller.diagnosticsOf('nope')).toThrow(NodeNotFoundError);
  });
});
