import { Injectable } from '@nestjs/common';
import { AmiService } from '../../ami/ami.service';
import type {
  ConfiguredTransport,
  OutboundRegistrationRecord,
  HttpStatus,
  ModuleRow,
  ModuleState,
  PjsipEndpointObjects,
  PjsipObject,
  TransportRow,
} from '../../common/pbx.records';
import { str } from '../../common/pbx.records';
import { EndpointNotFoundError } from '../../state/registrations/registration.errors';
import { mapConcurrent } from '../../common/slices';
import { CODEC_MODULES, parseAllow } from './codecs';

/** Modules WebRTC over PJSIP needs, checked with `module show like` (ModuleCheck says Success for Not Running). */
export const WEBRTC_MODULES = [
  'res_pjsip',
  'res_pjsip_transport_websocket',
  'res_http_websocket',
  'res_srtp',
  'res_pjsip_registrar',
  'res_rtp_asterisk',
] as const;

export interface ModuleStatus {
  /** The name asked for, without `.so` (`res_srtp`, `codec_opus`). */
  module: string;
  state: ModuleState;
  running: boolean;
  /** The matching rows of `module show like` (a codec module may have several builds). */
  rows: ModuleRow[];
  /** Why it is checked: `webrtc`, or `codec:<name>`. */
  neededFor: string[];
}

/** `PJSIPShowEndpoint` actions in flight at once when every endpoint is read (see `allEndpointDetails`). */
export const DETAIL_CONCURRENCY = 8;

/** `PJSIPShowEndpoint`: the endpoint's options and the objects Asterisk lists with it. */
export type EndpointDetail = PjsipEndpointObjects;

/**
 * `pjsip show …` equivalents over AMI, normalised and without secrets. A node whose AMI link is down
 * answers `NotConnectedError` (503); an unknown node `NodeNotFoundError` (404); an AMI user without the
 * read class an `AmiActionError` (never an empty list).
 */
@Injectable()
export class PjsipShowService {
  constructor(private readonly ami: AmiService) {}

  endpoints(node: string): Promise<PjsipObject[]> {
    return this.ami.pjsip(node).showList('endpoints');
  }

  /** With `only`, each object keeps just those (normalised) keys. */
  async endpoint(node: string, name: string, only?: ReadonlySet<string>): Promise<EndpointDetail> {
    const detail = await this.ami.pjsip(node).showEndpoint(name, only);
    if (!detail) throw new EndpointNotFoundError(node, name);
    return detail;
  }

  /** With `only`, each AOR keeps just those (normalised) keys. */
  aors(node: string, only?: ReadonlySet<string>): Promise<PjsipObject[]> {
    return this.ami.pjsip(node).showList('aors', only);
  }

  /** Username, realm, auth type …; `Password`, `Md5Cred` and the like are dropped at parse time. */
  auths(node: string): Promise<PjsipObject[]> {
    return this.ami.pjsip(node).showList('auths');
  }

  /** Dynamic (registered) contacts only; with `only`, each keeps just those (normalised) keys. */
  contacts(node: string, only?: ReadonlySet<string>): Promise<PjsipObject[]> {
    return this.ami.pjsip(node).showList('contacts', only);
  }

  registrationsInbound(node: string): Promise<PjsipObject[]> {
    return this.ami.pjsip(node).showList('registrationsInbound');
  }

  /** Outbound registrations (trunks) with their status, for the diagnosis. */
  outboundRegistrations(node: string): Promise<OutboundRegistrationRecord[]> {
    return this.ami.pjsip(node).outboundRegistrations();
  }

  transports(node: string): Promise<TransportRow[]> {
    return this.ami.pjsip(node).transports();
  }

  http(node: string): Promise<HttpStatus> {
    return this.ami.pjsip(node).httpStatus();
  }

  /** Context names of the running dialplan. */
  contexts(node: string): Promise<string[]> {
    return this.ami.pjsip(node).dialplanContexts();
  }

  /** Transports of pjsip.conf as written (not as running); `null` when GetConfig fails (realtime, no file). */
  configuredTransports(node: string): Promise<ConfiguredTransport[] | null> {
    return this.ami.pjsip(node).configuredTransports();
  }

  /** Status of one module (`res_srtp`), via `module show like`. */
  async module(node: string, name: string, neededFor: string[] = []): Promise<ModuleStatus> {
    const rows = (await this.ami.pjsip(node).moduleRows(name)).filter((r) =>
      name.startsWith('codec_') ? r.name.startsWith(name) : r.name === `${name}.so`,
    );
    const running = rows.some((r) => r.running);
    return {
      module: name,
      state: running ? 'running' : rows.length ? 'not_running' : 'not_loaded',
      running,
      rows,
      neededFor,
    };
  }

  /** The WebRTC modules and the codec modules of every codec some endpoint allows. */
  async modules(node: string, details?: EndpointDetail[]): Promise<ModuleStatus[]> {
    const all = details ?? (await this.allEndpointDetails(node));
    const wanted = new Map<string, string[]>(WEBRTC_MODULES.map((m) => [m, ['webrtc']]));
    for (const d of all) {
      for (const codec of parseAllow(str(d.endpoint, 'allow'))) {
        const mod = CODEC_MODULES[codec];
        if (!mod) continue;
        const why = wanted.get(mod) ?? [];
        if (!why.includes(`codec:${codec}`)) why.push(`codec:${codec}`);
        wanted.set(mod, why);
      }
    }
    const out: ModuleStatus[] = [];
    for (const [mod, why] of wanted) out.push(await this.module(node, mod, why));
    return out;
  }

  /**
   * `PJSIPShowEndpoint` of every endpoint, `DETAIL_CONCURRENCY` in flight on the node's one AMI session:
   * Asterisk answers a session's actions one after the other, so more in flight only hides the round
   * trips (10k endpoints: 2.9 s one at a time, 2.0 s with 8) while a Ping or a reload queued behind them
   * waits for at most 8 answers. With `only`, each object keeps just those keys.
   */
  async allEndpointDetails(node: string, only?: ReadonlySet<string>): Promise<EndpointDetail[]> {
    const names = (await this.ami.pjsip(node).endpoints()).map((ep) => ep.name);
    const details = await mapConcurrent(names, DETAIL_CONCURRENCY, (name) =>
      this.endpoint(node, name, only).catch((err: unknown) => {
        // Removed by a reload between the two actions.
        if (err instanceof EndpointNotFoundError) return undefined;
        throw err;
      }),
    );
    return details.filter((d): d is EndpointDetail => d !== undefined);
  }

  /** Output lines of a CLI command run through the AMI `Command` action. */
  command(node: string, cli: string): Promise<string[]> {
    return this.ami.pjsip(node).command(cli);
  }
}
