import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import type { AmiPjsip } from '../../ami/ami.pjsip';
import { AmiService } from '../../ami/ami.service';
import { AmiActionError } from '../../ami/ami.errors';
import { doubledDelay } from '../../common/backoff';
import type { RegistrationCliRow } from '../../common/pbx.records';
import { PBXPULSE_CONFIG } from '../../config/config.module';
import type { PbxpulseConfig } from '../../config/config.types';
import { EventBus } from '../../events/event-bus';
import type { OutboundRegistrationReported, PbxEventOf } from '../../events/pbx-events';
import { ResyncCoordinator } from '../resync.coordinator';
import {
  type OutboundChange,
  type OutboundRegistrations,
  applyRead,
  applyReport,
  registrationsOfReport,
  urisKey,
} from './outbound-registration.state';
import type { OutboundRegistrationReader, OutboundRegistrationView } from './outbound-registration.views';

/** What the store reads of a node's AMI surface. */
export type OutboundRegistrationAmiLink = Pick<
  AmiPjsip,
  'isUp' | 'outboundRegistrations' | 'registrationSchedule'
>;

/** `AmiService` in the app. */
export interface OutboundRegistrationAmiLinks {
  pjsip(node: string): OutboundRegistrationAmiLink;
}

/** A reload (every registration re-registers) is read back after this: it coalesces the burst. */
const READ_DELAY_MS = 250;
/**
 * A `Registry` event is read back after this: the CLI shows the next attempt in whole seconds, so a
 * retry scheduled after a rejection is only told from none after more than a second.
 */
const REPORT_READ_DELAY_MS = 1500;
/** A failed read is tried again after this, doubled per further failure up to the poll interval. */
const READ_RETRY_MS = 5000;
/** Rejections of unknown URIs kept per node (Asterisk's own registrations: a handful in practice). */
const MAX_UNKNOWN_URIS = 1000;

const EVENT_TYPES = ['outbound_registration.reported', 'module.reloaded', 'node.connection_changed'] as const;
type StoreEvent = PbxEventOf<(typeof EVENT_TYPES)[number]>;

interface NodeSlot {
  readonly name: string;
  state: OutboundRegistrations;
  /** `Rejected` reports since the last read, per registration (the read classifies and counts them). */
  readonly pending: Map<string, number>;
  /**
   * When a `Rejected` report named URIs of no known registration (one a restart or reload added before
   * the read): by `urisKey`, for the read that finds it. Pruned after a minute.
   */
  readonly rejectedByUris: Map<string, number>;
  /** A read is running; `again`: something changed meanwhile, read once more after it. */
  reading: boolean;
  again: boolean;
  failures: number;
  /** The AMI user may not run `Command`: the list alone is read (no next-attempt time). */
  noCli: boolean;
  timer?: NodeJS.Timeout;
  /** When the armed timer fires (epoch ms). */
  due?: number;
}

/**
 * Live state of the PJSIP outbound registrations (trunks) of every node. The only writer of that state:
 * rebuilt from `PJSIPShowRegistrationsOutbound` and `pjsip show registrations` on every AMI (re)connect
 * and by the reconciliation poll, re-read after a res_pjsip reload and after a `Registry` event that
 * changes a state, kept current between reads by the `Registry` events.
 */
@Injectable()
export class OutboundRegistrationStore implements OutboundRegistrationReader, OnModuleDestroy {
  private readonly logger = new Logger(OutboundRegistrationStore.name);
  private readonly slots = new Map<string, NodeSlot>();
  private readonly unsubscribe: () => void;
  private readonly pollMs: number;
  private destroyed = false;

