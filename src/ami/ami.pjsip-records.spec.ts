import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { AmiFrameParser } from './ami.parser';
import type { AmiMessage } from './ami.message';
import { aorRecord, contactRecords, endpointRecords } from './ami.pjsip-records';
import { normaliseAmiEvent } from './ami.normaliser';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const FRAMES = 800;
/** Frames as big as a `PJSIPShowEndpoint` answer grown by many options: 64 kB each. */
const PADDING = `X-Padding: ${'p'.repeat(64 * 1024)}\r\n`;

function parse(text: string): AmiMessage[] {
  const out: AmiMessage[] = [];
  const parser = new AmiFrameParser(1 << 20, { onMessage: (m) => out.push(m), onMalformed: () => undefined });
  parser.reset();
  parser.push(Buffer.from(`Asterisk Call Manager/9.0.0\r\n${text}`));
  return out;
}

/**
 * Collect until the heap stops shrinking. A few collections are not always enough: V8 also flushes the
 * bytecode of functions not run for a while (earlier test files of this worker, ts-jest's compiler when
 * it had no cache), tens of MB that would otherwise vanish during the measurement.
 */
function settledHeap(): number {
  let last = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 40; i++) {
    gc();
    const now = process.memoryUsage().heapUsed;
    if (Math.abs(last - now) < 64 * 1024) return now;
    last = now;
  }
  return last;
}

/**
 * Heap bytes that what `keep` built from FRAMES big frames holds once the frames were dropped: the heap
 * with those results alive minus the heap once they are dropped too, so that whatever else the worker
 * frees meanwhile does not count.
 */
function retainedBytes<T>(frame: (i: number) => string, keep: (msgs: AmiMessage[]) => T): number {
  settledHeap();
  const kept: T[] = [];
  for (let i = 0; i < FRAMES; i++) kept.push(keep(parse(frame(i))));
  const withKept = settledHeap();
  // Read after the measurement, so that V8 cannot treat the array as dead during it.
  expect(kept).toHaveLength(FRAMES);
  kept.length = 0;
  return withKept - settledHeap();
}

const endpointList = (i: number): string =>
  `Event: EndpointList\r\nActionID: a${i}\r\nObjectType: endpoint\r\nObjectName: endpoint-with-a-long-name-${i}\r\n` +
  `Transport: transport-udp-public-${i}\r\nAor: aor-with-a-long-name-${i}\r\nAuths: auth-with-a-long-name-${i}\r\n` +
  `DeviceState: Not in use\r\n${PADDING}\r\n`;

const contactDetail = (i: number): string =>
  `Event: ContactStatusDetail\r\nActionID: c${i}\r\nAOR: aor-with-a-long-name-${i}\r\n` +
  `URI: sip:endpoint-${i}@198.51.100.7:5060;transport=udp\r\nUserAgent: Softphone 1.2.3 build ${i}\r\n` +
  `RegExpire: 1767225600\r\nViaAddress: 198.51.100.7:5060\r\nCallID: call-id-${i}-abcdefghijklmnop\r\n` +
  `Status: NonQualified\r\nRoundtripUsec: N/A\r\nEndpointName: endpoint-with-a-long-name-${i}\r\n${PADDING}\r\n`;

const contactStatus = (i: number): string =>
  `Event: ContactStatus\r\nPrivilege: system,all\r\nURI: sip:endpoint-${i}@198.51.100.7:5060;transport=udp\r\n` +
  `ContactStatus: Created\r\nAOR: aor-with-a-long-name-${i}\r\nEndpointName: endpoint-with-a-long-name-${i}\r\n` +
  `RoundtripUsec: 0\r\n${PADDING}\r\n`;

const MB = 1024 * 1024;

describe('records and events keep no AMI frame alive', () => {
  // What is at stake: 800 frames of 64 kB are 51 MB. A record that kept one header value as a view
  // into its frame would keep them all.
  it('a control: a kept header value, as the parser cuts it, pins its whole frame', () => {
    const retained = retainedBytes(endpointList, (msgs) => msgs[0].fields.Transport);
    expect(retained).toBeGreaterThan(40 * MB);
  });

  it('endpoint records (name, transport, aors, auths) detach their strings', () => {
    const retained = retainedBytes(endpointList, (msgs) => endpointRecords(msgs)[0]);
    expect(retained).toBeLessThan(10 * MB);
  });

  it('contact records (aor, uri, endpoint, user agent, via, call id) detach their strings', () => {
    const retained = retainedBytes(contactDetail, (msgs) => contactRecords(msgs)[0]);
    expect(retained).toBeLessThan(10 * MB);
  });

  it('ContactStatus events carry detached endpoint, AOR and URI', () => {
    const retained = retainedBytes(contactStatus, (msgs) => normaliseAmiEvent('n', msgs[0], 0));
    expect(retained).toBeLessThan(10 * MB);
  });
});

describe('AorList contacts', () => {
  const aor = (fields: Record<string, string>): AmiMessage => ({
    fields: { Event: 'AorList', ObjectName: 'prov', MaxContacts: '0', QualifyFrequency: '1', ...fields },
  });

  it('reads the URIs of `Contacts` (`<aor>/<uri>`, comma separated), as recorded on Asterisk 22', () => {
    expect(
      aorRecord(
        aor({ Contacts: 'prov/sip:prov@127.0.0.1:50039,prov/sip:backup@203.0.113.5:5060;transport=udp' }),
      ),
    ).toEqual({
      name: 'prov',
      maxContacts: 0,
      removeExisting: false,
      qualifyFrequency: 1,
      contacts: ['sip:prov@127.0.0.1:50039', 'sip:backup@203.0.113.5:5060;transport=udp'],
    });
  });

  it('an AOR without contacts has none', () => {
    expect(aorRecord(aor({ Contacts: '' }))?.contacts).toEqual([]);
    expect(aorRecord(aor({}))?.contacts).toEqual([]);
  });
});
