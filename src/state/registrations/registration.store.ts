import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import type { AmiPjsip } from '../../ami/ami.pjsip';
import { AmiService } from '../../ami/ami.service';
import { doubledDelay } from '../../common/backoff';
import { NodeNotFoundError } from '../../common/errors';
import type { EndpointDetailRecord, EndpointRecord } from '../../common/pbx.records';
import { PBXPULSE_CONFIG } from '../../config/config.module';
import type { PbxpulseConfig } from '../../config/config.types';
import { EventBus } from '../../events/event-bus';
import type { PbxEvent, PbxEventOf } from '../../events/pbx-events';
import { ResyncCoordinator } from '../resync.coordinator';
import { LinkDuplicates } from './link-duplicates';
import {
  type Reduced,
  type RegistrationEvent,
  type RegistrationInput,
  reduce,
  replaceState,
} from './registration.reducers';
import { aorViewOf, aorViews, contactViews, endpointViewOf, endpointViews } from './registration.selectors';
import { buildRegistrations } from './registration.snapshot';
import { EMPTY_REGISTRATIONS, type NodeRegistrations, contactTotal, findContact } from './registration.state';
import type { AorView, ContactView, EndpointView, RegistrationReader } from './registration.views';

/** What the store reads of a node's AMI surface. */
export type RegistrationAmiLink = Pick<
  AmiPjsip,
  'isUp' | 'endpoints' | 'aors' | 'auths' | 'contacts' | 'endpointDetail'
>;

/** `AmiService` in the app. */
export interface RegistrationAmiLinks {
  pjsip(node: string): RegistrationAmiLink;
}

/** Contacts first seen through an event are enriched this long after the first of a burst. */
const ENRICH_DELAY_MS = 200;
/**
 * Enrichment reads at most this many endpoints (one `PJSIPShowEndpoint` each, ~3 kB of answer) per
 * ENRICH_DELAY_MS, so 20 per second per node. A registration storm (10k phones back after an outage)
 * would otherwise cost Asterisk and the daemon one detail read per REGISTER; the endpoints left waiting
 * get their user agent and expiry from the next reconciliation, which reads every contact anyway.
 */
const ENRICH_BATCH = 4;
/** A burst of Reload events (`core reload`, then a module reload) re-reads the config once. */
const RELOAD_DELAY_MS = 250;
/**
 * A failed resync (a list action timed out on an overloaded Asterisk) is tried again after this, doubled
 * per further failure up to the reconciliation interval: until one succeeds the state may hold every
 * contact the lost events should have removed.
 */
const RESYNC_RETRY_MS = 5000;
/**
 * Asterisk may publish a contact's status (NonQualified) just after that contact's `Removed`, on AMI and
 * ARI alike: after a boot the status of each contact loaded from astdb is published asynchronously,
 * and a REGISTER that replaced the contact meanwhile (remove_existing) has already removed it. Applied
 * as such, that status resurrects the contact until the next reconciliation. A status for a contact
 * removed less than this ago is kept only if Asterisk then lists the contact.
 */
const REMOVED_RECENTLY_MS = 5000;
/** A failed read of a suspect's endpoint is tried again after this. */
const SUSPECT_RETRY_MS = 1000;
/** Bound of the removal memory per node (a registration storm removes thousands a second). */
const REMOVED_MEMORY_MAX = 20_000;
/** `PJSIPShowEndpoint` actions in flight at once during a rebuild. */
const DETAIL_CONCURRENCY = 4;

const EVENT_TYPES = [
  'contact.status_changed',
  'endpoint.reachability_changed',
  'device.state_changed',
  'module.reloaded',
  'node.connection_changed',
  'node.booted',
] as const;

type StoreEvent = PbxEventOf<(typeof EVENT_TYPES)[number]>;

