import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import type { AmiPjsip } from '../../ami/ami.pjsip';
import { AmiService } from '../../ami/ami.service';
import { doubledDelay } from '../../common/backoff';
import { PBXPULSE_CONFIG } from '../../config/config.module';
import type { PbxpulseConfig } from '../../config/config.types';
import { EventBus } from '../../events/event-bus';
import type { ContactStatus, PbxEventOf } from '../../events/pbx-events';
import { RegistrationStore } from '../registrations/registration.store';
import type { AorState, NodeRegistrations } from '../registrations/registration.state';
import type { TrunkContactView, TrunkReachability, TrunkReader, TrunkView } from './trunk.views';

/** What the store reads of a node's AMI surface. */
export type TrunkAmiLink = Pick<AmiPjsip, 'isUp' | 'endpointDetail'>;

/** `AmiService` in the app. */
export interface TrunkAmiLinks {
  pjsip(node: string): TrunkAmiLink;
}

/** What the store reads of the registration state: the AORs with their permanent contacts. */
export interface TrunkConfigSource {
  state(node: string): NodeRegistrations;
}

/** A failed read is tried again after this, doubled per further failure up to the poll interval. */
const READ_RETRY_MS = 5000;

const EVENT_TYPES = ['contact.status_changed', 'state.resynced', 'node.connection_changed'] as const;
type StoreEvent = PbxEventOf<(typeof EVENT_TYPES)[number]>;

type QualifyStatus = Exclude<ContactStatus, 'removed'>;

interface ContactSlot {
  status: QualifyStatus;
  rttUsec: number | null;
}

interface NodeSlot {
  readonly name: string;
  /** Last qualify result per permanent contact, by `aor\0uri`. */
  contacts: Map<string, ContactSlot>;
  /** Reachability per trunk endpoint and since when (epoch ms). */
  trunks: Map<string, { reachability: TrunkReachability; since: number }>;
  /** The trunks as the last read found them (an O(AORs) walk: per read, not per sweep or event). */
  defs: TrunkDef[];
  reading: boolean;
  again: boolean;
  failures: number;
  timer?: NodeJS.Timeout;
}

/** A trunk's definition, derived from the registration state. */
interface TrunkDef {
  endpoint: string;
  aors: AorState[];
}

/**
 * Reachability of the trunks that do not register: endpoints whose AOR has permanent `contact=` URIs and
 * `qualify_frequency` > 0. Which endpoints those are comes from the registration store (AorList
 * `Contacts` minus the registered ones). Their status and round trip are read with one
 * `PJSIPShowEndpoint` per trunk (the registration lists never name permanent contacts) after every AMI
 * resync and at each reconciliation interval, and kept current between reads by `ContactStatus` events
 * (Asterisk sends one only when the status changes, so the round trip comes from the reads).
 */
@Injectable()
export class TrunkStore implements TrunkReader, OnModuleDestroy {
  private readonly logger = new Logger(TrunkStore.name);
  private readonly slots = new Map<string, NodeSlot>();
  private readonly unsubscribe: () => void;
  private readonly pollMs: number;
  private destroyed = false;

  constructor(
    @Inject(PBXPULSE_CONFIG) config: PbxpulseConfig,
    bus: EventBus,
    @Inject(RegistrationStore) private readonly registrations: TrunkConfigSource,
    @Inject(AmiService) private readonly ami: TrunkAmiLinks,
  ) {
    this.pollMs = config.state.reconcileIntervalMs;
    for (const node of config.nodes) {
      this.slots.set(node.name, {
        name: node.name,
        contacts: new Map(),
        trunks: new Map(),
        defs: [],
        reading: false,
        again: false,
        failures: 0,
      });
    }
    this.unsubscribe = bus.on(EVENT_TYPES, (e) => this.onEvent(e), { phase: 'state' });
  }

  onModuleDestroy(): void {
    this.destroyed = true;
    this.unsubscribe();
    for (const slot of this.slots.values()) clearTimeout(slot.timer);
  }

  trunks(node: string): TrunkView[] {
    const slot = this.slots.get(node);
    if (!slot) return [];
    return slot.defs.map((def) => this.view(slot, def));
  }

  /**
   * Read every trunk's contacts now (`PJSIPShowEndpoint` each) and apply them; resolves the number of
   * trunks. Reads of one node run one at a time: one asked for while one runs runs once after it.
   */
  async read(node: string): Promise<number> {
    const slot = this.slots.get(node);
    if (!slot) return 0;
    if (slot.reading) {
      slot.again = true;
      return slot.trunks.size;
    }
    slot.reading = true;
    clearTimeout(slot.timer);
    slot.timer = undefined;
    try {
      const conn = this.ami.pjsip(node);
      const defs = trunkDefs(this.registrations.state(node)).sort((a, b) =>
        a.endpoint < b.endpoint ? -1 : 1,
      );
      const seen = new Map<string, ContactSlot>();
      for (const def of defs) {
        const wanted = new Set(def.aors.flatMap((a) => (a.staticContacts ?? []).map((u) => key(a.name, u))));
        const detail = await conn.endpointDetail(def.endpoint);
        for (const c of detail.contacts) {
          const k = key(c.aor, c.uri);
          if (wanted.has(k)) seen.set(k, { status: c.status, rttUsec: c.rttUsec });
        }
      }
      if (this.destroyed) return defs.length;
      // The read is the truth; a contact it did not show (not qualified yet) is unknown.
      slot.contacts = seen;
      slot.defs = defs;
      const now = Date.now();
      const endpoints = new Set<string>();
      for (const def of defs) {
        endpoints.add(def.endpoint);
        this.settle(slot, def, now);
      }
      for (const ep of [...slot.trunks.keys()]) if (!endpoints.has(ep)) slot.trunks.delete(ep);
      slot.failures = 0;
      return defs.length;
    } catch (err) {
      slot.failures += 1;
      throw err;
    } finally {
      slot.reading = false;
      if (slot.again) {
        slot.again = false;
        this.arm(slot, 0);
      } else {
        this.arm(
          slot,
          slot.failures === 0 ? this.pollMs : doubledDelay(READ_RETRY_MS, this.pollMs, slot.failures - 1),
        );
      }
    }
  }

