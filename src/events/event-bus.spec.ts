import { Logger } from '@nestjs/common';
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
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation();
    const bus = new EventBus();
    const got: string[] = [];
    bus.subscribe(() => {
      throw new Error('boom');
    });
    bus.subscribe((e) => got.push(e.type));
    expect(() => bus.publish(booted)).not.toThrow();
    expect(got).toEqual(['node.booted']);
    expect(bus.consumerFailures).toBe(1);
    expect(logged).toHaveBeenCalledWith(
      'consumer failed on node.booted (node n): boom',
      expect.stringContaining('Error: boom'),
    );
    logged.mockRestore();
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

describe('EventBus ordering', () => {
  const derived: PbxEvent = { type: 'node.shutdown', node: 'n', ts: 3, source: 'daemon', restart: false };

  it('delivers an event published during a dispatch after the current one reached every consumer', () => {
    const bus = new EventBus();
    const seen: string[] = [];
    bus.subscribe((e) => {
      seen.push(`first:${e.type}`);
      if (e.type === 'node.booted') bus.publish(derived);
    });
    bus.subscribe((e) => seen.push(`second:${e.type}`));
    bus.subscribe((e) => seen.push(`third:${e.type}`));
    bus.publish(booted);
    expect(seen).toEqual([
      'first:node.booted',
      'second:node.booted',
      'third:node.booted',
      'first:node.shutdown',
      'second:node.shutdown',
      'third:node.shutdown',
    ]);
  });

  it('queues nested publishes FIFO, and publish returns once they are all delivered', () => {
    const bus = new EventBus();
    const seen: number[] = [];
    bus.subscribe((e) => {
      seen.push(e.ts);
      if (e.ts === 1) {
        bus.publish({ ...booted, ts: 2 });
        bus.publish({ ...booted, ts: 3 });
      }
      if (e.ts === 2) bus.publish({ ...booted, ts: 4 });
    });
    bus.publish({ ...booted, ts: 1 });
    expect(seen).toEqual([1, 2, 3, 4]);
  });

  it('a consumer that throws while others publish does not stall the queue', () => {
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation();
    const bus = new EventBus();
    const seen: string[] = [];
    bus.subscribe((e) => {
      if (e.type === 'node.booted') bus.publish(derived);
      throw new Error('boom');
    });
    bus.subscribe((e) => seen.push(e.type));
    bus.publish(booted);
    bus.publish(reloaded);
    expect(seen).toEqual(['node.booted', 'node.shutdown', 'module.reloaded']);
    expect(bus.consumerFailures).toBe(3);
    expect(logged).toHaveBeenCalledTimes(3);
    logged.mockRestore();
  });

  it('runs state-phase handlers before read-phase ones, whatever the subscription order', () => {
    const bus = new EventBus();
    const seen: string[] = [];
    bus.subscribe(() => seen.push('reader 1'));
    bus.on('node.booted', () => seen.push('reader 2'), { phase: 'read' });
    bus.on('node.booted', () => seen.push('store 1'), { phase: 'state' });
    bus.subscribe(() => seen.push('store 2'), { phase: 'state' });
    bus.publish(booted);
    expect(seen).toEqual(['store 1', 'store 2', 'reader 1', 'reader 2']);
  });

  it('unsubscribes from either phase', () => {
    const bus = new EventBus();
    const seen: string[] = [];
    const offStore = bus.subscribe(() => seen.push('store'), { phase: 'state' });
    const offReader = bus.on('node.booted', () => seen.push('reader'));
    offStore();
    bus.publish(booted);
    offReader();
    bus.publish(booted);
    expect(seen).toEqual(['reader']);
  });
});
