import { Injectable } from '@nestjs/common';
import { Inject } from '@nestjs/common';
import { PBXPULSE_CONFIG } from '../config/config.module';
import type { PbxpulseConfig } from '../config/config.types';
import type { Delta, DeltaDataMap, DeltaOf, DeltaType, Snapshot } from './gateway.protocol';

/** A part of the snapshot (`nodes`, `calls`, `endpoints`, `alerts`), read from a state store. */
export type SnapshotPart = Exclude<keyof Snapshot, 'type' | 'seq'>;

type PartReaders = { [P in SnapshotPart]?: () => Snapshot[P] };

/** A delta before the fleet gave it its sequence number. */
export type UnsequencedDelta = Omit<Delta, 'seq'>;

/**
 * Cluster mode: the fleet-wide ordering of deltas (a Redis Stream). `send` takes a delta published on
 * this daemon; every delta of the fleet, this daemon's included, comes back through `GatewayHub.ingest`
 * with its fleet sequence number. `snapshot` completes this daemon's snapshot with the nodes it does not
 * watch.
 */
export interface FleetRelay {
  send(delta: UnsequencedDelta): void;
  snapshot(local: Snapshot): Snapshot;
}

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
  private relay: FleetRelay | undefined;

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
    const local = this.localSnapshot();
    return this.relay ? this.relay.snapshot(local) : local;
  }

  /** The snapshot of this daemon's own stores (cluster mode: without the nodes watched elsewhere). */
  localSnapshot(): Snapshot {
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

  /**
   * Sequence, buffer and fan out one delta; `data` must be the type `DeltaDataMap` names for `type`.
   * Cluster mode: handed to the relay instead, and fanned out when it comes back sequenced (`seq` of
   * the returned delta is then 0).
   */
  publish<T extends DeltaType>(type: T, node: string, data: DeltaDataMap[T], ts = Date.now()): DeltaOf<T> {
    const iso = new Date(ts).toISOString();
    if (this.relay) {
      const unsequenced = { type, node, ts: iso, data } as unknown as UnsequencedDelta;
      this.relay.send(unsequenced);
      return { type, seq: 0, node, ts: iso, data };
    }
    const typed: DeltaOf<T> = { type, seq: ++this.seq, node, ts: iso, data };
    // TypeScript cannot see that a `DeltaOf<T>` for a generic T is a member of the `Delta` union.
    this.append(typed as unknown as Delta);
    return typed;
  }

  /** Cluster mode: from now on deltas are ordered by the fleet (see `FleetRelay`). */
  useRelay(relay: FleetRelay, history: readonly Delta[]): void {
    this.relay = relay;
    for (const d of history) if (d.seq > this.seq) this.append(d, false);
  }

  /**
   * Cluster mode: a delta of the fleet, in fleet order. One not newer than the last is dropped: clients
   * rely on `seq` strictly increasing.
   */
  ingest(delta: Delta): void {
    if (delta.seq <= this.seq) return;
    this.append(delta);
  }

  private append(delta: Delta, fanOut = true): void {
    this.seq = delta.seq;
    this.buffer.push(delta);
    if (this.buffer.length > this.capacity) this.buffer.shift();
    if (fanOut) for (const l of this.listeners) l(delta);
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
    // Consecutive for a single daemon; a cluster daemon may have gaps (a delta it dropped), so search.
    let lo = 0;
    let hi = this.buffer.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.buffer[mid].seq <= seq) lo = mid + 1;
      else hi = mid;
    }
    return this.buffer.slice(lo);
  }

  listen(fn: (d: Delta) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}
