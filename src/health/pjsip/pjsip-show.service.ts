import { Injectable } from '@nestjs/common';
import { AmiActionError, AmiConnectionClosedError } from '../../ami/ami.errors';
import { amiValues, type AmiMessage } from '../../ami/ami.message';
import { AmiService } from '../../ami/ami.service';
import { NotConnectedError } from '../../common/errors';
import { EndpointNotFoundError } from '../../state/registrations/registration.errors';
import {
  type ConfiguredTransport,
  type HttpStatus,
  type ModuleRow,
  type ModuleState,
  type PjsipObject,
  type TransportRow,
  CODEC_MODULES,
  normaliseObject,
  parseAllow,
  parseConfiguredTransports,
  parseDialplanContexts,
  parseHttpStatus,
  parseModuleShowLike,
  parseTransports,
  str,
} from './pjsip.parse';

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

/** `PJSIPShowEndpoint`: the endpoint's options and the objects Asterisk lists with it. */
export interface EndpointDetail {
  endpoint: PjsipObject;
  auths: PjsipObject[];
  aors: PjsipObject[];
  transports: PjsipObject[];
  contacts: PjsipObject[];
  identifies: PjsipObject[];
}

/**
 * `pjsip show …` equivalents over AMI, normalised and without secrets. A node whose AMI link is down
 * answers `NotConnectedError` (503); an unknown node `NodeNotFoundError` (404).
 */
@Injectable()
export class PjsipShowService {
  constructor(private readonly ami: AmiService) {}

  async endpoints(node: string): Promise<PjsipObject[]> {
    // PJSIPShowEndpoints answers Error "No endpoints found" instead of an empty list.
    return this.items(node, 'PJSIPShowEndpoints', {}, true);
  }

  async endpoint(node: string, name: string): Promise<EndpointDetail> {
    let items: AmiMessage[];
    try {
      items = (
        await this.conn(node, () =>
          this.ami.connection(node).listAction('PJSIPShowEndpoint', { Endpoint: name }),
        )
      ).items;
    } catch (err) {
      if (!(err instanceof AmiActionError)) throw err;
      // An endpoint that names a missing transport: Asterisk sends its EndpointDetail, then fails with
      // "Unable to retrieve transport …". Keep what came: that is exactly what TRANSPORT_MISSING needs.
      if (err.partialItems.some((m) => m.fields.Event === 'EndpointDetail')) items = [...err.partialItems];
      // "Unable to retrieve endpoint <name>"
      else throw new EndpointNotFoundError(node, name);
    }
    const by = (event: string): PjsipObject[] =>
      items.filter((m) => m.fields.Event === event).map((m) => normaliseObject(m.fields));
    const endpoint = by('EndpointDetail')[0];
    if (!endpoint) throw new EndpointNotFoundError(node, name);
    return {
      endpoint,
      auths: by('AuthDetail'),
      aors: by('AorDetail'),
      transports: by('TransportDetail'),
      contacts: by('ContactStatusDetail'),
      identifies: by('IdentifyDetail'),
    };
  }

  aors(node: string): Promise<PjsipObject[]> {
    return this.items(node, 'PJSIPShowAors', {}, true);
  }

  /** Username, realm, auth type …; `Password`, `Md5Cred` and the like are dropped at parse time. */
  auths(node: string): Promise<PjsipObject[]> {
    return this.items(node, 'PJSIPShowAuths', {}, true);
  }

  /** Dynamic (registered) contacts only; "No Contacts found" is an empty list. */
  contacts(node: string): Promise<PjsipObject[]> {
    return this.items(node, 'PJSIPShowContacts', {}, true);
  }

  registrationsInbound(node: string): Promise<PjsipObject[]> {
    return this.items(node, 'PJSIPShowRegistrationsInbound', {}, true);
  }

  registrationsOutbound(node: string): Promise<PjsipObject[]> {
    return this.items(node, 'PJSIPShowRegistrationsOutbound', {}, true);
  }

  async transports(node: string): Promise<TransportRow[]> {
    return parseTransports(await this.command(node, 'pjsip show transports'));
  }

  async http(node: string): Promise<HttpStatus> {
    return parseHttpStatus(await this.command(node, 'http show status'));
  }

  /** Context names of the running dialplan. */
  async contexts(node: string): Promise<string[]> {
    return parseDialplanContexts(await this.command(node, 'dialplan show'));
  }

  /** Transports of pjsip.conf as written (not as running); `null` when GetConfig fails (realtime, no file). */
  async configuredTransports(node: string): Promise<ConfiguredTransport[] | null> {
    try {
      const msg = await this.conn(node, () =>
        this.ami.connection(node).action('GetConfig', { Filename: 'pjsip.conf' }),
      );
      return parseConfiguredTransports(msg.fields);
    } catch (err) {
      if (err instanceof AmiActionError) return null;
      throw err;
    }
  }

  /** Status of one module (`res_srtp`), via `module show like`. */
  async module(node: string, name: string, neededFor: string[] = []): Promise<ModuleStatus> {
    const rows = parseModuleShowLike(await this.command(node, `module show like ${name}`)).filter((r) =>
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

  /** `PJSIPShowEndpoint` of every endpoint, one after the other (a node has few hundred at most). */
  async allEndpointDetails(node: string): Promise<EndpointDetail[]> {
    const out: EndpointDetail[] = [];
    for (const ep of await this.endpoints(node)) {
      const name = str(ep, 'objectName');
      try {
        out.push(await this.endpoint(node, name));
      } catch (err) {
        // Removed by a reload between the two actions.
        if (!(err instanceof EndpointNotFoundError)) throw err;
      }
    }
    return out;
  }

  /** Output lines of a CLI command run through the AMI `Command` action. */
  async command(node: string, cli: string): Promise<string[]> {
    const msg = await this.conn(node, () => this.ami.connection(node).action('Command', { Command: cli }));
    return amiValues(msg, 'Output');
  }

  private async items(
    node: string,
    action: string,
    fields: Record<string, string>,
    errorMeansEmpty: boolean,
  ): Promise<PjsipObject[]> {
    const res = await this.conn(node, () =>
      this.ami.connection(node).listAction(action, fields, { errorMeansEmpty }),
    );
    return res.items.map((m) => normaliseObject(m.fields));
  }

  private async conn<T>(node: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (err instanceof AmiConnectionClosedError) {
        throw new NotConnectedError(`node '${node}': AMI is not connected (${err.message})`);
      }
      throw err;
    }
  }
}
