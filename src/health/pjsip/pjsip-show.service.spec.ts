import type { AmiService } from '../../ami/ami.service';
import type { PjsipEndpointObjects } from '../../common/pbx.records';
import { DETAIL_CONCURRENCY, PjsipShowService } from './pjsip-show.service';

/** An AmiService double whose `showEndpoint` answers when the test releases it. */
function fakeAmi(names: string[], gone: Set<string> = new Set()) {
  const waiting: Array<() => void> = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const onlySeen = new Set<ReadonlySet<string> | undefined>();
  const pjsip = {
    endpoints: () => Promise.resolve(names.map((name) => ({ name }))),
    showEndpoint: (name: string, only?: ReadonlySet<string>): Promise<PjsipEndpointObjects | undefined> => {
      onlySeen.add(only);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      return new Promise((resolve) =>
        waiting.push(() => {
          inFlight--;
          resolve(
            gone.has(name)
              ? undefined
              : {
                  endpoint: { objectName: name },
                  auths: [],
                  aors: [],
                  transports: [],
                  contacts: [],
                  identifies: [],
                },
          );
        }),
      );
    },
  };
  return {
    ami: { pjsip: () => pjsip } as unknown as AmiService,
    waiting,
    maxInFlight: () => maxInFlight,
    onlySeen,
  };
}

const flush = async (): Promise<void> => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

describe('PjsipShowService.allEndpointDetails', () => {
  it(`reads ${DETAIL_CONCURRENCY} endpoints at a time, in list order, skipping one removed meanwhile, keeping the keys asked for`, async () => {
    const names = Array.from({ length: 30 }, (_, i) => String(7000 + i));
    const fake = fakeAmi(names, new Set(['7003']));
    const only = new Set(['objectName', 'context']);
    const all = new PjsipShowService(fake.ami).allEndpointDetails('pbx1', only);
    await flush();
    // Pipelined, but bounded: never all 30 at once.
    expect(fake.waiting).toHaveLength(DETAIL_CONCURRENCY);
    // Release them out of order (last first), as answers to different actions may come.
    while (fake.waiting.length) {
      fake.waiting.pop()?.();
      await flush();
    }
    const details = await all;
    expect(fake.maxInFlight()).toBe(DETAIL_CONCURRENCY);
    expect(details.map((d) => d.endpoint.objectName)).toEqual(names.filter((n) => n !== '7003'));
    // The key filter reaches every read.
    expect([...fake.onlySeen]).toEqual([only]);
  });
});
