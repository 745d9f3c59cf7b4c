/**
 * Drift between pbxpulse's live state (its REST API) and what Asterisk's CLI lists: endpoints
 * (`pjsip list endpoints`), contacts (`pjsip show contacts`), registered endpoints and channels
 * (`core show channels concise`). Used by the restart-under-load test, the soak and the benchmarks.
 */

/** Runs one Asterisk CLI command (`asterisk -rx`) on the PBX under test. */
export type Cli = (cmd: string, timeoutMs?: number) => Promise<string>;

/** `pjsip show contacts`: `Contact:  <aor>/<uri> <hash> <status> <rtt>` lines → `"<aor> <uri>"`. */
export async function cliContacts(cli: Cli): Promise<Set<string>> {
  const text = await cli('pjsip show contacts', 120_000);
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^\s*Contact:\s+([^<\s][^/\s]*)\/(\S+)\s/.exec(line);
    if (m) out.add(`${m[1]} ${m[2]}`);
  }
  return out;
}

/** `pjsip list endpoints`: ` Endpoint:  <name> …` lines. */
export async function cliEndpoints(cli: Cli): Promise<Set<string>> {
  const text = await cli('pjsip list endpoints', 120_000);
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^\s*Endpoint:\s+([^<\s]\S*)/.exec(line);
    if (m) out.add(m[1]);
  }
  return out;
}

/** `core show channels concise`: `!`-separated, the uniqueid last. */
export async function cliChannels(cli: Cli): Promise<Set<string>> {
  const text = await cli('core show channels concise', 60_000);
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const f = line.split('!');
    if (f.length >= 12) out.add(f[f.length - 1].trim());
  }
  return out;
}

export interface Drift {
  asterisk: number;
  pbxpulse: number;
  ghosts: number;
  missing: number;
  /** Up to 5 of each, for the report. */
  examples: { ghosts: string[]; missing: string[] };
}

/**
 * Drift of `daemon` against Asterisk read just before (`before`) and just after (`after`) it: a ghost is
 * in pbxpulse but in neither Asterisk listing, a missing one is in both listings but not in pbxpulse (so
 * what changed while the three were read counts as neither).
 */
export function drift(before: Set<string>, daemon: Set<string>, after: Set<string>): Drift {
  const ghosts = [...daemon].filter((k) => !before.has(k) && !after.has(k));
  const missing = [...before].filter((k) => after.has(k) && !daemon.has(k));
  return {
    asterisk: after.size,
    pbxpulse: daemon.size,
    ghosts: ghosts.length,
    missing: missing.length,
    examples: { ghosts: ghosts.slice(0, 5), missing: missing.slice(0, 5) },
  };
}

interface EndpointView {
  name: string;
  registered: boolean;
  contacts: number;
}
interface ContactView {
  aor: string;
  uri: string;
}
interface CallView {
  channels: { uniqueid: string; endedAt?: string | null }[];
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(60_000) });
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

export async function daemonContacts(url: string, node: string): Promise<Set<string>> {
  const r = await getJson<{ contacts: ContactView[] }>(`${url}/api/v1/nodes/${node}/contacts`);
  return new Set(r.contacts.map((c) => `${c.aor} ${c.uri}`));
}
export async function daemonEndpoints(url: string, node: string): Promise<EndpointView[]> {
  return (await getJson<{ endpoints: EndpointView[] }>(`${url}/api/v1/nodes/${node}/endpoints`)).endpoints;
}
/** Uniqueids of the live channels (a call lists its channels that already hung up with `endedAt`). */
export async function daemonChannels(url: string, node: string): Promise<Set<string>> {
  const r = await getJson<{ calls: CallView[] }>(`${url}/api/v1/nodes/${node}/calls`);
  return new Set(r.calls.flatMap((c) => c.channels.filter((ch) => !ch.endedAt).map((ch) => ch.uniqueid)));
}

export type DriftReport = Record<'endpoints' | 'registered endpoints' | 'contacts' | 'channels', Drift>;

/** One comparison of everything; the Asterisk listings that change are read before and after pbxpulse. */
export async function compareWithCli(cli: Cli, url: string, node: string): Promise<DriftReport> {
  const contactsBefore = await cliContacts(cli);
  const channelsBefore = await cliChannels(cli);
  const endpointsCli = await cliEndpoints(cli);
  const [contactsD, endpointsD, channelsD] = [
    await daemonContacts(url, node),
    await daemonEndpoints(url, node),
    await daemonChannels(url, node),
  ];
  const channelsAfter = await cliChannels(cli);
  const contactsAfter = await cliContacts(cli);
  // Registered endpoints: an endpoint (= its AOR here) with at least one contact in `pjsip show contacts`.
  // (Contacts of AORs that are no endpoint, left in astdb by an earlier configuration, are not.)
  const registered = (contacts: Set<string>) =>
    new Set([...contacts].map((k) => k.split(' ')[0]).filter((aor) => endpointsCli.has(aor)));
  const regBefore = registered(contactsBefore);
  const regAfter = registered(contactsAfter);
  const regD = new Set(endpointsD.filter((e) => e.registered && e.contacts > 0).map((e) => e.name));
  const namesD = new Set(endpointsD.map((e) => e.name));
  return {
    endpoints: drift(endpointsCli, namesD, endpointsCli),
    'registered endpoints': drift(regBefore, regD, regAfter),
    contacts: drift(contactsBefore, contactsD, contactsAfter),
    channels: drift(channelsBefore, channelsD, channelsAfter),
  };
}

/** Total ghosts + missing over every family. */
export function driftTotal(report: DriftReport): number {
  return Object.values(report).reduce((n, d) => n + d.ghosts + d.missing, 0);
}

export function formatDrift(report: DriftReport): string {
  return Object.entries(report)
    .map(
      ([k, d]) =>
        `${k} ${d.pbxpulse}/${d.asterisk} (ghosts ${d.ghosts}${d.ghosts ? ` e.g. ${d.examples.ghosts.join(', ')}` : ''}, ` +
        `missing ${d.missing}${d.missing ? ` e.g. ${d.examples.missing.join(', ')}` : ''})`,
    )
    .join('; ');
}
