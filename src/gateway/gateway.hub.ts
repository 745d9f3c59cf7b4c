import { Injectable } from '@nestjs/common';
import { Inject } from '@nestjs/common';
import { PBXPULSE_CONFIG } from '../config/config.module';
import type { PbxpulseConfig } from '../config/config.types';
import type { Delta, DeltaType, Snapshot } from './gateway.protocol';

/** A part of the snapshot (`nodes`, `calls`, `endpoints`, `alerts`), read from a state store. */
export type SnapshotPart = 'nodes' | 'calls' | 'endpoints' | 'alerts';

/**
 * The ordered stream every WebSocket client reads: one global sequence, a bounded replay buffer for
 * `?since=` resumes, and the snapshot assembled from whoever contributes parts. State stores and
 * detectors publish here through small bridges; the gateway only transports.
 */
@Injectable()
export class GatewayHub {
  private seq = 0;
  private readonly buffer: Delta[] = [];
  private readonly capacity: number;
  private readonly listeners = new Set<(d: Delta) => void>();
  private readonly parts = new Map<SnapshotPart, () => unknown[]>();

  constructor(@Inject(PBXPULSE_CONFIG) config: PbxpulseConfig) {
    this.capacity = config.gateway.replayBuffer;
  }

  /** The sequence number of the newest delta (0 before any). */
  get currentSeq(): number {
    return this.seq;
  }

  contribute(part: SnapshotPart, read: () => unknown[]): void {
    this.parts.set(part, read);
  }

  snapshot(): Snapshot {
    const read = (part: SnapshotPart) => this.parts.get(part)?.() ?? [];
    return {
      type: 'snapshot',
      seq: this.seq,
      nodes: read('nodes'),
      calls: read('calls'),
      endpoints: read('endpoints'),
      alerts: read('alerts'),
    };
  }

  publish(type: DeltaType, node: string, data: unknown, ts = Date.now()): Delta {
    const delta: Delta = { type, seq: ++this.seq, node, ts: new Date(ts).toISOString(), data };
    this.buffer.push(delta);
    if (this.buffer.length > this.capacity) this.buffer.shift();
    for (const l of this.listeners) l(delta);
    return delta;
  }

  /**
   * Deltas after `seq`, or `undefined` when the buffer no longer reaches back that far (or `seq` is
   * in the future): the client then gets a fresh snapshot instead.
   */
  since(seq: number): Delta[] | undefined {
    if (!Number.isInteger(seq) || seq < 0 || seq > this.seq) return undefined;
    if (seq === this.seq) return [];
    const oldest = this.buffer[0]?.seq ?? this.seq + 1;
    if (seq < oldest - 1) return undefined;
    return this.buffer.slice(seq - oldest + 1);
  }

  listen(fn: (d: Delta) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}
