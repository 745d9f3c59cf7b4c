import type {
  AorView,
  ContactView,
  EndpointView,
  RegistrationReader,
} from '../../state/registrations/registration.views';

export interface FakeEndpoint {
  name: string;
  aors?: string[];
  auths?: string[];
  authUsernames?: string[];
}

export interface FakeAor {
  name: string;
  maxContacts?: number;
  removeExisting?: boolean;
  qualifyFrequency?: number;
}

/** A small in-memory `RegistrationReader` for unit tests (the real store is the registration module's). */
export class FakeRegistrationReader implements RegistrationReader {
  private readonly endpointsByNode = new Map<string, Map<string, EndpointView>>();
  private readonly aorsByNode = new Map<string, Map<string, AorView>>();
  private readonly contactsByNode = new Map<string, ContactView[]>();

  addEndpoint(node: string, e: FakeEndpoint): this {
    const view: EndpointView = {
      name: e.name,
      aors: e.aors ?? [e.name],
      auths: e.auths ?? [`${e.name}-auth`],
      authUsernames: e.authUsernames ?? [e.name],
      transport: null,
      context: 'internal',
      deviceState: 'UNAVAILABLE',
      reachable: null,
      registered: false,
      contacts: 0,
    };
    this.mapOf(this.endpointsByNode, node).set(e.name, view);
    return this;
  }

  addAor(node: string, a: FakeAor): this {
    this.mapOf(this.aorsByNode, node).set(a.name, {
      name: a.name,
      maxContacts: a.maxContacts ?? 1,
      removeExisting: a.removeExisting ?? true,
      qualifyFrequency: a.qualifyFrequency ?? 0,
      contacts: 0,
      endpoints: [],
    });
    return this;
  }

  /** An endpoint with its AOR named like it (the correct shape). */
  addSimple(node: string, name: string): this {
    return this.addEndpoint(node, { name }).addAor(node, { name });
  }

  addContact(node: string, c: Partial<ContactView> & { endpoint: string }): this {
    const list = this.contactsByNode.get(node) ?? [];
    list.push({
      aor: c.aor ?? c.endpoint,
      endpoint: c.endpoint,
      uri: c.uri ?? `sip:${c.endpoint}@192.0.2.1:5060`,
      status: c.status ?? 'reachable',
      rttUsec: c.rttUsec ?? null,
      userAgent: c.userAgent ?? null,
      expiresAt: c.expiresAt ?? null,
      viaAddress: c.viaAddress ?? null,
      transport: c.transport ?? 'udp',
      callId: c.callId ?? null,
    });
    this.contactsByNode.set(node, list);
    return this;
  }

  endpoints(node: string): EndpointView[] {
    return [...(this.endpointsByNode.get(node)?.values() ?? [])];
  }

  endpoint(node: string, name: string): EndpointView | undefined {
    return this.endpointsByNode.get(node)?.get(name);
  }

  aors(node: string): AorView[] {
    return [...(this.aorsByNode.get(node)?.values() ?? [])];
  }

  aor(node: string, name: string): AorView | undefined {
    return this.aorsByNode.get(node)?.get(name);
  }

  contacts(node: string, endpoint?: string): ContactView[] {
    const all = this.contactsByNode.get(node) ?? [];
    return endpoint === undefined ? all : all.filter((c) => c.endpoint === endpoint);
  }

  isKnownEndpoint(node: string, name: string): boolean {
    return this.endpointsByNode.get(node)?.has(name) ?? false;
  }

  private mapOf<V>(maps: Map<string, Map<string, V>>, node: string): Map<string, V> {
    let m = maps.get(node);
    if (!m) {
      m = new Map();
      maps.set(node, m);
    }
    return m;
  }
}

/** A controllable clock for detectors. */
export class FakeClock {
  constructor(public ms = Date.parse('2026-11-23T12:00:00.000Z')) {}
  readonly now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}