interface NodeSlot {
  readonly name: string;
  state: NodeRegistrations;
  /** A resync has succeeded since start (until then the poll resyncs instead of reconciling). */
  loaded: boolean;
  /** A resync of the current AMI connection has begun (its lists may predate a FullyBooted). */
  resyncSinceConnect: boolean;
  /** Resyncs failed in a row since the last one that succeeded (0: the state was rebuilt). */
  resyncFailures: number;
  readonly duplicates: LinkDuplicates;
  /** Inputs applied while a rebuild's list actions are in flight, one journal per rebuild. */
  readonly journals: Set<RegistrationInput[]>;
  /** Rebuilds (resync, reconcile, config refresh) run one at a time per node. */
  queue: Promise<void>;
  reconcileTimer?: NodeJS.Timeout;
  reloadTimer?: NodeJS.Timeout;
  /** Endpoints whose contacts await enrichment, oldest first. */
  readonly enrichPending: Set<string>;
  enrichTimer?: NodeJS.Timeout;
  /** A batch is being read (the next one waits for it). */
  enriching: boolean;
  /** When each contact was last removed (`aor\0uri`), for `REMOVED_RECENTLY_MS`, oldest first. */
  readonly removedAt: Map<string, number>;
  /**
   * Contacts that came back right after their removal: kept only if the endpoint's next detail read
   * lists them. `seq` is the slot's contact event counter when that was last seen for this contact.
   */
  readonly suspects: Map<string, { endpoint: string; aor: string; uri: string; seq: number }>;
  /** Contact events applied so far. */
  contactSeq: number;
}

/**
 * Live registration state per node: endpoints, AORs, auths (identity only) and registered contacts. The
 * only writer of that state. Rebuilt from the PJSIP list actions on every AMI (re)connect, after a
 * res_pjsip reload, and by the reconciliation poll; kept current between them by the contact, endpoint
 * and device events of both links, through the pure reducers.
 */
@Injectable()
export class RegistrationStore implements RegistrationReader, OnModuleDestroy {
  private readonly logger = new Logger(RegistrationStore.name);
  private readonly slots = new Map<string, NodeSlot>();
  private readonly unsubscribe: () => void;
  private readonly reconcileIntervalMs: number;
  private destroyed = false;

  constructor(
    @Inject(PBXPULSE_CONFIG) config: PbxpulseConfig,
    private readonly bus: EventBus,
    resync: ResyncCoordinator,
    @Inject(AmiService) private readonly ami: RegistrationAmiLinks,
  ) {
    this.reconcileIntervalMs = config.state.reconcileIntervalMs;
    for (const node of config.nodes) {
      this.slots.set(node.name, {
        name: node.name,
        state: EMPTY_REGISTRATIONS,
        loaded: false,
        resyncSinceConnect: false,
        resyncFailures: 0,
        duplicates: new LinkDuplicates(),
        journals: new Set(),
        queue: Promise.resolve(),
        enrichPending: new Set(),
        removedAt: new Map(),
        suspects: new Map(),
        contactSeq: 0,
        enriching: false,
      });
    }
    resync.register('ami', 'registrations', (node) => this.resync(node));
    // The state phase: the store applies an event before any reader (metrics, gateway, detectors) sees it.
    this.unsubscribe = bus.on(EVENT_TYPES, (e) => this.onEvent(e), { phase: 'state' });
  }

  onModuleDestroy(): void {
    this.destroyed = true;
    this.unsubscribe();
    for (const slot of this.slots.values()) this.stopTimers(slot);
  }

  // ------------------------------------------------------------------------------------ RegistrationReader

  endpoints(node: string): EndpointView[] {
    return endpointViews(this.state(node));
  }

  endpoint(node: string, name: string): EndpointView | undefined {
    return endpointViewOf(this.state(node), name);
  }

  aors(node: string): AorView[] {
    return aorViews(this.state(node));
  }

  aor(node: string, name: string): AorView | undefined {
    return aorViewOf(this.state(node), name);
  }

  contacts(node: string, endpoint?: string): ContactView[] {
    return contactViews(this.state(node), endpoint);
  }

  isKnownEndpoint(node: string, name: string): boolean {
    return this.state(node).endpoints.has(name);
  }

  /** The node's raw state (immutable); empty for an unknown node. */
  state(node: string): NodeRegistrations {
    return this.slots.get(node)?.state ?? EMPTY_REGISTRATIONS;
  }

