import { BadRequestError, NodeNotFoundError } from '../common/errors';
import type { PbxpulseConfig } from '../config/config.types';
import { EventBus } from '../events/event-bus';
import type { ChannelSnapshot } from '../events/pbx-events';
import { CallStore } from '../state/calls/call.store';
import { NodeStateStore } from '../state/node-state.store';
import { CallsController, RECENT_DEFAULT_LIMIT } from './calls.controller';

function setup() {
  const config = { nodes: [{ name: 'pbx1' }] } as unknown as PbxpulseConfig;
  const bus = new EventBus();
  const store = new CallStore(config, bus);
  const controller = new CallsController(new NodeStateStore(config, bus), store);
  const call = (i: number, end: boolean) => {
    const channel: ChannelSnapshot = {
      uniqueid: `5.${i}`,
      linkedid: `5.${i}`,
      name: `PJSIP/2002-0000000${i % 10}`,
      state: 'up',
    };
    bus.publish({ type: 'channel.created', node: 'pbx1', ts: 1000 + i, source: 'ami', channel });
    if (end) {
      bus.publish({
        type: 'channel.hung_up',
        node: 'pbx1',
        ts: 2000 + i,
        source: 'ami',
        channel,
        cause: 16,
        causeText: 'Normal Clearing',
      });
    }
  };
  return { controller, call };
}

describe('CallsController', () => {
  it('GET /calls lists the active calls with their channels', () => {
    const { controller, call } = setup();
    call(1, false);
    expect(controller.active('pbx1')).toEqual({
      calls: [
        expect.objectContaining({
          linkedid: '5.1',
          node: 'pbx1',
          state: 'up',
          startedAt: new Date(1001).toISOString(),
          answeredAt: new Date(1001).toISOString(),
          channels: [expect.objectContaining({ uniqueid: '5.1', endpoint: '2002' })],
        }),
      ],
    });
  });

  it('GET /calls/recent: newest first, default limit, ?limit=', () => {
    const { controller, call } = setup();
    for (let i = 0; i < RECENT_DEFAULT_LIMIT + 5; i++) call(i, true);
    const all = controller.recent('pbx1').calls;
    expect(all).toHaveLength(RECENT_DEFAULT_LIMIT);
    expect(all[0]).toMatchObject({
      linkedid: `5.${RECENT_DEFAULT_LIMIT + 4}`,
      classification: 'normal',
      cause: 16,
      causeText: 'Normal Clearing',
      durationMs: 1000,
      endedBy: 'hangup',
    });
    expect(controller.recent('pbx1', '2').calls.map((c) => c.linkedid)).toEqual([
      `5.${RECENT_DEFAULT_LIMIT + 4}`,
      `5.${RECENT_DEFAULT_LIMIT + 3}`,
    ]);
  });

  it.each(['0', '-1', 'abc', '1.5', '201', '100000', ''])(
    'a bad ?limit=%s is a 400 naming limit',
    (limit) => {
      const { controller } = setup();
      expect(() => controller.recent('pbx1', limit)).toThrow(BadRequestError);
      expect(() => controller.recent('pbx1', limit)).toThrow(/limit/);
    },
  );

  it('a repeated ?limit= is a 400 too', () => {
    const { controller } = setup();
    expect(() => controller.recent('pbx1', ['1', '2'])).toThrow(BadRequestError);
  });

  it('an unknown node is a 404', () => {
    const { controller } = setup();
    expect(() => controller.active('nope')).toThrow(NodeNotFoundError);
    expect(() => controller.recent('nope')).toThrow(NodeNotFoundError);
  });
});
