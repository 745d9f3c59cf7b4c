import { Injectable } from '@nestjs/common';
import { Inject } from '@nestjs/common';
import { PBXPULSE_CONFIG } from '../config/config.module';
import type { PbxpulseConfig } from '../config/config.types';
import type { Delta, DeltaDataMap, DeltaOf, DeltaType, Snapshot } from './gateway.protocol';

/** A part of the snapshot (`nodes`, `calls`, `endpoints`, `alerts`), read from a state store. */
export type SnapshotPart = Exclude<keyof Snapshot, 'type' | 'seq'>;

type PartReaders = { [P in SnapshotPart]?: () => Snapshot[P] };

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
  private readonly parts: PartReaders = {};

  constructor(@Inject(PBXPULSE_CONFIG) config: PbxpulseConfig) {
    this.capacity = config.gateway.replayBuffer;
  }

  /** The sequence number of the newest delta (0 before any). */
  get currentSeq(): number {
    return this.seq;
  }

  contribute<P extends SnapshotPart>(part: P, read: () => Snapshot[P]): void {
    (this.parts as Record<P, () => Snapshot[P]>)[part] = read;
  }

  snapshot(): Snapshot {
    const p = this.parts;
    return {
      type: 'snapshot',
      seq: this.seq,
      nodes: p.nodes?.() ?? [],
      calls: p.calls?.() ?? [],
      endpoints: p.endpoints?.() ?? [],
      alerts: p.alerts?.() ?? [],
    };
  }

  /** Sequence, buffer and fan out one delta; `data` must be the type `DeltaDataMap` names for `type`. */
  publish<T extends DeltaType>(type: T, node: string, data: DeltaDataMap[T], ts = Date.now()): DeltaOf<T> {
    const typed: DeltaOf<T> = { type, seq: ++this.seq, node, ts: new Date(ts).toISOString(), data };
    // TypeScript cannot see that a `DeltaOf<T>` for a generic T is a member of the `Delta` union.
    const delta = typed as unknown as Delta;
    this.buffer.push(delta);
    if (this.buffer.length > this.capacity) this.buffer.shift();
    for (const l of this.listeners) l(delta);
    return typed;
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
