import { AmiFrameParser, type MalformedReason } from './ami.parser';
import type { AmiMessage } from './ami.message';
import { amiValues } from './ami.message';

function collect(maxFrameBytes = 1 << 20) {
  const messages: AmiMessage[] = [];
  const malformed: MalformedReason[] = [];
  const greetings: string[] = [];
  const parser = new AmiFrameParser(maxFrameBytes, {
    onMessage: (m) => messages.push(m),
    onMalformed: (r) => malformed.push(r),
    onGreeting: (v) => greetings.push(v),
  });
  return { parser, messages, malformed, greetings };
}

const STREAM = Buffer.from(
  'Asterisk Call Manager/11.0.0\r\n' +
    'Response: Success\r\nActionID: a-1\r\nMessage: Authentication accepted\r\n\r\n' +
    'Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: 12\r\nLastReload: 12\r\nStatus: Fully Booted\r\n\r\n' +
    'Response: Success\r\nActionID: a-2\r\nMessage: Command output follows\r\nOutput: Asterisk 22.10.1 built by x\r\nOutput: second line: with colon\r\n\r\n' +
    'Event: Newchannel\r\nPrivilege: call,all\r\nChannel: PJSIP/1001-00000001\r\nCallerIDName: Zoë Müller 電話\r\nUniqueid: 1700000000.1\r\n\r\n',
);

describe('AmiFrameParser', () => {
  it('parses greeting, responses and events, keeping repeated headers in order', () => {
    const { parser, messages, malformed, greetings } = collect();
    parser.push(STREAM);
    expect(greetings).toEqual(['11.0.0']);
    expect(malformed).toEqual([]);
    expect(messages.map((m) => m.fields.Event ?? m.fields.Response)).toEqual([
      'Success',
      'FullyBooted',
      'Success',
      'Newchannel',
    ]);
    expect(amiValues(messages[2], 'Output')).toEqual([
      'Asterisk 22.10.1 built by x',
      'second line: with colon',
    ]);
    expect(messages[3].fields.CallerIDName).toBe('Zoë Müller 電話');
  });

  it('gives the same result at every chunk boundary, including inside multi-byte UTF-8', () => {
    const whole = collect();
    whole.parser.push(STREAM);
    for (let cut = 1; cut < STREAM.length; cut++) {
      const split = collect();
      split.parser.push(STREAM.subarray(0, cut));
      split.parser.push(STREAM.subarray(cut));
      expect(split.messages).toEqual(whole.messages);
      expect(split.greetings).toEqual(['11.0.0']);
    }
  });

  it('gives the same result byte by byte', () => {
    const whole = collect();
    whole.parser.push(STREAM);
    const bytes = collect();
    for (let i = 0; i < STREAM.length; i++) bytes.parser.push(STREAM.subarray(i, i + 1));
    expect(bytes.messages).toEqual(whole.messages);
  });

  it('counts and skips a frame with a line that is not Key: Value, and goes on', () => {
    const { parser, messages, malformed } = collect();
    parser.push(
      Buffer.from(
        'Asterisk Call Manager/11.0.0\r\nEvent: A\r\nthis line has no colon\r\n\r\n: empty key\r\n\r\nEvent: B\r\n\r\n',
      ),
    );
    expect(malformed).toEqual(['bad_header', 'bad_header']);
    expect(messages.map((m) => m.fields.Event)).toEqual(['B']);
  });

  it('counts a frame with neither Event nor Response', () => {
    const { parser, messages, malformed } = collect();
    parser.push(Buffer.from('Foo: bar\r\n\r\nEvent: Ok\r\n\r\n'));
    expect(malformed).toEqual(['no_event_or_response']);
    expect(messages).toHaveLength(1);
  });

  it('drops an oversized frame while it streams in, keeps memory bounded, and resumes after it', () => {
    const { parser, messages, malformed } = collect(1024);
    parser.push(Buffer.from('Asterisk Call Manager/11.0.0\r\nEvent: Big\r\nData: '));
    for (let i = 0; i < 100; i++) parser.push(Buffer.alloc(500, 0x61));
    expect(malformed).toEqual(['oversized']);
    expect((parser as unknown as { pending: Buffer }).pending.length).toBeLessThanOrEqual(1024 + 500);
    parser.push(Buffer.from('\r\n\r\nEvent: After\r\n\r\n'));
    expect(malformed).toEqual(['oversized']);
    expect(messages.map((m) => m.fields.Event)).toEqual(['After']);
  });

  it('drops an oversized frame that arrives in one chunk', () => {
    const { parser, messages, malformed } = collect(64);
    parser.push(Buffer.from(`Event: Big\r\nData: ${'x'.repeat(200)}\r\n\r\nEvent: Small\r\n\r\n`));
    expect(malformed).toEqual(['oversized']);
    expect(messages.map((m) => m.fields.Event)).toEqual(['Small']);
  });

  it('treats a session without the banner as frames, and reset() expects a new banner', () => {
    const { parser, messages, greetings } = collect();
    parser.push(Buffer.from('Event: X\r\n\r\n'));
    expect(messages).toHaveLength(1);
    parser.reset();
    parser.push(Buffer.from('Asterisk Call Manager/12.0.0\r\nEvent: Y\r\n\r\n'));
    expect(greetings).toEqual(['12.0.0']);
    expect(messages.map((m) => m.fields.Event)).toEqual(['X', 'Y']);
  });
});