  // ------------------------------------------------------------------------------------ rebuilds

  /**
   * Rebuild the node's state from the list actions (the resync handler of link 'ami'). Context and
   * transport protocol are not in `EndpointList`: they come from one `PJSIPShowEndpoint` per endpoint,
   * DETAIL_CONCURRENCY at a time.
   */
  async resync(node: string): Promise<Record<string, number>> {
    const slot = this.slot(node);
    slot.resyncSinceConnect = true;
    return this.enqueue(slot, async () => {
      const started = Date.now();
      let state: NodeRegistrations;
      try {
        ({ state } = await this.rebuild(slot, false, async (conn) => {
          const [endpoints, aors, auths, contacts] = await Promise.all([
            conn.endpoints(),
            conn.aors(),
            conn.auths(),
            conn.contacts(),
          ]);
          const details = await readDetails(conn, endpointNames(endpoints));
          return (live) => buildRegistrations({ endpoints, aors, auths, contacts, details }, live);
        }));
        slot.loaded = true;
        slot.resyncFailures = 0;
      } catch (err) {
        slot.resyncFailures += 1;
        throw err;
      } finally {
        // After a failure the next tick comes soon and is a resync again (see runReconcile).
        if (this.ami.pjsip(node).isUp) this.scheduleReconcile(slot);
      }
      const counts = {
        endpoints: state.endpoints.size,
        aors: state.aors.size,
        contacts: contactTotal(state),
      };
      this.logger.debug(
        `${node}: registrations rebuilt in ${Date.now() - started} ms (${counts.endpoints} endpoints, ` +
          `${counts.aors} aors, ${counts.contacts} contacts)`,
      );
      return counts;
    });
  }

  /**
   * The reconciliation poll: re-read endpoints, AORs and contacts, refresh RTT, expiry and user agents
   * (Asterisk sends no event for those), and repair what a lost event left stale. Resolves the number of
   * repairs; 0 without doing anything while AMI is down.
   */
  async reconcile(node: string): Promise<number> {
    const slot = this.slot(node);
    return this.enqueue(slot, async () => {
      if (!this.ami.pjsip(node).isUp) return 0;
      const { derived } = await this.rebuild(slot, true, async (conn) => {
        const [endpoints, aors, contacts] = await Promise.all([
          conn.endpoints(),
          conn.aors(),
          conn.contacts(),
        ]);
        // Context and transport are carried over; only endpoints we have never seen need their detail.
        const fresh = endpointNames(endpoints).filter((n) => !slot.state.endpoints.has(n));
        const details = fresh.length > 0 ? await readDetails(conn, fresh) : undefined;
        return (live) => buildRegistrations({ endpoints, aors, contacts, details }, live);
      });
      // Every contact was just read with its user agent, expiry and via: nothing left to enrich.
      slot.enrichPending.clear();
      const repairs = derived.filter((e) => e.type === 'state.repaired');
      if (repairs.length > 0) {
        const kinds = new Map<string, number>();
        for (const r of repairs) kinds.set(r.kind, (kinds.get(r.kind) ?? 0) + 1);
        this.logger.log(
          `${node}: reconciliation repaired ${repairs.length} stale fact(s): ` +
            [...kinds].map(([k, n]) => `${k} x${n}`).join(', '),
        );
      }
      return repairs.length;
    });
  }

  /** After a res_pjsip reload: re-read endpoints, AORs, auths and endpoint details (contacts stay). */
  async refreshConfig(node: string): Promise<void> {
    const slot = this.slot(node);
    return this.enqueue(slot, async () => {
      if (!this.ami.pjsip(node).isUp) return;
      await this.rebuild(slot, false, async (conn) => {
        const [endpoints, aors, auths] = await Promise.all([conn.endpoints(), conn.aors(), conn.auths()]);
        const details = await readDetails(conn, endpointNames(endpoints));
        return (live) => buildRegistrations({ endpoints, aors, auths, details }, live);
      });
      this.logger.debug(`${node}: PJSIP configuration re-read after a reload`);
    });
  }

