import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** V8's `gc()` as `--expose-gc` gives it; `execution: 'async'` marks concurrently and resolves when done. */
export type GcFunction = (options: { type: 'major'; execution: 'async' }) => Promise<void>;

export interface MemoryProbe {
  heapUsed(): number;
  heapTotal(): number;
  /** Event-loop utilisation since the previous call (0 idle … 1 busy). */
  loopUtilisation(): number;
}

export interface ReclaimOptions {
  /** Collect only when the loop was at most this busy since the last check. */
  maxUtilisation: number;
  /** … and the heap is at least this much above the live size the last collection left. */
  minGarbageBytes: number;
}

export const DEFAULT_RECLAIM: ReclaimOptions = { maxUtilisation: 0.5, minGarbageBytes: 64 * 1024 * 1024 };

/**
 * V8 sizes its heap for the bursts it has seen and collects only when JavaScript allocates. A resync
 * of 10k endpoints, or of 50 nodes, leaves hundreds of MB of garbage that an idle daemon never frees:
 * the benchmark saw 1.1 GB of RSS idle after a 50-node resync and 200 MB after one full collection.
 * `check()` asks V8 for a full collection when the loop has been mostly idle and the heap stands well
 * above what the previous collection left; the marking runs on V8's own threads, so the event loop
 * only sees the short final pause.
 */
export class MemoryReclaimer {
  /** Heap used right after the last collection this class asked for (0 before the first). */
  private live = 0;
  private running = false;
  collections = 0;

  constructor(
    private readonly gc: GcFunction | undefined,
    private readonly probe: MemoryProbe = processProbe(),
    private readonly options: ReclaimOptions = DEFAULT_RECLAIM,
  ) {}

  get available(): boolean {
    return this.gc !== undefined;
  }

  /** Resolves true when it collected. */
  async check(): Promise<boolean> {
    const busy = this.probe.loopUtilisation();
    if (!this.gc || this.running || busy > this.options.maxUtilisation) return false;
    if (this.probe.heapTotal() - this.live < this.options.minGarbageBytes) return false;
    this.running = true;
    try {
      await this.gc({ type: 'major', execution: 'async' });
      this.collections += 1;
      this.live = this.probe.heapUsed();
      return true;
    } finally {
      this.running = false;
    }
  }
}

/** The process's own heap and event loop. */
export function processProbe(): MemoryProbe {
  let last: EventLoopUtilization = performance.eventLoopUtilization();
  return {
    heapUsed: () => process.memoryUsage().heapUsed,
    heapTotal: () => process.memoryUsage().heapTotal,
    loopUtilisation: () => {
      const now = performance.eventLoopUtilization();
      const delta = performance.eventLoopUtilization(now, last);
      last = now;
      return delta.utilization;
    },
  };
}

/**
 * V8's collector as a function, exposing it when node was started without `--expose-gc` (the flag is
 * read when a context is created, so a fresh context carries `gc`); `undefined` where that fails.
 */
export function exposedGc(): GcFunction | undefined {
  const existing = (globalThis as { gc?: unknown }).gc;
  if (typeof existing === 'function') return existing as GcFunction;
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as GcFunction) : undefined;
  } catch {
    return undefined;
  }
}
