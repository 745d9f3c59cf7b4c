import { Logger } from '@nestjs/common';
import type { PbxEventOf } from '../events/pbx-events';
import {
  ENDPOINT_UPDATE_INTERVAL_MS,
  EndpointUpdateCoalescer,
  endpointChangesOf,
  type EndpointSourceEvent,
} from './endpoint-updates';
import type { EndpointChange } from './gateway.protocol';

const base = { node: 'pbx1', ts: 1, source: 'ami' } as const;
const contact = (
  status: PbxEventOf<'contact.status_changed'>['status'],
  rttUsec?: number,
): EndpointSourceEvent => ({
  ...base,
  type: 'contact.status_changed',
  endpoint: '2001',
  aor: '2001',
  uri: 'sip:2001@192.0.2.1:5060',
  status,
  ...(rttUsec === undefined ? {} : { rttUsec }),
});

describe('endpointChangesOf', () => {
  it.each<[string, EndpointSourceEvent, EndpointChange[]]>([
    [
      'a contact reached by a qualify, with its RTT',
      contact('reachable', 1200),
      ['contacts', 'rtt', 'reachability'],
    ],
    ['a contact reachable without an RTT', contact('reachable'), ['contacts', 'reachability']],
    [
      'a contact gone unreachable (its RTT is gone too)',
      contact('unreachable'),
      ['contacts', 'rtt', 'reachability'],
    ],
    ['a new contact, not qualified', contact('nonqualified'), ['contacts']],
    ['a contact of unknown status', contact('unknown'), ['contacts']],
    ['a removed contact', contact('removed'), ['contacts']],
    [
      'a registration flip',
      {
        ...base,
        source: 'daemon',
        type: 'registration.changed',
        endpoint: '2001',
        registered: true,
        contacts: 1,
      },
      ['contacts'],
    ],
    [
      'an aggregate reachability flip',
      { ...base, type: 'endpoint.reachability_changed', endpoint: '2001', reachable: false },
      ['reachability'],
    ],
    [
      'a device state change',
      { ...base, type: 'device.state_changed', device: 'PJSIP/2001', state: 'INUSE' },
      ['device_state'],
    ],
  ])('%s', (_what, event, changed) => {
    expect(endpointChangesOf(event)).toEqual(changed);
  });
});

describe('EndpointUpdateCoalescer', () => {
  let flushed: Array<[string, string, EndpointChange[]]>;
  let coalescer: EndpointUpdateCoalescer;

  beforeEach(() => {
    jest.useFakeTimers();
    flushed = [];
    coalescer = new EndpointUpdateCoalescer(ENDPOINT_UPDATE_INTERVAL_MS, (node, endpoint, changed) =>
      flushed.push([node, endpoint, changed]),
    );
  });
  afterEach(() => {
    coalescer.stop();
    jest.useRealTimers();
  });

  it('100 RTT updates of one endpoint in one interval: one flush, after the interval', () => {
    for (let i = 0; i < 100; i++) coalescer.mark('pbx1', '2001', ['rtt']);
    expect(coalescer.pending).toBe(1);
    jest.advanceTimersByTime(ENDPOINT_UPDATE_INTERVAL_MS - 1);
    expect(flushed).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(flushed).toEqual([['pbx1', '2001', ['rtt']]]);
    jest.advanceTimersByTime(10 * ENDPOINT_UPDATE_INTERVAL_MS);
    expect(flushed).toHaveLength(1);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('one entry per endpoint and node, with the union of the tags in a fixed order', () => {
    coalescer.mark('pbx1', '2001', ['device_state']);
    coalescer.mark('pbx1', '2002', ['contacts']);
    coalescer.mark('pbx2', '2001', ['reachability']);
    coalescer.mark('pbx1', '2001', ['rtt', 'contacts']);
    coalescer.mark('pbx1', '2001', ['reachability']);
    jest.advanceTimersByTime(ENDPOINT_UPDATE_INTERVAL_MS);
    expect(flushed).toEqual([
      ['pbx1', '2001', ['contacts', 'rtt', 'device_state', 'reachability']],
      ['pbx1', '2002', ['contacts']],
      ['pbx2', '2001', ['reachability']],
    ]);
  });

  it('at most one flush per interval under a steady stream of marks', () => {
    // A mark every 10 ms for one second.
    for (let t = 0; t < 1000; t += 10) {
      coalescer.mark('pbx1', '2001', ['rtt']);
      jest.advanceTimersByTime(10);
    }
    jest.advanceTimersByTime(ENDPOINT_UPDATE_INTERVAL_MS);
    expect(flushed.length).toBeLessThanOrEqual(1000 / ENDPOINT_UPDATE_INTERVAL_MS + 1);
    expect(flushed.length).toBeGreaterThanOrEqual(1000 / ENDPOINT_UPDATE_INTERVAL_MS);
  });

  it('marks without tags change nothing and arm no timer', () => {
    coalescer.mark('pbx1', '2001', []);
    expect(coalescer.pending).toBe(0);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('stop() clears the timer and drops what is pending; later marks are ignored', () => {
    coalescer.mark('pbx1', '2001', ['rtt']);
    expect(jest.getTimerCount()).toBe(1);
    coalescer.stop();
    expect(jest.getTimerCount()).toBe(0);
    coalescer.mark('pbx1', '2002', ['rtt']);
    jest.advanceTimersByTime(ENDPOINT_UPDATE_INTERVAL_MS);
    expect(flushed).toEqual([]);
    expect(coalescer.pending).toBe(0);
  });

  it('an endpoint whose update throws is logged; the others of the batch still go out', () => {
    const errors = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const out: string[] = [];
    const failing = new EndpointUpdateCoalescer(ENDPOINT_UPDATE_INTERVAL_MS, (_node, endpoint) => {
      if (endpoint === 'bad') throw new Error('boom');
      out.push(endpoint);
    });
    failing.mark('pbx1', 'bad', ['rtt']);
    failing.mark('pbx1', '2001', ['rtt']);
    expect(() => jest.advanceTimersByTime(ENDPOINT_UPDATE_INTERVAL_MS)).not.toThrow();
    expect(out).toEqual(['2001']);
    expect(errors).toHaveBeenCalledWith(
      'endpoint update of bad (node pbx1) failed: boom',
      expect.any(String),
    );
    errors.mockRestore();
    failing.stop();
  });
});