  /**
   * Read lists, then swap the node's state in one synchronous step.
   *
   * Events keep arriving while the list actions are in flight. They are applied to the live state as
   * usual (readers stay current) and also journaled; the rebuilt state is the lists' answer with the
   * journal re-applied on top, in arrival order. Re-applying rather than filtering by time: an event that
   * the lists already reflect changes nothing when applied again (reducers are idempotent), and one they
   * do not reflect must not be lost. AMI delivers events and list items on one ordered socket, so every
   * change made after a list was produced is in the journal.
   */
  private async rebuild(
    slot: NodeSlot,
    repairs: boolean,
    read: (conn: RegistrationAmiLink) => Promise<(live: NodeRegistrations) => NodeRegistrations>,
  ): Promise<Reduced> {
    const journal: RegistrationInput[] = [];
    slot.journals.add(journal);
    try {
      const build = await read(this.ami.pjsip(slot.name));
      if (this.destroyed) return { state: slot.state, derived: [] };
      let next = build(slot.state);
      for (const input of journal) next = reduce(next, input).state;
      const result = replaceState(slot.state, next, { node: slot.name, ts: Date.now(), repairs });
      slot.state = result.state;
      this.publish(result.derived);
      return result;
    } finally {
      slot.journals.delete(journal);
    }
  }

