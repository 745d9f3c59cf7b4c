import { NotConnectedError } from '../common/errors';
import { mapSliced } from '../common/slices';
import type {
  AorRecord,
  AuthRecord,
  ConfiguredTransport,
  ContactRecord,
  EndpointDetailRecord,
  EndpointRecord,
  HttpStatus,
  ListedChannel,
  ModuleRow,
  OutboundRegistrationRecord,
  PjsipEndpointObjects,
  PjsipListKind,
  PjsipObject,
  RegistrationCliRow,
  TransportRow,
} from '../common/pbx.records';
import type { AmiActionFields, AmiConnection, AmiListResult } from './ami.connection';
import { AmiActionError, AmiConnectionClosedError } from './ami.errors';
import { amiValues, type AmiMessage } from './ami.message';
import {
  normaliseObject,
  parseConfiguredTransports,
  parseDialplanContexts,
  parseHttpStatus,
  parseModuleShowLike,
  parseRegistrationRows,
  parseTransports,
} from './ami.pjsip-parse';
import {
  aorRecord,
  authRecord,
  contactRecord,
  endpointDetailRecord,
  endpointRecord,
  listedFromCoreShowChannel,
  outboundRegistrationRecords,
} from './ami.pjsip-records';

/** What the query surface needs of a node's AMI link (`AmiConnection` has it; unit tests pass a fake). */
export type AmiActionLink = Pick<AmiConnection, 'isUp' | 'action' | 'listAction'>;

const LIST_ACTIONS: Readonly<Record<PjsipListKind, string>> = {
  endpoints: 'PJSIPShowEndpoints',
  aors: 'PJSIPShowAors',
  auths: 'PJSIPShowAuths',
  contacts: 'PJSIPShowContacts',
  registrationsInbound: 'PJSIPShowRegistrationsInbound',
};

/** GetConfig `Filter` of the sections with `type=transport`: POSIX regexes, unanchored unless told. */
export const TRANSPORT_SECTIONS = '^type$=^transport$';

/**
 * Several PJSIP list actions answer `Response: Error` instead of an empty list: "No endpoints found",
 * "No AORs found", "No Contacts found", and "Unable to retrieve endpoint X" once X is gone. Those read as
 * empty. Any other Error ("Permission denied": the AMI user lacks a read class) must not read as "nothing
 * configured", or a reconciliation would wipe the state and a diagnosis would report a bare PBX.
 */
const MEANS_EMPTY = /^(no .* found|unable to retrieve)/i;

/**
 * The typed query and command surface of one node's AMI link: PJSIP lists and details, channels, a few
 * read-only CLI commands, reload and qualify. Answers domain records (`src/common/pbx.records.ts`),
 * never a frame. A link that is down (or drops mid-action) fails with `NotConnectedError`; an Error that
 * does not mean "empty" fails with `AmiActionError`.
 */
export class AmiPjsip {
  constructor(
    readonly node: string,
    private readonly link: AmiActionLink,
  ) {}

  get isUp(): boolean {
    return this.link.isUp;
  }

  // ------------------------------------------------------------------------ registration records

  async endpoints(): Promise<EndpointRecord[]> {
    return this.listRecords('PJSIPShowEndpoints', endpointRecord);
  }

  async aors(): Promise<AorRecord[]> {
    return this.listRecords('PJSIPShowAors', aorRecord);
  }

  /** Identity only: passwords and MD5 credentials are never read. */
  async auths(): Promise<AuthRecord[]> {
    return this.listRecords('PJSIPShowAuths', authRecord);
  }

  /** Every registered contact with its status, RTT, user agent and expiry. */
  async contacts(): Promise<ContactRecord[]> {
    return this.listRecords('PJSIPShowRegistrationInboundContactStatuses', contactRecord);
  }

  /** Context, transport protocol and contacts of one endpoint; all empty for an endpoint that is gone. */
  async endpointDetail(name: string): Promise<EndpointDetailRecord> {
    return endpointDetailRecord(await this.listItems('PJSIPShowEndpoint', { Endpoint: name }));
  }

  /**
   * Every `type=registration` section with its status (`PJSIPShowRegistrationsOutbound`, class system
   * or reporting). Operator-configured objects: a handful per node, so the whole answer is kept.
   */
  async outboundRegistrations(): Promise<OutboundRegistrationRecord[]> {
    return outboundRegistrationRecords(await this.listItems('PJSIPShowRegistrationsOutbound'));
  }

  /** `pjsip show registrations`: status and the time of the next REGISTER of each registration. */
  async registrationSchedule(): Promise<RegistrationCliRow[]> {
    return parseRegistrationRows(await this.command('pjsip show registrations'));
  }

  // ------------------------------------------------------------------------ `pjsip show …`

  /**
   * A PJSIP list as normalised objects (secrets dropped; with `only`, just those keys), normalised in
   * slices: the AOR list of a 10k-endpoint node is ~200k values.
   */
  async showList(kind: PjsipListKind, only?: ReadonlySet<string>): Promise<PjsipObject[]> {
    return mapSliced(await this.listItems(LIST_ACTIONS[kind]), (m) => normaliseObject(m.fields, only));
  }