  constructor(
    @Inject(PBXPULSE_CONFIG) config: PbxpulseConfig,
    private readonly bus: EventBus,
    resync: ResyncCoordinator,
    @Inject(AmiService) private readonly ami: OutboundRegistrationAmiLinks,
  ) {
    this.pollMs = config.state.reconcileIntervalMs;
    for (const node of config.nodes) {
      this.slots.set(node.name, {
        name: node.name,
        state: new Map(),
        pending: new Map(),
        rejectedByUris: new Map(),
        reading: false,
        again: false,
        failures: 0,
        noCli: false,
      });
    }
    resync.register('ami', 'outbound-registrations', async (node) => ({
      outboundRegistrations: await this.read(node),
    }));
    this.unsubscribe = bus.on(EVENT_TYPES, (e) => this.onEvent(e), { phase: 'state' });
  }

  onModuleDestroy(): void {
    this.destroyed = true;
    this.unsubscribe();
    for (const slot of this.slots.values()) clearTimeout(slot.timer);
  }

  registrations(node: string): OutboundRegistrationView[] {
    const state = this.slots.get(node)?.state;
    return state ? [...state.values()].map(copy).sort((a, b) => (a.name < b.name ? -1 : 1)) : [];
  }

  registration(node: string, name: string): OutboundRegistrationView | undefined {
    const v = this.slots.get(node)?.state.get(name);
    return v && copy(v);
  }

  /**
   * Read the node's registrations now and apply the answer; resolves the number of registrations.
   * Reads of one node run one at a time: a read asked for while one runs runs once after it.
   */
  async read(node: string): Promise<number> {
    const slot = this.slots.get(node);
    if (!slot) return 0;
    if (slot.reading) {
      slot.again = true;
      return slot.state.size;
    }
    slot.reading = true;
    clearTimeout(slot.timer);
    slot.timer = undefined;
    try {
      const conn = this.ami.pjsip(node);
      const records = await conn.outboundRegistrations();
      // Nothing configured (the common case) needs no CLI read.
      const rows = records.length > 0 ? await this.cliRows(slot, conn) : [];
      if (this.destroyed) return slot.state.size;
      const now = Date.now();
      const pending = new Map<string, number>();
      const unsettled = new Set<string>();
      for (const [name, v] of slot.state) {
        if (!isUnsettled(v, now)) continue;
        unsettled.add(name);
      }
      for (const [name, n] of slot.pending) {
        if (unsettled.has(name)) continue;
        pending.set(name, n);
        slot.pending.delete(name);
      }
      for (const [key, at] of slot.rejectedByUris) if (now - at > 60_000) slot.rejectedByUris.delete(key);
      const { state, changes } = applyRead(
        slot.state,
        records,
        rows,
        pending,
        now,
        unsettled,
        slot.rejectedByUris,
      );
      slot.state = state;
      slot.failures = 0;
      this.publish(slot, changes);
      return state.size;
    } catch (err) {
      slot.failures += 1;
      throw err;
    } finally {
      slot.reading = false;
      const settle = settleDelay(slot.state, Date.now());
      if (slot.again || settle !== null) {
        slot.again = false;
        this.arm(slot, settle ?? REPORT_READ_DELAY_MS);
      } else {
        this.arm(
          slot,
          slot.failures === 0 ? this.pollMs : doubledDelay(READ_RETRY_MS, this.pollMs, slot.failures - 1),
        );
      }
    }
  }

  private async cliRows(slot: NodeSlot, conn: OutboundRegistrationAmiLink): Promise<RegistrationCliRow[]> {
    if (slot.noCli) return [];
    try {
      return await conn.registrationSchedule();
    } catch (err) {
      if (!(err instanceof AmiActionError)) throw err;
      slot.noCli = true;
      this.logger.warn(
        `${slot.name}: 'pjsip show registrations' refused (${err.asteriskMessage}): the AMI user lacks ` +
          `write=command, so rejections Asterisk retries cannot be told from those it gave up on`,
      );
      return [];
    }
  }

  // ------------------------------------------------------------------------------------ events

