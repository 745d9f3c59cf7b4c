import {
  Inject,
  Injectable,
  Optional,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { PBXPULSE_CONFIG } from '../../config/config.module';
import type { PbxpulseConfig } from '../../config/config.types';
import { doubledDelay } from '../../common/backoff';
import { NodeNotFoundError } from '../../common/errors';
import { AlertsService } from '../../detectors/alerts.service';
import { EventBus } from '../../events/event-bus';
import { PjsipShowService } from '../pjsip/pjsip-show.service';
import { str } from '../../common/pbx.records';
import { runSliced, forEachSliced } from '../../common/slices';
import { DIAGNOSED_OPTIONS, type DiagnosisInput, type Finding, diagnoseSteps } from './diagnose';
import { hostResolves, sipUriHost } from './host-resolve';
import { probeTlsCertificate } from './tls-probe';

export interface DiagnosticsResult {
  findings: Finding[];
  /** ISO time of the snapshot. */
  computedAt: string;
  /** How long the diagnosis took: reading the snapshot over AMI and computing the findings. */
  durationMs: number;
  /** Endpoints diagnosed (each read with `PJSIPShowEndpoint`). */
  endpoints: number;
}

/** Recompute period, besides every AMI resync and module reload. */
export const DIAGNOSTICS_INTERVAL_MS = 5 * 60_000;
/**
 * A background recomputation that failed (Asterisk still booting after a restart, an action timed out
 * under load) is tried again this long after, doubling per further failure up to the period: the
 * previous result, which may describe the configuration before a restart, is served meanwhile.
 */
export const DIAGNOSTICS_RETRY_MS = 5000;

/**
 * Keeps the last diagnosis of each node: recomputed after every AMI resync, after a module reload and
 * every 5 minutes. A failed recomputation keeps the previous result (and is logged once per change).
 */
@Injectable()
export class DiagnosticsService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(DiagnosticsService.name);
  private readonly cache = new Map<string, DiagnosticsResult>();
  private readonly inFlight = new Map<string, Promise<DiagnosticsResult>>();
  /** The computation to run after the in-flight one, per node. */
  private readonly queued = new Map<string, Promise<DiagnosticsResult>>();
  private readonly lastError = new Map<string, string>();
  /** Failed background recomputations in a row, and the retry waiting, per node. */
  private readonly failures = new Map<string, number>();
  private readonly retries = new Map<string, NodeJS.Timeout>();
  private readonly unsubscribe: () => void;
  private timer: NodeJS.Timeout | undefined;
  private destroyed = false;

  /** Alert ids raised per node from findings, to clear the ones that disappear. */
  private readonly raised = new Map<string, Set<string>>();

  constructor(
    @Inject(PBXPULSE_CONFIG) private readonly config: PbxpulseConfig,
    private readonly pjsip: PjsipShowService,
    bus: EventBus,
    @Optional() private readonly alerts?: AlertsService,
  ) {
    this.unsubscribe = bus.on(['state.resynced', 'module.reloaded'], (e) => {
      if (e.type === 'state.resynced' && e.link !== 'ami') return;
      this.refreshInBackground(e.node);
    });
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      for (const n of this.config.nodes) this.refreshInBackground(n.name);
    }, DIAGNOSTICS_INTERVAL_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    this.destroyed = true;
    this.unsubscribe();
    if (this.timer) clearInterval(this.timer);
    for (const t of this.retries.values()) clearTimeout(t);
    this.retries.clear();
  }

  /** Every node's cached result (for the metric). */
  cached(): Array<{ node: string; result: DiagnosticsResult }> {
    return [...this.cache].map(([node, result]) => ({ node, result }));
  }

  /** The cached diagnosis, computed now if there is none yet. */
  async get(node: string): Promise<DiagnosticsResult> {
    if (!this.config.nodes.some((n) => n.name === node)) throw new NodeNotFoundError(node);
    return this.cache.get(node) ?? this.refresh(node);
  }

  /**
   * Recompute now. A request made while a computation runs gets one more computation after it (shared by
   * every such request): the running one may have read Asterisk before the change that asked for the
   * refresh (a reconnect to a restarted Asterisk, a reload).
   */
  refresh(node: string): Promise<DiagnosticsResult> {
    const running = this.inFlight.get(node);
    if (running) {
      let next = this.queued.get(node);
      if (!next) {
        next = running
          .catch(() => undefined)
          .then(() => {
            this.queued.delete(node);
            return this.refresh(node);
          });
        this.queued.set(node, next);
      }
      return next;
    }
    const p = this.compute(node)
      .then(async (result) => {
        this.cache.set(node, result);
        await this.streamAsAlerts(node, result);
        if (this.lastError.delete(node)) this.logger.log(`${node}: diagnostics recomputed again`);
        const errors = result.findings.filter((f) => f.severity === 'error').length;
        this.logger.debug(
          `${node}: ${result.findings.length} findings (${errors} errors) on ${result.endpoints} endpoints in ${result.durationMs} ms`,
        );
        return result;
      })
      .finally(() => this.inFlight.delete(node));
    this.inFlight.set(node, p);
    return p;
  }

  /**
   * Error and warning findings are also alerts (`type: diagnostic`), so `/api/v1/alerts` and the `/ws`
   * stream carry them: raised when a finding appears, cleared (`resolved`) when a recomputation no
   * longer finds it. In slices: a node with thousands of broken endpoints raises thousands of alerts.
   */
  private async streamAsAlerts(node: string, result: DiagnosticsResult): Promise<void> {
    const alerts = this.alerts;
    if (!alerts) return;
    const now = new Date().toISOString();
    const current = new Set<string>();
    await forEachSliced(result.findings, (f) => {
      if (f.severity === 'info') return;
      const id = `diagnostic:${node}:${f.code}:${f.object.type}:${f.object.name}`;
      current.add(id);
      alerts.upsert({
        id,
        type: 'diagnostic',
        node,
        endpoint: f.object.type === 'endpoint' ? f.object.name : '',
        since: now,
        lastSeen: now,
        count: 1,
        message: f.message,
        remedy: f.remedy,
        details: { code: f.code, severity: f.severity, object: f.object, evidence: f.evidence },
      });
    });
    const gone = [...(this.raised.get(node) ?? [])].filter((id) => !current.has(id));
    this.raised.set(node, current);
    await forEachSliced(gone, (id) => alerts.clear(id, 'resolved'));
  }

  /** Gathers the snapshot over AMI; exported for tests. */
  async snapshot(node: string): Promise<DiagnosisInput> {
    const details = await this.pjsip.allEndpointDetails(node, DIAGNOSED_OPTIONS);
    const aors = await this.pjsip.aors(node, DIAGNOSED_OPTIONS);
    const transports = await this.pjsip.transports(node);
    const modules = await this.pjsip.modules(node, details);
    const http = await this.pjsip.http(node);
    const contexts = await this.pjsip.contexts(node).catch(() => null);
    const configuredTransports = await this.pjsip.configuredTransports(node);
    const contacts = (await this.pjsip.contacts(node, CONTACT_OPTIONS)).map((c) => ({
      endpoint: str(c, 'endpoint'),
      transport: contactTransport(str(c, 'uri')),
    }));
    const amiHost = this.config.nodes.find((n) => n.name === node)?.ami.host ?? '127.0.0.1';
    const tlsCertificate =
      http.tls.enabled && http.tls.bindAddress
        ? await probeTlsCertificate(http.tls.bindAddress, amiHost)
        : null;
    const registrations = await Promise.all(
      (await this.pjsip.outboundRegistrations(node)).map(async (r) => {
        const serverHost = sipUriHost(r.serverUri);
        return {
          name: r.name,
          serverUri: r.serverUri,
          outboundAuths: r.outboundAuths,
          missingAuths: r.missingAuths,
          serverHost,
          serverHostResolves: await hostResolves(serverHost),
        };
      }),
    );
    return {
      registrations,
      endpoints: details.map((d) => ({ endpoint: d.endpoint, auths: d.auths })),
      aors,
      transports,
      modules: modules.map((m) => ({ module: m.module, running: m.running })),
      http,
      contexts,
      configuredTransports,
      contacts,
      tlsCertificate,
      now: Date.now(),
    };
  }

  private async compute(node: string): Promise<DiagnosticsResult> {
    const started = performance.now();
    const input = await this.snapshot(node);
    const findings = await runSliced(diagnoseSteps(input));
    return {
      findings,
      computedAt: new Date(input.now).toISOString(),
      durationMs: Math.round(performance.now() - started),
      endpoints: input.endpoints.length,
    };
  }

  private refreshInBackground(node: string): void {
    clearTimeout(this.retries.get(node));
    this.retries.delete(node);
    this.refresh(node).then(
      () => this.failures.delete(node),
      (err: unknown) => {
        const msg = err instanceof Error ? err.message : String(err);
        if (this.lastError.get(node) !== msg) this.logger.warn(`${node}: diagnostics not recomputed: ${msg}`);
        this.lastError.set(node, msg);
        if (this.destroyed) return;
        const failures = (this.failures.get(node) ?? 0) + 1;
        this.failures.set(node, failures);
        const delay = doubledDelay(DIAGNOSTICS_RETRY_MS, DIAGNOSTICS_INTERVAL_MS, failures - 1);
        const timer = setTimeout(() => this.refreshInBackground(node), delay);
        timer.unref();
        this.retries.set(node, timer);
      },
    );
  }
}

/** What a diagnosis reads of each registered contact. */
const CONTACT_OPTIONS: ReadonlySet<string> = new Set(['endpoint', 'uri']);

/** `transport=ws` in a contact URI (`sip:abc@1.2.3.4:5;transport=ws`). */
function contactTransport(uri: string): string {
  const m = /;transport=([a-z]+)/i.exec(uri);
  return m ? m[1].toLowerCase() : 'udp';
}
