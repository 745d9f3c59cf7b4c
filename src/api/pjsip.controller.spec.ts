import { NodeNotFoundError } from '../common/errors';
import type { PjsipShowService } from '../health/pjsip/pjsip-show.service';
import type { NodeStateStore } from '../state/node-state.store';
import type { OutboundRegistrationStore } from '../state/trunks/outbound-registration.store';
import type { TrunkStore } from '../state/trunks/trunk.store';
import { PjsipController } from './pjsip.controller';

describe('PjsipController', () => {
  const nodes = { has: (n: string) => n === 'pbx1' } as unknown as NodeStateStore;
  const pjsip = {
    auths: jest.fn(() => Promise.resolve([{ objectName: '1001-auth', username: '1001' }])),
    endpoint: jest.fn(() => Promise.resolve({ endpoint: { objectName: '1001' } })),
    http: jest.fn(),
  };
  const outbound = { registrations: jest.fn(() => []) };
  const trunks = { trunks: jest.fn(() => []) };
  const controller = new PjsipController(
    nodes,
    pjsip as unknown as PjsipShowService,
    outbound as unknown as OutboundRegistrationStore,
    trunks as unknown as TrunkStore,
  );

  it('wraps lists in a named key', async () => {
    await expect(controller.auths('pbx1')).resolves.toEqual({
      auths: [{ objectName: '1001-auth', username: '1001' }],
    });
  });

  it('passes the endpoint name through', async () => {
    await controller.endpoint('pbx1', '1001');
    expect(pjsip.endpoint).toHaveBeenCalledWith('pbx1', '1001');
  });

  it('lists outbound registrations from the live store, not from Asterisk', () => {
    expect(controller.outbound('pbx1')).toEqual({ registrations: [] });
    expect(outbound.registrations).toHaveBeenCalledWith('pbx1');
    expect(() => controller.outbound('nope')).toThrow(NodeNotFoundError);
  });

  it('lists trunks from the live store', () => {
    expect(controller.trunks('pbx1')).toEqual({ trunks: [] });
    expect(trunks.trunks).toHaveBeenCalledWith('pbx1');
    expect(() => controller.trunks('nope')).toThrow(NodeNotFoundError);
  });

  it('rejects an unknown node before asking Asterisk', async () => {
    expect(() => controller.http('nope')).toThrow(NodeNotFoundError);
    await expect(controller.auths('nope')).rejects.toBeInstanceOf(NodeNotFoundError);
    expect(pjsip.http).not.toHaveBeenCalled();
  });
});
