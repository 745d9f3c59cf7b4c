import { offlineConfig } from '../../test/support/daemon';
import { EventBus } from '../events/event-bus';
import { AriService } from './ari.service';

describe('AriService app names', () => {
  it('gives two daemons of one process different ARI apps: a shared name makes each replace the other', () => {
    const config = offlineConfig({ nodes: ['a', 'b'] });
    const service = () => new AriService(config, new EventBus());
    const first = service();
    const second = service();
    const apps = [first, second].flatMap((s) => [s.connection('a').app, s.connection('b').app]);
    expect(new Set(apps).size).toBe(4);
    for (const app of apps)
      expect(app).toMatch(new RegExp(`^pbxpulse-[ab]-[A-Za-z0-9_-]+-${process.pid}-[0-9a-f]{6}$`));
  });
});