  private enqueue<T>(slot: NodeSlot, op: () => Promise<T>): Promise<T> {
    const run = slot.queue.then(op);
    slot.queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  // ------------------------------------------------------------------------------------ events

  private onEvent(e: StoreEvent): void {
    const slot = this.slots.get(e.node);
    if (!slot) return;
    switch (e.type) {
      case 'contact.status_changed':
      case 'endpoint.reachability_changed':
      case 'device.state_changed':
        if (slot.duplicates.isCopy(fingerprint(e), e.source, e.ts)) return;
        this.apply(slot, e);
        return;
      case 'module.reloaded':
        // `core reload` reports `All`; `module reload res_pjsip.so` reports the module.
        if (/^(res_pjsip(\.so)?|all)$/i.test(e.module)) this.scheduleConfigRefresh(slot);
        return;
      case 'node.booted':
        // Lists read before FullyBooted (a login during `core restart`) report DeviceState Invalid,
        // and no DeviceStateChange follows when boot completes: read them again. Asterisk also sends
        // FullyBooted right after every login to a running Asterisk, before the after-connect resync
        // has begun: that one needs no second read (it would double every reconnect's work).
        if (slot.loaded && slot.resyncSinceConnect) void this.resync(e.node).catch(() => undefined);
        return;
      case 'node.connection_changed':
        // A link that drops or returns breaks the pairing of the two links' copies: start afresh.
        slot.duplicates.clear();
        if (e.link === 'ami') slot.resyncSinceConnect = false;
        if (e.link === 'ami' && e.status !== 'up') this.stopTimers(slot);
        return;
      default: {
        const never: never = e;
        return never;
      }
    }
  }

  private apply(slot: NodeSlot, input: RegistrationInput): void {
    if (input.type === 'contact.status_changed') this.watchResurrection(slot, input);
    const { state, derived } = reduce(slot.state, input);
    slot.state = state;
    for (const journal of slot.journals) journal.push(input);
    this.publish(derived);
    if (input.type === 'contact.status_changed' && input.status !== 'removed') {
      const c = findContact(state, input.aor, input.uri);
      if (c && c.userAgent === null && c.expiresAt === null && c.callId === null) {
        this.scheduleEnrich(slot, c.endpoint);
      }
    }
  }

  /** Remembers removals, and marks a contact whose status arrives right after its removal as a suspect. */
  private watchResurrection(
    slot: NodeSlot,
    e: Extract<RegistrationInput, { type: 'contact.status_changed' }>,
  ): void {
    const key = `${e.aor}\u0000${e.uri}`;
    const now = Date.now();
    slot.contactSeq += 1;
    if (e.status === 'removed') {
      slot.suspects.delete(key);
      slot.removedAt.delete(key);
      slot.removedAt.set(key, now);
      // Oldest first: drop what is too old to matter, and the oldest beyond the bound.
      for (const [k, at] of slot.removedAt) {
        if (now - at < REMOVED_RECENTLY_MS && slot.removedAt.size <= REMOVED_MEMORY_MAX) break;
        slot.removedAt.delete(k);
      }
      return;
    }
    const suspect = slot.suspects.get(key);
    if (suspect) {
      // A read already in flight no longer decides: ask again after this one.
      suspect.seq = slot.contactSeq;
      this.scheduleEnrich(slot, suspect.endpoint);
      return;
    }
    const removed = slot.removedAt.get(key);
    if (removed === undefined || now - removed >= REMOVED_RECENTLY_MS) return;
    if (findContact(slot.state, e.aor, e.uri)) return;
    slot.suspects.set(key, { endpoint: e.endpoint, aor: e.aor, uri: e.uri, seq: slot.contactSeq });
    this.scheduleEnrich(slot, e.endpoint);
  }

  private publish(events: PbxEvent[]): void {
    for (const e of events) {
      if (e.type === 'state.repaired') this.logger.debug(`${e.node}: repaired ${e.kind}: ${e.subject}`);
      this.bus.publish(e);
    }
  }

  // ------------------------------------------------------------------------------------ timers

  private scheduleReconcile(slot: NodeSlot): void {
    clearTimeout(slot.reconcileTimer);
    if (this.destroyed) return;
    const delay =
      slot.resyncFailures === 0
        ? this.reconcileIntervalMs
        : doubledDelay(RESYNC_RETRY_MS, this.reconcileIntervalMs, slot.resyncFailures - 1);
    slot.reconcileTimer = setTimeout(() => {
      slot.reconcileTimer = undefined;
      void this.runReconcile(slot);
    }, delay);
    slot.reconcileTimer.unref();
  }

  private async runReconcile(slot: NodeSlot): Promise<void> {
    try {
      if (slot.loaded && slot.resyncFailures === 0) await this.reconcile(slot.name);
      else await this.resync(slot.name);
    } catch (err) {
      this.logger.warn(`${slot.name}: reconciliation failed: ${(err as Error).message}`);
    }
    if (this.ami.pjsip(slot.name).isUp && slot.reconcileTimer === undefined) this.scheduleReconcile(slot);
  }

  private scheduleConfigRefresh(slot: NodeSlot): void {
    if (this.destroyed || slot.reloadTimer) return;
    slot.reloadTimer = setTimeout(() => {
      slot.reloadTimer = undefined;
      this.refreshConfig(slot.name).catch((err: Error) =>
        this.logger.warn(`${slot.name}: re-reading PJSIP config after a reload failed: ${err.message}`),
      );
    }, RELOAD_DELAY_MS);
    slot.reloadTimer.unref();
  }

  /** A contact first seen through an event lacks user agent, expiry, via: ask for its endpoint's. */
  private scheduleEnrich(slot: NodeSlot, endpoint: string): void {
    if (this.destroyed || !slot.state.endpoints.has(endpoint)) return;
    slot.enrichPending.add(endpoint);
    this.armEnrich(slot);
  }

  private armEnrich(slot: NodeSlot): void {
    if (this.destroyed || slot.enrichTimer || slot.enriching || slot.enrichPending.size === 0) return;
    slot.enrichTimer = setTimeout(() => void this.enrichBatch(slot), ENRICH_DELAY_MS);
    slot.enrichTimer.unref();
  }

  /** The next ENRICH_BATCH endpoints; the timer re-arms only once they are read (one batch at a time). */
  private async enrichBatch(slot: NodeSlot): Promise<void> {
    slot.enrichTimer = undefined;
    slot.enriching = true;
    // Suspects first, all of them (they are few): a resurrected contact must not wait behind a storm's
    // enrichment queue.
    const batch = [...new Set([...slot.suspects.values()].map((sus) => sus.endpoint))].filter((e) =>
      slot.enrichPending.has(e),
    );
    const limit = batch.length + ENRICH_BATCH;
    for (const endpoint of slot.enrichPending) {
      if (batch.length >= limit) break;
      if (!batch.includes(endpoint)) batch.push(endpoint);
    }
    for (const endpoint of batch) slot.enrichPending.delete(endpoint);
    await Promise.all(
      batch.map((endpoint) =>
        this.enrich(slot, endpoint).catch((err: Error) => {
          this.logger.debug(`${slot.name}: reading contacts of endpoint ${endpoint} failed: ${err.message}`);
          // A suspect must be settled (Asterisk still booting refuses the read): ask again a bit later.
          if ([...slot.suspects.values()].some((sus) => sus.endpoint === endpoint)) {
            setTimeout(() => this.scheduleEnrich(slot, endpoint), SUSPECT_RETRY_MS).unref();
          }
        }),
      ),
    );
    slot.enriching = false;
    this.armEnrich(slot);
  }

  private async enrich(slot: NodeSlot, endpoint: string): Promise<void> {
    const conn = this.ami.pjsip(slot.name);
    if (!conn.isUp || this.destroyed) return;
    const suspects = [...slot.suspects]
      .filter(([, s]) => s.endpoint === endpoint)
      .map(([k, s]) => [k, s.seq] as const);
    const { contacts } = await conn.endpointDetail(endpoint);
    if (this.destroyed) return;
    if (contacts.length > 0) {
      this.apply(slot, { type: 'contacts.enriched', node: slot.name, ts: Date.now(), contacts });
    }
    const listed = new Set(contacts.map((c) => `${c.aor}\u0000${c.uri}`));
    for (const [key, seq] of suspects) {
      const suspect = slot.suspects.get(key);
      // A newer event for it arrived while we asked: that one decides, not this answer.
      if (!suspect || suspect.seq !== seq) continue;
      slot.suspects.delete(key);
      if (listed.has(key)) continue;
      this.logger.debug(
        `${slot.name}: contact ${suspect.uri} reported after its removal is not in Asterisk: dropped`,
      );
      this.apply(slot, {
        type: 'contact.status_changed',
        node: slot.name,
        ts: Date.now(),
        source: 'ami',
        endpoint: suspect.endpoint,
        aor: suspect.aor,
        uri: suspect.uri,
        status: 'removed',
      });
    }
  }

  private stopTimers(slot: NodeSlot): void {
    clearTimeout(slot.reconcileTimer);
    slot.reconcileTimer = undefined;
    clearTimeout(slot.reloadTimer);
    slot.reloadTimer = undefined;
    clearTimeout(slot.enrichTimer);
    slot.enrichTimer = undefined;
    slot.enrichPending.clear();
    slot.suspects.clear();
  }

  private slot(node: string): NodeSlot {
    const slot = this.slots.get(node);
    if (!slot) throw new NodeNotFoundError(node);
    return slot;
  }
}

/** What pairs an event with the other link's copy of it. */
function fingerprint(e: RegistrationEvent): string {
  switch (e.type) {
    case 'contact.status_changed':
      return `contact\u0000${e.endpoint}\u0000${e.aor}\u0000${e.uri}\u0000${e.status}`;
    case 'endpoint.reachability_changed':
      return `reach\u0000${e.endpoint}\u0000${e.reachable}`;
    case 'device.state_changed':
      return `device\u0000${e.device}\u0000${e.state}`;
    default: {
      const never: never = e;
      return never;
    }
  }
}

function endpointNames(records: readonly EndpointRecord[]): string[] {
  return records.map((r) => r.name);
}

/** `PJSIPShowEndpoint` per endpoint, a few at a time (each answer is ~150 headers). */
async function readDetails(
  conn: RegistrationAmiLink,
  names: readonly string[],
): Promise<Map<string, EndpointDetailRecord>> {
  const out = new Map<string, EndpointDetailRecord>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < names.length) {
      const name = names[next++];
      out.set(name, await conn.endpointDetail(name));
    }
  };
  await Promise.all(Array.from({ length: Math.min(DETAIL_CONCURRENCY, names.length) }, worker));
  return out;
}
