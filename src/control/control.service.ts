import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { AmiActionError } from '../ami/ami.errors';
import { AmiService } from '../ami/ami.service';
import { AriService } from '../ari/ari.service';
import { ClusterService } from '../cluster/cluster.service';
import { NodeWatchedElsewhereError } from '../cluster/cluster.errors';
import { BadRequestError, NodeNotFoundError, NotConnectedError } from '../common/errors';
import { PBXPULSE_CONFIG } from '../config/config.module';
import type { PbxpulseConfig } from '../config/config.types';
import { EventBus } from '../events/event-bus';
import { GatewayHub } from '../gateway/gateway.hub';
import type { Finding } from '../health/diagnostics/diagnose';
import { DiagnosticsService } from '../health/diagnostics/diagnostics.service';
import { type ControlResult, ControlMetrics, INVALID_MODULE_LABEL } from '../metrics/control.metrics';
import { NodeStateStore } from '../state/node-state.store';
import { EndpointNotFoundError } from '../state/registrations/registration.errors';
import type { Role } from '../common/token-auth';
import { RateLimitedError, ReloadFailedError } from './control.errors';
import { NON_JSON_BODY, parseQualifyBody } from './control-body';
import { type ReloadModule, parseReloadBody } from './reload-modules';
import { CONTROL_CLOCK, type ControlClock, ReloadRateLimiter } from './reload-rate-limiter';

export interface ReloadResponse {
  node: string;
  module: ReloadModule;
  result: 'ok';
  durationMs: number;
  /** Asterisk's last reload time (ARI `/asterisk/info`) before and after; `null` when ARI did not answer. */
  lastReloadBefore: string | null;
  lastReloadAfter: string | null;
  /** Whether Asterisk's `Reload` event (the reload finished) arrived within the bound. */
  confirmed: boolean;
  /** Findings that appeared or went away between the diagnoses before and after the reload. */
  diagnosesChanged: { added: Finding[]; removed: Finding[] };
  /** The configured transports differ from the running ones: only a restart applies them. */
  restartRequired: boolean;
  restartReason?: string;
}

export interface QualifyResponse {
  node: string;
  endpoint: string;
  result: 'queued';
}

/** PJSIP object names: printable, no whitespace or AMI header separators. */
const ENDPOINT_NAME = /^[\x21-\x7e]{1,128}$/;
/** The audit reason of a body sent without `Content-Type: application/json` (fixed text, no caller input). */
const NON_JSON_REASON = 'body is not application/json';
/** How much of an unknown node's requested name the audit keeps (it is caller input). */
const UNKNOWN_NODE_MAX = 64;

/** Who made a control call: the role of its token, `anonymous` for no or an unknown token. */
export type ControlCaller = Role | 'anonymous';
export type ControlAction = 'reload' | 'qualify';

/** A control call refused before the service ran (admin guard, unreadable body), as the request named it. */
export interface RefusedCall {
  action: ControlAction;
  /** The `:node` route parameter as received. */
  node: string;
  /** Reload: the request body as the JSON parser read it (the module is read from it, if allowlisted). */
  body?: unknown;
  /** Express refused the request before routing it (body parser, undecodable path): no module to read. */
  unreadableBody?: boolean;
  /** Qualify: the `:name` route parameter as received. */
  endpoint?: string;
}

/**
 * Commands to Asterisk on an operator's behalf (reload, qualify). Every call, refusals included, is
 * audited: one log line (role, action, result; never a token), a `control.action` gateway delta and
 * a counter with bounded labels.
 */
@Injectable()
export class ControlService {
  private readonly logger = new Logger(ControlService.name);
  private readonly limiter: ReloadRateLimiter;

  constructor(
    @Inject(PBXPULSE_CONFIG) private readonly config: PbxpulseConfig,
    private readonly nodes: NodeStateStore,
    private readonly ami: AmiService,
    private readonly ari: AriService,
    private readonly diagnostics: DiagnosticsService,
    private readonly bus: EventBus,
    private readonly metrics: ControlMetrics,
    @Inject(CONTROL_CLOCK) private readonly now: ControlClock,
    @Optional() private readonly hub?: GatewayHub,
    @Optional() private readonly cluster?: ClusterService,
  ) {
    this.limiter = new ReloadRateLimiter(config.control.reloadMinIntervalMs, now);
  }

