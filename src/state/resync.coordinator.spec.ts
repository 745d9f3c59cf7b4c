import { Logger } from '@nestjs/common';
import { CapturingLogger } from '../../test/support/capturing-logger';
import { EventBus } from '../events/event-bus';
import { ResyncCoordinator } from './resync.coordinator';

describe('ResyncCoordinator', () => {
  afterEach(() => Logger.overrideLogger(false));

  it('says a resync is incomplete, naming the failed step, instead of "resynced"', async () => {
    const logs = new CapturingLogger();
    Logger.overrideLogger(logs);
    const bus = new EventBus();
    const published: string[] = [];
    bus.subscribe((e) => published.push(e.type));
    const coordinator = new ResyncCoordinator(bus);
    coordinator.register('ami', 'channels', () => Promise.resolve({ channels: 3 }));
    coordinator.register('ami', 'registrations', () =>
      Promise.reject(new Error('AMI action PJSIPShowAuths got no response within 10000 ms')),
    );

    await expect(coordinator.resync('pbx1', 'ami')).resolves.toEqual({ channels: 3 });
    const incomplete = logs.lines.filter((l) => l.includes('resync incomplete'));
    expect(incomplete).toHaveLength(1);
    expect(incomplete[0]).toMatch(
      /^warn pbx1: resync incomplete after ami connect in \d+ ms \(3 channels\): 'registrations' failed/,
    );
    expect(logs.lines.some((l) => l.includes('pbx1: resynced after'))).toBe(false);
    expect(published).toEqual(['state.resynced']);

    coordinator.register('ami', 'registrations', () => Promise.resolve({ endpoints: 4 }));
    await coordinator.resync('pbx1', 'ami');
    expect(logs.lines.at(-1)).toMatch(
      /^log pbx1: resynced after ami connect in \d+ ms \(3 channels, 4 endpoints\)/,
    );
  });
});
