import { Logger } from '@nestjs/common';
import type { PbxpulseConfig } from '../config/config.types';
import { EventBus } from '../events/event-bus';
import { NodeStateStore } from '../state/node-state.store';
import { EndpointDetailRegistry } from '../state/registrations/endpoint-detail';
import type {
  ContactView,
  EndpointView,
  RegistrationReader,
} from '../state/registrations/registration.views';
import { RegistrationsController } from './registrations.controller';

function endpoint(name: string, contacts: number): EndpointView {
  return {
    name,
    aors: [name],
    auths: [`${name}-auth`],
    authUsernames: [name],
    transport: 'transport-udp',
    context: 'internal',
    deviceState: contacts > 0 ? 'NOT_INUSE' : 'UNAVAILABLE',
    reachable: contacts > 0,
    registered: contacts > 0,
    contacts,
  };
}

const CONTACT: ContactView = {
  aor: '2002',
  endpoint: '2002',
  uri: 'sip:2002@127.0.0.1:40000',
  status: 'nonqualified',
  rttUsec: null,
  userAgent: 'pbxpulse-test/1',
  expiresAt: null,
  viaAddress: '127.0.0.1:40000',
  transport: 'udp',
  callId: 'c@t',
};

function setup() {
  const config = { nodes: [{ name: 'pbx1' }] } as unknown as PbxpulseConfig;
  const nodes = new NodeStateStore(config, new EventBus());
  const eps = [endpoint('1001', 0), endpoint('2002', 1)];
  const reader: RegistrationReader = {
    endpoints: () => eps,
    endpoint: (_n, name) => eps.find((e) => e.name === name),
    aors: () => [],
    aor: () => undefined,
    contacts: (_n, ep) => (ep === undefined || ep === '2002' ? [CONTACT] : []),
    isKnownEndpoint: (_n, name) => eps.some((e) => e.name === name),
  };
  const details = new EndpointDetailRegistry();
  return { controller: new RegistrationsController(nodes, reader, details), details };
}

describe('RegistrationsController', () => {
  it('lists endpoints, filtered by ?registered=true|false', () => {
    const { controller } = setup();
    expect(controller.endpoints('pbx1').endpoints.map((e) => e.name)).toEqual(['1001', '2002']);
    expect(controller.endpoints('pbx1', 'true').endpoints.map((e) => e.name)).toEqual(['2002']);
    expect(controller.endpoints('pbx1', 'false').endpoints.map((e) => e.name)).toEqual(['1001']);
  });

  it('refuses any other value of registered with a BAD_REQUEST naming the parameter and its values', () => {
    const { controller } = setup();
    for (const bad of ['maybe', 'TRUE', '', ['true', 'false']]) {
      expect(() => controller.endpoints('pbx1', bad)).toThrow(
        expect.objectContaining({
          code: 'BAD_REQUEST',
          message: expect.stringMatching(/'registered'.*'true' or 'false'/),
        }),
      );
    }
  });

  it('unknown node: NODE_NOT_FOUND on every route', async () => {
    const { controller } = setup();
    expect(() => controller.endpoints('nope')).toThrow(expect.objectContaining({ code: 'NODE_NOT_FOUND' }));
    expect(() => controller.contacts('nope')).toThrow(expect.objectContaining({ code: 'NODE_NOT_FOUND' }));
    expect(() => controller.aors('nope')).toThrow(expect.objectContaining({ code: 'NODE_NOT_FOUND' }));
    await expect(controller.endpoint('nope', '2002')).rejects.toMatchObject({ code: 'NODE_NOT_FOUND' });
  });

  it('endpoint detail: endpoint + contacts; unknown endpoint is ENDPOINT_NOT_FOUND', async () => {
    const { controller } = setup();
    expect(await controller.endpoint('pbx1', '2002')).toEqual({
      endpoint: endpoint('2002', 1),
      contacts: [CONTACT],
    });
    await expect(controller.endpoint('pbx1', '9999')).rejects.toMatchObject({
      code: 'ENDPOINT_NOT_FOUND',
      message: "unknown endpoint '9999' on node 'pbx1'",
    });
  });

  it('endpoint detail contributors add keys; reserved keys and failing contributors are left out', async () => {
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation();
    const { controller, details } = setup();
    details.register('loops', (node, name) => ({ authLoop: { node, name } }));
    details.register('sneaky', () => ({ endpoint: 'overwritten?', contacts: [], note: 'kept' }));
    const unregister = details.register('broken', () => {
      throw new Error('boom');
    });
    details.register('async', () => Promise.resolve({ recentAuthEvents: [1, 2] }));
    const body = await controller.endpoint('pbx1', '2002');
    expect(body).toEqual({
      endpoint: endpoint('2002', 1),
      contacts: [CONTACT],
      authLoop: { node: 'pbx1', name: '2002' },
      note: 'kept',
      recentAuthEvents: [1, 2],
    });
    expect(logged).toHaveBeenCalledWith(
      "endpoint detail contributor 'broken' failed: boom",
      expect.stringContaining('Error: boom'),
    );
    logged.mockRestore();
    unregister();
    expect(Object.keys(await controller.endpoint('pbx1', '2002')).sort()).toEqual([
      'authLoop',
      'contacts',
      'endpoint',
      'note',
      'recentAuthEvents',
    ]);
  });

  it('contacts and aors', () => {
    const { controller } = setup();
    expect(controller.contacts('pbx1')).toEqual({ contacts: [CONTACT] });
    expect(controller.aors('pbx1')).toEqual({ aors: [] });
  });
});
