import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PbxEventOf } from '../events/pbx-events';
import type { AmiMessage } from './ami.message';
import { AMI_USED_EVENTS, amiEventFilter, normaliseAmiEvent } from './ami.normaliser';
import { AmiFrameParser } from './ami.parser';

type Rtcp = PbxEventOf<'rtcp.reported'>;

/** test/fixtures/rtcp-calls.ami: an Echo call with RTP both ways, then a tone call the phone never fed. */
function recorded(): AmiMessage[] {
  const messages: AmiMessage[] = [];
  const parser = new AmiFrameParser(1 << 20, {
    onMessage: (m) => messages.push(m),
    onMalformed: () => undefined,
    onGreeting: () => undefined,
  });
  parser.push(readFileSync(join(__dirname, '..', '..', 'test', 'fixtures', 'rtcp-calls.ami')));
  return messages;
}

function rtcpOf(messages: AmiMessage[]): Rtcp[] {
  return messages
    .map((m, i) => normaliseAmiEvent('pbx1', m, 1000 + i))
    .filter((e): e is Rtcp => e?.type === 'rtcp.reported');
}

const frame = (fields: Record<string, string>): AmiMessage => ({ fields });

describe('RTCPSent / RTCPReceived → rtcp.reported', () => {
  it('are asked for in the AMI filter (class reporting)', () => {
    expect(AMI_USED_EVENTS).toEqual(expect.arrayContaining(['RTCPSent', 'RTCPReceived']));
    // The filter is POSIX: `[[:space:]]` is JavaScript's `\s`.
    const filter = new RegExp(amiEventFilter().replace('[[:space:]]', '\\s'));
    expect(filter.test('Event: RTCPSent\r\n')).toBe(true);
    expect(filter.test('Event: RTCPReceived\r\n')).toBe(true);
  });

  it("reads Asterisk's sender reports and report blocks of a two-way call (recorded)", () => {
    const echo = rtcpOf(recorded()).filter((e) => e.uniqueid === '1796598467.0');
    expect(echo).toHaveLength(4);
    expect(echo[0]).toEqual({
      type: 'rtcp.reported',
      node: 'pbx1',
      ts: expect.any(Number),
      source: 'ami',
      uniqueid: '1796598467.0',
      direction: 'sent',
      ssrc: 0x0da03bbf,
      sender: { packets: 49, octets: 7840, ntpSeconds: 1796598468.258238, rtpTimestamp: 3287598232 },
      block: { sourceSsrc: 0x9ade2186, fractionLost: 0, cumulativeLost: 0, highestSeq: 64100, jitter: 4 },
      mes: 88.1,
    });
    expect(echo.map((e) => e.block?.highestSeq)).toEqual([64100, 64150, 64199, 64247]);
  });

  it('reports no block while Asterisk has received nothing (the phone of the tone call is silent)', () => {
    const tone = rtcpOf(recorded()).filter((e) => e.uniqueid === '1796598471.1');
    expect(tone).toHaveLength(3);
    for (const e of tone) {
      expect(e.direction).toBe('sent');
      expect(e.block).toBeUndefined();
    }
    expect(tone.map((e) => e.sender?.packets)).toEqual([51, 100, 150]);
  });

  it("reads the peer's receiver report with Asterisk's RTT; a negative cumulative loss; no SR", () => {
    const e = normaliseAmiEvent(
      'pbx1',
      frame({
        Event: 'RTCPReceived',
        Channel: 'PJSIP/1001-00000004',
        Uniqueid: '1796600000.7',
        Linkedid: '1796600000.6',
        From: '127.0.0.1:51234',
        To: '127.0.0.1:20444',
        RTT: '0.0012',
        MES: ' 93.0',
        SSRC: '0xdeadbeef',
        PT: '201(RR)',
        ReportCount: '1',
        Report0SourceSSRC: '0x0da03bbf',
        Report0FractionLost: '12',
        Report0CumulativeLost: '16777215',
        Report0HighestSequence: '5',
        Report0SequenceNumberCycles: '2',
        Report0IAJitter: '480',
        Report0LSR: '12345',
        Report0DLSR: '0.5000',
      }),
      5,
    );
    expect(e).toEqual({
      type: 'rtcp.reported',
      node: 'pbx1',
      ts: 5,
      source: 'ami',
      uniqueid: '1796600000.7',
      direction: 'received',
      ssrc: 0xdeadbeef,
      block: {
        sourceSsrc: 0x0da03bbf,
        fractionLost: 12,
        cumulativeLost: -1,
        highestSeq: 2 * 65536 + 5,
        jitter: 480,
      },
      rttSeconds: 0.0012,
      mes: 93,
    });
    // Nothing downstream gets an address.
    expect(JSON.stringify(e)).not.toContain('127.0.0.1');
  });

  it('drops reports without a channel or with a malformed SSRC; RTT 0 means not measured', () => {
    expect(
      normaliseAmiEvent('pbx1', frame({ Event: 'RTCPSent', SSRC: '0x1', PT: '201(RR)' }), 1),
    ).toBeUndefined();
    expect(
      normaliseAmiEvent('pbx1', frame({ Event: 'RTCPSent', Uniqueid: '1.1', SSRC: 'zz', PT: '201(RR)' }), 1),
    ).toBeUndefined();
    const e = normaliseAmiEvent(
      'pbx1',
      frame({
        Event: 'RTCPReceived',
        Uniqueid: '1.1',
        SSRC: '0x1',
        PT: '201(RR)',
        ReportCount: '0',
        RTT: '0.0000',
      }),
      1,
    );
    expect(e).toMatchObject({ type: 'rtcp.reported', direction: 'received' });
    expect(e).not.toHaveProperty('rttSeconds');
    expect(e).not.toHaveProperty('block');
    expect(e).not.toHaveProperty('sender');
  });
});