  /** Reload one allowlisted module (`body` as received), then re-diagnose the node. */
  async reload(node: string, body: unknown, by: Role): Promise<ReloadResponse> {
    if (!this.nodes.has(node)) {
      this.audit({ node, action: 'reload', module: moduleOrInvalid(body), result: 'node_not_found', by });
      throw new NodeNotFoundError(node);
    }
    let module: ReloadModule;
    try {
      module = parseReloadBody(body);
    } catch (err) {
      const reason = body === NON_JSON_BODY ? NON_JSON_REASON : undefined;
      this.audit({ node, action: 'reload', module: INVALID_MODULE_LABEL, result: 'bad_request', by, reason });
      throw err;
    }
    const refuse = (result: ControlResult, err: Error): never => {
      this.audit({ node, action: 'reload', module, result, by });
      throw err;
    };
    await this.mayAct(node, (result, err) => refuse(result, err));
    const ami = this.ami.pjsip(node);
    if (!ami.isUp) refuse('not_connected', new NotConnectedError(`node '${node}': AMI is not connected`));
    const wait = this.limiter.acquire(node);
    if (wait > 0) refuse('rate_limited', new RateLimitedError(node, wait));

    const started = this.now();
    const before = await this.diagnosesOrNull(node);
    const lastReloadBefore = await this.lastReloadTime(node);
    const finished = this.reloadFinished(node, module);
    try {
      await ami.reload(module);
    } catch (err) {
      finished.cancel();
      const reason = err instanceof Error ? err.message : String(err);
      this.audit({ node, action: 'reload', module, result: 'error', by, reason });
      if (err instanceof AmiActionError) throw new ReloadFailedError(node, module, err.asteriskMessage);
      throw err;
    }
    // `Response: Success` can precede the reload itself (Asterisk queues it while busy): the `Reload`
    // event marks the end, so the diagnosis after it sees the new configuration.
    const confirmed = await finished.wait(this.config.connections.actionTimeoutMs);
    const lastReloadAfter = await this.lastReloadTime(node);
    const after = await this.diagnosesOrNull(node);
    const durationMs = this.now() - started;
    const restart = after?.find((f) => f.code === 'RESTART_REQUIRED');

    this.audit({ node, action: 'reload', module, result: 'ok', by, durationMs, confirmed });
    return {
      node,
      module,
      result: 'ok',
      durationMs,
      lastReloadBefore,
      lastReloadAfter,
      confirmed,
      diagnosesChanged: diffFindings(before ?? [], after ?? []),
      restartRequired: restart !== undefined,
      ...(restart ? { restartReason: restart.message } : {}),
    };
  }

  /**
   * Ask Asterisk to qualify the endpoint's contacts now (AMI `PJSIPQualify`; answers arrive as
   * events). `body` as received: none or `{}`.
   */
  async qualify(node: string, endpoint: string, by: Role, body?: unknown): Promise<QualifyResponse> {
    const done = (result: ControlResult, reason?: string): void => {
      this.audit({ node, action: 'qualify', endpoint: printableName(endpoint), result, by, reason });
    };
    if (!this.nodes.has(node)) {
      done('node_not_found');
      throw new NodeNotFoundError(node);
    }
    if (!ENDPOINT_NAME.test(endpoint)) {
      done('bad_request');
      throw new BadRequestError('endpoint name must be 1-128 printable characters without spaces');
    }
    try {
      parseQualifyBody(body);
    } catch (err) {
      done('bad_request', body === NON_JSON_BODY ? NON_JSON_REASON : undefined);
      throw err;
    }
    await this.mayAct(node, (result, err) => {
      done(result, err.message);
      throw err;
    });
    const ami = this.ami.pjsip(node);
    if (!ami.isUp) {
      done('not_connected');
      throw new NotConnectedError(`node '${node}': AMI is not connected`);
    }
    let outcome: Awaited<ReturnType<typeof ami.qualify>>;
    try {
      outcome = await ami.qualify(endpoint);
    } catch (err) {
      done('error', err instanceof Error ? err.message : String(err));
      throw err;
    }
    if (outcome === 'unknown_endpoint') {
      done('not_found');
      throw new EndpointNotFoundError(node, endpoint);
    }
    done('ok');
    return { node, endpoint, result: 'queued' };
  }

  /**
   * Cluster mode: only the daemon holding the node's lease acts on it (proven in Redis just before);
   * `refuse` audits and throws.
   */
  private async mayAct(node: string, refuse: (result: ControlResult, err: Error) => never): Promise<void> {
    try {
      await this.cluster?.assertMayAct(node);
    } catch (err) {
      refuse(
        err instanceof NodeWatchedElsewhereError ? 'watched_elsewhere' : 'cluster_unavailable',
        err as Error,
      );
    }
  }

