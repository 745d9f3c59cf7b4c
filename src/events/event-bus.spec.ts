import { EventBus } from './event-bus';
import type { PbxEvent } from './pbx-events';

const booted: PbxEvent = { type: 'node.booted', node: 'n', ts: 1, source: 'ami' };
const reloaded: PbxEvent = {
  type: 'module.reloaded',
  node: 'n',
  ts: 2,
  source: 'ami',
  module: 'res_pjsip.so',
  status: '2',
};

describe('EventBus', () => {
  it('isolates a throwing consumer: the others still get the event', () => {
    const bus = new EventBus();
    const got: string[] = [];
    bus.subscribe(() => {
      throw new Error('boom');
    });
    bus.subscribe((e) => got.push(e.type));
    expect(() => bus.publish(booted)).not.toThrow();
    expect(got).toEqual(['node.booted']);
    expect(bus.consumerFailures).toBe(1);
  });

  it('filters by type with on(), and unsubscribes', () => {
    const bus = new EventBus();
    const got: string[] = [];
    const off = bus.on('module.reloaded', (e) => got.push(e.module));
    bus.publish(booted);
    bus.publish(reloaded);
    off();
    bus.publish(reloaded);
    expect(got).toEqual(['res_pjsip.so']);
  });
});