  private onEvent(e: StoreEvent): void {
    const slot = this.slots.get(e.node);
    if (!slot) return;
    switch (e.type) {
      case 'contact.status_changed': {
        const reg = this.registrations.state(e.node);
        const aor = reg.aors.get(e.aor);
        if (!aor || !isTrunkAor(aor) || !aor.staticContacts?.includes(e.uri)) return;
        const k = key(e.aor, e.uri);
        if (e.status === 'removed') slot.contacts.delete(k);
        else slot.contacts.set(k, { status: e.status, rttUsec: e.rttUsec ?? null });
        for (const ep of reg.endpointsByAor.get(e.aor) ?? []) {
          const def = trunkDefOf(reg, ep);
          if (def) this.settle(slot, def, e.ts);
        }
        return;
      }
      case 'state.resynced':
        // The registration store rebuilt the AORs in this resync: the trunks are known now.
        if (e.link === 'ami') this.readNow(slot);
        return;
      case 'node.connection_changed':
        if (e.link === 'ami' && e.status !== 'up') {
          clearTimeout(slot.timer);
          slot.timer = undefined;
        }
        return;
      default: {
        const never: never = e;
        return never;
      }
    }
  }

  /** Recomputes a trunk's reachability; a change moves its `since` and is logged. */
  private settle(slot: NodeSlot, def: TrunkDef, now: number): void {
    const reachability = reachabilityOf(contactsOf(slot, def));
    const old = slot.trunks.get(def.endpoint);
    if (old?.reachability === reachability) return;
    slot.trunks.set(def.endpoint, { reachability, since: now });
    this.logger.log(`${slot.name}: trunk ${def.endpoint} ${old?.reachability ?? 'new'} -> ${reachability}`);
  }

  private view(slot: NodeSlot, def: TrunkDef): TrunkView {
    const contacts = contactsOf(slot, def);
    const rtts = contacts.map((c) => c.rttMs).filter((r): r is number => r !== null);
    const held = slot.trunks.get(def.endpoint);
    return {
      endpoint: def.endpoint,
      reachability: held?.reachability ?? reachabilityOf(contacts),
      rttMs: rtts.length > 0 ? Math.min(...rtts) : null,
      since: new Date(held?.since ?? Date.now()).toISOString(),
      qualifyFrequency: Math.max(...def.aors.map((a) => a.qualifyFrequency)),
      contacts,
    };
  }

  private readNow(slot: NodeSlot): void {
    this.read(slot.name).catch((err: Error) =>
      this.logger.warn(`${slot.name}: reading trunk reachability failed: ${err.message}`),
    );
  }

  private arm(slot: NodeSlot, delayMs: number): void {
    if (this.destroyed || !this.ami.pjsip(slot.name).isUp) return;
    clearTimeout(slot.timer);
    slot.timer = setTimeout(() => {
      slot.timer = undefined;
      this.readNow(slot);
    }, delayMs);
    slot.timer.unref();
  }
}

function key(aor: string, uri: string): string {
  return `${aor}\u0000${uri}`;
}

function isTrunkAor(aor: AorState): boolean {
  return aor.qualifyFrequency > 0 && (aor.staticContacts?.length ?? 0) > 0;
}

/** Every trunk of the node: an O(AORs) walk, done per read, never per event. */
function trunkDefs(reg: NodeRegistrations): TrunkDef[] {
  const byEndpoint = new Map<string, AorState[]>();
  for (const aor of reg.aors.values()) {
    if (!isTrunkAor(aor)) continue;
    for (const ep of reg.endpointsByAor.get(aor.name) ?? []) {
      const list = byEndpoint.get(ep);
      if (list) list.push(aor);
      else byEndpoint.set(ep, [aor]);
    }
  }
  return [...byEndpoint].map(([endpoint, aors]) => ({ endpoint, aors }));
}

function trunkDefOf(reg: NodeRegistrations, endpoint: string): TrunkDef | undefined {
  const ep = reg.endpoints.get(endpoint);
  if (!ep) return undefined;
  const aors = [...new Set(ep.aors)]
    .map((a) => reg.aors.get(a))
    .filter((a): a is AorState => a !== undefined && isTrunkAor(a));
  return aors.length > 0 ? { endpoint, aors } : undefined;
}

function contactsOf(slot: NodeSlot, def: TrunkDef): TrunkContactView[] {
  const out: TrunkContactView[] = [];
  for (const aor of def.aors) {
    for (const uri of aor.staticContacts ?? []) {
      const c = slot.contacts.get(key(aor.name, uri));
      const status = c?.status ?? 'unknown';
      out.push({
        aor: aor.name,
        uri,
        status,
        rttMs: status === 'reachable' && c?.rttUsec != null ? Math.round(c.rttUsec / 10) / 100 : null,
      });
    }
  }
  return out;
}

/** Reachable when one contact answers, unreachable when none does, else unknown. */
export function reachabilityOf(contacts: readonly TrunkContactView[]): TrunkReachability {
  if (contacts.some((c) => c.status === 'reachable')) return 'reachable';
  if (contacts.length > 0 && contacts.every((c) => c.status === 'unreachable')) return 'unreachable';
  return 'unknown';
}