  private onEvent(e: StoreEvent): void {
    const slot = this.slots.get(e.node);
    if (!slot) return;
    switch (e.type) {
      case 'outbound_registration.reported':
        this.onReport(slot, e);
        return;
      case 'module.reloaded':
        // `core reload` reports `All`; `pjsip reload` reports res_pjsip.so and its modules.
        if (/^(res_pjsip(_outbound_registration)?(\.so)?|all)$/i.test(e.module)) this.readSoon(slot);
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

  private onReport(slot: NodeSlot, e: OutboundRegistrationReported): void {
    const matches = registrationsOfReport(slot.state, e);
    if (e.status === 'Rejected') {
      for (const m of matches) slot.pending.set(m.name, (slot.pending.get(m.name) ?? 0) + 1);
    }
    if (matches.length === 0 && e.status === 'Rejected') {
      if (slot.rejectedByUris.size < MAX_UNKNOWN_URIS) slot.rejectedByUris.set(urisKey(e), e.ts);
    }
    if (matches.length !== 1) {
      // Unknown URIs (a registration added by a reload not yet read) or several sections with the same
      // URIs: only a read can tell which registration this was.
      this.readSoon(slot, REPORT_READ_DELAY_MS);
      return;
    }
    const { view, change } = applyReport(matches[0], e);
    const next = new Map(slot.state);
    next.set(view.name, view);
    slot.state = next;
    if (change) this.publish(slot, [change]);
    // A successful refresh (every `expiration` - 10 s) changes nothing worth a read.
    if (change || e.status !== 'Registered') this.readSoon(slot, REPORT_READ_DELAY_MS);
  }

  private readSoon(slot: NodeSlot, delayMs = READ_DELAY_MS): void {
    if (this.destroyed || !this.ami.pjsip(slot.name).isUp) return;
    if (slot.reading) {
      slot.again = true;
      return;
    }
    this.arm(slot, delayMs, true);
  }

  /** (Re)arms the node's read timer; `sooner` only moves an armed timer earlier. */
  private arm(slot: NodeSlot, delayMs: number, sooner = false): void {
    if (this.destroyed || !this.ami.pjsip(slot.name).isUp) return;
    if (sooner && slot.timer && slot.due !== undefined && slot.due <= Date.now() + delayMs) return;
    clearTimeout(slot.timer);
    slot.due = Date.now() + delayMs;
    slot.timer = setTimeout(() => {
      slot.timer = undefined;
      this.read(slot.name).catch((err: Error) =>
        this.logger.warn(`${slot.name}: reading outbound registrations failed: ${err.message}`),
      );
    }, delayMs);
    slot.timer.unref();
  }

  private publish(slot: NodeSlot, changes: readonly OutboundChange[]): void {
    const ts = Date.now();
    for (const c of changes) {
      if (c.previous !== (c.view?.state ?? null)) {
        this.logger.log(
          `${slot.name}: outbound registration ${c.name} ${c.previous ?? 'new'} -> ${c.view?.state ?? 'removed'}`,
        );
      }
      this.bus.publish({
        type: 'outbound_registration.changed',
        node: slot.name,
        ts,
        source: 'daemon',
        name: c.name,
        registration: c.view && copy(c.view),
        previous: c.previous,
        rejections: c.rejections,
      });
    }
  }
}

/**
 * A rejection read back too early to tell a retry from none (see REPORT_READ_DELAY_MS) needs one more
 * read: the delay until the latest such one can tell, or `null`.
 */
function settleDelay(state: OutboundRegistrations, now: number): number | null {
  let delay: number | null = null;
  for (const v of state.values()) {
    if (!isUnsettled(v, now) || v.lastRejectedAt === null) continue;
    const wait = Date.parse(v.lastRejectedAt) + REPORT_READ_DELAY_MS - now;
    delay = Math.max(delay ?? 0, wait + 50);
  }
  return delay;
}

function isUnsettled(v: OutboundRegistrationView, now: number): boolean {
  return (
    v.asteriskStatus === 'Rejected' &&
    v.lastRejectedAt !== null &&
    Date.parse(v.lastRejectedAt) + REPORT_READ_DELAY_MS > now
  );
}

function copy(v: OutboundRegistrationView): OutboundRegistrationView {
  return { ...v, outboundAuths: [...v.outboundAuths] };
}