  /**
   * `pjsip show endpoint <name>`; `undefined` when there is no such endpoint. With `only`, every object
   * keeps just those keys (see `normaliseObject`).
   */
  async showEndpoint(name: string, only?: ReadonlySet<string>): Promise<PjsipEndpointObjects | undefined> {
    let items: readonly AmiMessage[];
    try {
      items = (
        await this.run('PJSIPShowEndpoint', () =>
          this.link.listAction('PJSIPShowEndpoint', { Endpoint: name }),
        )
      ).items;
    } catch (err) {
      if (!(err instanceof AmiActionError)) throw err;
      // An endpoint that names a missing transport: Asterisk sends its EndpointDetail, then fails with
      // "Unable to retrieve transport …". Keep what came: that is exactly what TRANSPORT_MISSING needs.
      if (err.partialItems.some((m) => m.fields.Event === 'EndpointDetail')) items = err.partialItems;
      else if (MEANS_EMPTY.test(err.asteriskMessage.trim())) return undefined;
      else throw err;
    }
    const by = (event: string): PjsipObject[] =>
      items.filter((m) => m.fields.Event === event).map((m) => normaliseObject(m.fields, only));
    const endpoint = by('EndpointDetail')[0];
    if (!endpoint) return undefined;
    return {
      endpoint,
      auths: by('AuthDetail'),
      aors: by('AorDetail'),
      transports: by('TransportDetail'),
      contacts: by('ContactStatusDetail'),
      identifies: by('IdentifyDetail'),
    };
  }

  async transports(): Promise<TransportRow[]> {
    return parseTransports(await this.command('pjsip show transports'));
  }

  async httpStatus(): Promise<HttpStatus> {
    return parseHttpStatus(await this.command('http show status'));
  }

  /** Context names of the running dialplan. */
  async dialplanContexts(): Promise<string[]> {
    return parseDialplanContexts(await this.command('dialplan show'));
  }

  /**
   * Transports of pjsip.conf as written (not as running); `null` when GetConfig fails (realtime, no file).
   * Asterisk filters the sections (`Filter: name_regex=value_regex`, matched against each variable,
   * templates left out): the whole file of a 10k-endpoint node is one answer of several MB, over the
   * frame limit, while its transports are a few hundred bytes.
   */
  async configuredTransports(): Promise<ConfiguredTransport[] | null> {
    try {
      const msg = await this.run('GetConfig', () =>
        this.link.action('GetConfig', { Filename: 'pjsip.conf', Filter: TRANSPORT_SECTIONS }),
      );
      return parseConfiguredTransports(msg.fields);
    } catch (err) {
      if (err instanceof AmiActionError) return null;
      throw err;
    }
  }

  /** Rows of `module show like <name>`. */
  async moduleRows(name: string): Promise<ModuleRow[]> {
    return parseModuleShowLike(await this.command(`module show like ${name}`));
  }

  /** Output lines of a CLI command run through the AMI `Command` action. */
  async command(cli: string): Promise<string[]> {
    const msg = await this.run('Command', () => this.link.action('Command', { Command: cli }));
    return amiValues(msg, 'Output');
  }

  // ------------------------------------------------------------------------ channels, identity

  /**
   * Every channel, with linkedid, bridge and creation time (`CoreShowChannels`; it answers an empty list,
   * not an Error, when there are none). `now` dates the creation times (the list says "up for HH:MM:SS").
   */
  async channels(now: number): Promise<ListedChannel[]> {
    const list = await this.run('CoreShowChannels', () => this.link.listAction('CoreShowChannels'));
    return list.items.flatMap((m) => {
      const item = listedFromCoreShowChannel(m, now);
      return item ? [item] : [];
    });
  }

  /** `AsteriskVersion` of `CoreSettings`; undefined when it does not say. */
  async version(): Promise<string | undefined> {
    const settings = await this.run('CoreSettings', () => this.link.action('CoreSettings'));
    return settings.fields.AsteriskVersion || undefined;
  }

  // ------------------------------------------------------------------------ commands

  /** `Reload Module: <module>`; Asterisk's refusal is an `AmiActionError` carrying its message. */
  async reload(module: string): Promise<void> {
    await this.run('Reload', () => this.link.action('Reload', { Module: module }));
  }

  /**
   * Only events matching `regex` reach this session from now on (`Filter`, class `system` write).
   * Answers of our own actions, list items included, are not events and are never filtered.
   */
  async filterEvents(regex: string): Promise<void> {
    await this.run('Filter', () => this.link.action('Filter', { Operation: 'Add', Filter: regex }));
  }

  /** `PJSIPQualify` of one endpoint's contacts; `unknown_endpoint` when Asterisk has no such endpoint. */
  async qualify(endpoint: string): Promise<'qualified' | 'unknown_endpoint'> {
    try {
      await this.run('PJSIPQualify', () => this.link.action('PJSIPQualify', { Endpoint: endpoint }));
      return 'qualified';
    } catch (err) {
      if (err instanceof AmiActionError && /unable to retrieve endpoint/i.test(err.asteriskMessage))
        return 'unknown_endpoint';
      throw err;
    }
  }

  // ------------------------------------------------------------------------ plumbing

  /** The items of a list action, with the "means empty" rule above. */
  private async listItems(action: string, fields: AmiActionFields = {}): Promise<AmiMessage[]> {
    return this.checked(
      action,
      await this.run(action, () => this.link.listAction(action, fields, { errorMeansEmpty: true })),
    );
  }

  /** A big list (one item per endpoint, AOR, contact …) built into records as its items arrive. */
  private async listRecords<T>(action: string, item: (msg: AmiMessage) => T | undefined): Promise<T[]> {
    return this.checked(
      action,
      await this.run(action, () => this.link.listAction(action, {}, { errorMeansEmpty: true, item })),
    );
  }

  private checked<T>(action: string, result: AmiListResult<T>): T[] {
    const f = result.response.fields;
    if (!result.complete && f.Response === 'Error') {
      const message = f.Message ?? '';
      if (!MEANS_EMPTY.test(message.trim())) throw new AmiActionError(action, message);
    }
    return result.items;
  }

  private async run<T>(action: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (err) {
      if (err instanceof AmiConnectionClosedError) {
        throw new NotConnectedError(`node '${this.node}': AMI is not connected (${err.message})`);
      }
      throw err;
    }
  }
}
