import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { RuntimeMetrics } from '../../../src/observability/runtime-metrics.js';

/** The Grafana dashboard charts metrics the runtime exports, under their exact names. */
describe('deploy/grafana/copilot-runtime.json', () => {
  const dashboard = JSON.parse(readFileSync(fileURLToPath(new URL('../../../deploy/grafana/copilot-runtime.json', import.meta.url)), 'utf8'));

  it('uses only metrics the runtime registers', async () => {
    const metrics = new RuntimeMetrics({ activeRuns: () => 0, database: null });
    const exported = new Set((await metrics.registry.getMetricsAsJSON()).map((metric) => metric.name));
    const exprs: string[] = dashboard.panels.flatMap((panel: { targets: Array<{ expr: string }> }) => panel.targets.map((target) => target.expr));
    const used = new Set(exprs.flatMap((expr) => [...expr.matchAll(/\b((?:copilot|nodejs|process)_[a-z_0-9]+)/g)].map((match) => match[1]!)));
    expect(used.size).toBeGreaterThan(10);
    for (const name of used) {
      const base = name.replace(/_(bucket|count|sum)$/, '');
      expect({ name, exported: exported.has(base) || exported.has(name) }).toEqual({ name, exported: true });
    }
  });
});