  /**
   * Audits a call refused before it reached the service (by the admin guard, or an unreadable body):
   * the same log line, `control.action` delta and counter as any other call. `reason` is a fixed
   * text, never a token.
   */
  refused(
    call: RefusedCall,
    result: 'unauthorized' | 'forbidden' | 'bad_request',
    by: ControlCaller,
    reason: string,
  ): void {
    if (call.action === 'reload') {
      const module = call.unreadableBody ? INVALID_MODULE_LABEL : moduleOrInvalid(call.body);
      this.audit({ node: call.node, action: 'reload', module, result, by, reason });
    } else {
      const endpoint = printableName(call.endpoint ?? '');
      this.audit({ node: call.node, action: 'qualify', endpoint, result, by, reason });
    }
  }

  /** The one place a control call is recorded: log line, gateway delta, counter. */
  private audit(entry: {
    node: string;
    action: ControlAction;
    result: ControlResult;
    by: ControlCaller;
    module?: ReloadModule | typeof INVALID_MODULE_LABEL;
    endpoint?: string;
    reason?: string;
    durationMs?: number;
    confirmed?: boolean;
  }): void {
    // An unknown node is caller input: keep a bounded, printable form for the log and the delta
    // (the metric collapses it to `<unknown>`).
    const node = this.nodes.has(entry.node) ? entry.node : boundedText(entry.node, UNKNOWN_NODE_MAX);
    const what = entry.module ?? entry.endpoint ?? '';
    const line =
      `control: ${entry.by} ${entry.action}${what ? ` ${what}` : ''} on ${node}: ${entry.result}` +
      (entry.durationMs !== undefined ? ` in ${entry.durationMs} ms` : '') +
      (entry.confirmed === false ? ' (no Reload event within the bound)' : '') +
      (entry.reason ? ` (${entry.reason})` : '');
    if (entry.result === 'ok') this.logger.log(line);
    else this.logger.warn(line);
    if (entry.action === 'reload') this.metrics.reload(entry.node, entry.module, entry.result);
    else this.metrics.qualify(entry.node, entry.result);
    this.hub?.publish('control.action', node, { ...entry, node }, this.now());
  }

  private async diagnosesOrNull(node: string): Promise<Finding[] | null> {
    try {
      return (await this.diagnostics.refresh(node)).findings;
    } catch (err) {
      this.logger.warn(`${node}: diagnosis around the reload failed: ${(err as Error).message}`);
      return null;
    }
  }

  private async lastReloadTime(node: string): Promise<string | null> {
    try {
      return (await this.ari.queries(node).asteriskInfo()).lastReloadTime ?? null;
    } catch {
      return this.nodes.get(node)?.asterisk.lastReloadTime ?? null;
    }
  }

  /** Listens for the node's `Reload` event for `module` from now on; `wait` resolves true when it came. */
  private reloadFinished(
    node: string,
    module: string,
  ): { wait(ms: number): Promise<boolean>; cancel(): void } {
    const wanted = moduleKey(module);
    let seen = false;
    let wake: (() => void) | undefined;
    const off = this.bus.on('module.reloaded', (e) => {
      if (e.node !== node || moduleKey(e.module) !== wanted) return;
      seen = true;
      wake?.();
    });
    return {
      cancel: off,
      wait: (ms) =>
        new Promise<boolean>((resolve) => {
          const finish = (): void => {
            clearTimeout(timer);
            off();
            resolve(seen);
          };
          const timer = setTimeout(finish, ms);
          wake = finish;
          if (seen) finish();
        }),
    };
  }
}

function moduleKey(name: string): string {
  return name.toLowerCase().replace(/\.so$/, '');
}

function findingKey(f: Finding): string {
  return `${f.code}|${f.object.type}|${f.object.name}`;
}

/** Findings present only after (`added`) or only before (`removed`), by code and object. */
export function diffFindings(before: Finding[], after: Finding[]): { added: Finding[]; removed: Finding[] } {
  const beforeKeys = new Set(before.map(findingKey));
  const afterKeys = new Set(after.map(findingKey));
  return {
    added: after.filter((f) => !beforeKeys.has(findingKey(f))),
    removed: before.filter((f) => !afterKeys.has(findingKey(f))),
  };
}

function printableName(name: string): string {
  return ENDPOINT_NAME.test(name) ? name : '<invalid>';
}

/** The allowlisted module a reload body names (the default for an empty one), else `<invalid>`. */
function moduleOrInvalid(body: unknown): ReloadModule | typeof INVALID_MODULE_LABEL {
  try {
    return parseReloadBody(body);
  } catch {
    return INVALID_MODULE_LABEL;
  }
}

/** Caller text for a log line or delta: control characters replaced, at most `max` characters. */
function boundedText(text: string, max: number): string {
  const printable = text.replace(/[^\x20-\x7e]/g, '?');
  return printable.length > max ? `${printable.slice(0, max - 1)}…` : printable;
}
