import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { AmiActionError } from '../ami/ami.errors';
import { AmiService } from '../ami/ami.service';
import { AriService } from '../ari/ari.service';
import { BadRequestError, NodeNotFoundError, NotConnectedError } from '../common/errors';
import { PBXPULSE_CONFIG } from '../config/config.module';
import type { PbxpulseConfig } from '../config/config.types';
import { EventBus } from '../events/event-bus';
import { GatewayHub } from '../gateway/gateway.hub';
import type { Finding } from '../health/diagnostics/diagnose';
import { DiagnosticsService } from '../health/diagnostics/diagnostics.service';
import { type ControlResult, ControlMetrics } from '../metrics/control.metrics';
import { NodeStateStore } from '../state/node-state.store';
import { EndpointNotFoundError } from '../state/registrations/registration.errors';
import type { Role } from '../api/token-auth';
import { RateLimitedError, ReloadFailedError } from './control.errors';
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

/**
 * Commands to Asterisk on an operator's behalf (reload, qualify). Every call is audited: one log line
 * (role, action, result; never a token), a `control.action` gateway delta and a counter.
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
  ) {
    this.limiter = new ReloadRateLimiter(config.control.reloadMinIntervalMs, now);
  }

  /** Reload one allowlisted module (`body` as received), then re-diagnose the node. */
  async reload(node: string, body: unknown, by: Role): Promise<ReloadResponse> {
    this.requireNode(node, by, 'reload');
    let module: ReloadModule;
    try {
      module = parseReloadBody(body);
    } catch (err) {
      this.audit({ node, action: 'reload', result: 'bad_request', by });
      throw err;
    }
    const refuse = (result: ControlResult, err: Error): never => {
      this.metrics.reload(node, module, result);
      this.audit({ node, action: 'reload', module, result, by });
      throw err;
    };
    const ami = this.ami.connection(node);
    if (!ami.isUp) refuse('not_connected', new NotConnectedError(`node '${node}': AMI is not connected`));
    const wait = this.limiter.acquire(node);
    if (wait > 0) refuse('rate_limited', new RateLimitedError(node, wait));

    const started = this.now();
    const before = await this.diagnosesOrNull(node);
    const lastReloadBefore = await this.lastReloadTime(node);
    const finished = this.reloadFinished(node, module);
    try {
      await ami.action('Reload', { Module: module });
    } catch (err) {
      finished.cancel();
      this.metrics.reload(node, module, 'error');
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

    this.metrics.reload(node, module, 'ok');
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

  /** Ask Asterisk to qualify the endpoint's contacts now (AMI `PJSIPQualify`; answers arrive as events). */
  async qualify(node: string, endpoint: string, by: Role): Promise<QualifyResponse> {
    this.requireNode(node, by, 'qualify');
    const done = (result: ControlResult, reason?: string): void => {
      this.metrics.qualify(node, result);
      this.audit({ node, action: 'qualify', endpoint: printableName(endpoint), result, by, reason });
    };
    if (!ENDPOINT_NAME.test(endpoint)) {
      this.audit({ node, action: 'qualify', result: 'bad_request', by });
      throw new BadRequestError('endpoint name must be 1-128 printable characters without spaces');
    }
    const ami = this.ami.connection(node);
    if (!ami.isUp) {
      done('not_connected');
      throw new NotConnectedError(`node '${node}': AMI is not connected`);
    }
    try {
      await ami.action('PJSIPQualify', { Endpoint: endpoint });
    } catch (err) {
      // res_pjsip answers "Unable to retrieve endpoint <name>" for an endpoint it does not know.
      if (err instanceof AmiActionError && /unable to retrieve endpoint/i.test(err.asteriskMessage)) {
        done('not_found');
        throw new EndpointNotFoundError(node, endpoint);
      }
      done('error', err instanceof Error ? err.message : String(err));
      throw err;
    }
    done('ok');
    return { node, endpoint, result: 'queued' };
  }

  private requireNode(node: string, by: Role, action: string): void {
    if (this.nodes.has(node)) return;
    this.logger.warn(`control: ${by} ${action} on unknown node: not_found`);
    throw new NodeNotFoundError(node);
  }

  private audit(entry: {
    node: string;
    action: 'reload' | 'qualify';
    result: string;
    by: Role;
    module?: ReloadModule;
    endpoint?: string;
    reason?: string;
    durationMs?: number;
    confirmed?: boolean;
  }): void {
    const what = entry.module ?? entry.endpoint ?? '';
    const line =
      `control: ${entry.by} ${entry.action}${what ? ` ${what}` : ''} on ${entry.node}: ${entry.result}` +
      (entry.durationMs !== undefined ? ` in ${entry.durationMs} ms` : '') +
      (entry.confirmed === false ? ' (no Reload event within the bound)' : '') +
      (entry.reason ? ` (${entry.reason})` : '');
    if (entry.result === 'ok') this.logger.log(line);
    else this.logger.warn(line);
    this.hub?.publish('control.action', entry.node, { ...entry }, this.now());
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
      return (await this.ari.connection(node).getAsteriskInfo()).lastReloadTime ?? null;
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
