/** A `node` label (first or later in the label set) and its value; node names are `[a-z0-9_-]+`. */
const NODE_LABEL = /[{,]node="([a-z0-9_-]+)"/;

/**
 * Cluster mode: the exposition without the samples of `others` (configured nodes another daemon
 * watches), so a Prometheus that scrapes every daemon sees each node's series once. HELP and TYPE lines
 * stay (a family with no sample is valid); samples without a `node` label, or with one that is not in
 * `others` (`<unknown>`, `<other>`), stay.
 */
export function withoutNodeSeries(exposition: string, others: ReadonlySet<string>): string {
  if (others.size === 0) return exposition;
  const lines = exposition.split('\n');
  const kept: string[] = [];
  for (const line of lines) {
    if (line.startsWith('#') || !line.includes('node="')) {
      kept.push(line);
      continue;
    }
    const m = NODE_LABEL.exec(line);
    if (m === null || !others.has(m[1])) kept.push(line);
  }
  return kept.join('\n');
}
