import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { amiValues, type AmiMessage } from './ami.message';
import { AMI_USED_EVENTS, amiEventFilter, normaliseAmiEvent } from './ami.normaliser';
import { AmiFrameParser, type MalformedReason } from './ami.parser';

/** Recorded real AMI bytes from the sandbox Asterisk 22 (see test/fixtures/README.md). */
function fixture(name: string): Buffer {
  return readFileSync(join(__dirname, '..', '..', 'test', 'fixtures', name));
}

function parseAll(chunks: Buffer[]) {
  const messages: AmiMessage[] = [];
  const malformed: MalformedReason[] = [];
  let greeting: string | undefined;
  const parser = new AmiFrameParser(1 << 20, {
    onMessage: (m) => messages.push(m),
    onMalformed: (r) => malformed.push(r),
    onGreeting: (v) => (greeting = v),
  });
  for (const c of chunks) parser.push(c);
  return { messages, malformed, greeting };
}

const byAction = (messages: AmiMessage[], id: string) => messages.filter((m) => m.fields.ActionID === id);

describe.each([
  'login-and-lists.ami',
  'reload-events.ami',
  'security-events.ami',
  'calls.ami',
  'registered-contacts.ami',
])('recorded %s', (name) => {
  const bytes = fixture(name);

  it('keeps its CRLF line endings (the fixture was not reformatted)', () => {
    expect(bytes.includes('\r\n\r\n')).toBe(true);
    expect(bytes.toString('latin1').replace(/\r\n/g, '').includes('\r')).toBe(false);
  });

  it('parses with no malformed frame, identically at every chunk boundary', () => {
    const whole = parseAll([bytes]);
    expect(whole.malformed).toEqual([]);
    expect(whole.greeting).toBe('11.0.0');
    // Compared as JSON text: a deep-equality matcher per cut would dominate the run time.
    const expected = JSON.stringify(whole.messages);
    for (let cut = 1; cut < bytes.length; cut++) {
      const split = parseAll([bytes.subarray(0, cut), bytes.subarray(cut)]);
      if (JSON.stringify(split.messages) !== expected) {
        expect(split.messages).toEqual(whole.messages); // reports the difference
      }
    }
  });
});

describe('what the recorded streams contain', () => {
  it('login-and-lists: list actions, the empty-list Error, Command output', () => {
    const { messages } = parseAll([fixture('login-and-lists.ami')]);
    expect(byAction(messages, 'rec-1')[0].fields).toMatchObject({
      Response: 'Success',
      Message: 'Authentication accepted',
    });
    const endpoints = byAction(messages, 'rec-2').filter((m) => m.fields.Event === 'EndpointList');
    expect(endpoints.map((m) => m.fields.ObjectName).sort()).toEqual(['1001', '1002', '2001', '2002']);
    const complete = byAction(messages, 'rec-2').find((m) => m.fields.EventList === 'Complete');
    expect(complete?.fields.ListItems).toBe('4');
    // PJSIPShowContacts with nothing registered answers Error, not an empty list (and a bare LF is trimmed).
    expect(byAction(messages, 'rec-5')[0].fields).toMatchObject({
      Response: 'Error',
      Message: 'No Contacts found',
    });
    const version = amiValues(byAction(messages, 'rec-8')[0], 'Output').join('\n');
    expect(version).toMatch(/Asterisk 22\./);
    const detail = byAction(messages, 'rec-9').find((m) => m.fields.Event === 'EndpointDetail');
    expect(detail?.fields).toMatchObject({
      ObjectName: '1001',
      Webrtc: 'yes',
      RtcpMux: 'true',
      MediaEncryption: 'dtls',
    });
  });

  it('normalises FullyBooted and Reload into internal events, and ignores what it does not use', () => {
    const types = (name: string) =>
      parseAll([fixture(name)])
        .messages.filter((m) => m.fields.Event !== undefined)
        .map((m) => normaliseAmiEvent('n', m, 0))
        .filter((e) => e !== undefined);
    expect(types('login-and-lists.ami').map((e) => e.type)).toContain('node.booted');
    const reloads = types('reload-events.ami').filter((e) => e.type === 'module.reloaded');
    expect(reloads.length).toBeGreaterThan(0);
    expect(reloads.map((e) => (e.type === 'module.reloaded' ? e.module : ''))).toContain('All');
  });
});

describe('the AMI event filter', () => {
  const all = ['login-and-lists.ami', 'reload-events.ami', 'security-events.ami', 'calls.ami'].flatMap(
    (name) => parseAll([fixture(name)]).messages,
  );
  // Asterisk compiles it as a POSIX extended regex; JavaScript spells the character class `\s`.
  const filter = new RegExp(amiEventFilter().replace('[[:space:]]', '\\s'));
  /** The text Asterisk matches the filter against: the event as it would be written. */
  const text = (m: AmiMessage) =>
    `${Object.entries(m.fields)
      .map(([k, v]) => `${k}: ${v}`)
      .join('\r\n')}\r\n`;

  it('lets through every recorded event the normaliser makes something of', () => {
    const used = all.filter((m) => m.fields.ActionID === undefined && normaliseAmiEvent('n', m, 0));
    expect(used.length).toBeGreaterThan(20);
    for (const m of used) expect(filter.test(text(m))).toBe(true);
  });

  it('keeps out TestEvent and the other recorded events nothing reads', () => {
    const unused = all.filter(
      (m) => m.fields.Event !== undefined && m.fields.ActionID === undefined && !normaliseAmiEvent('n', m, 0),
    );
    expect(unused.map((m) => m.fields.Event)).toContain('TestEvent');
    for (const m of unused.filter((u) => !(AMI_USED_EVENTS as readonly string[]).includes(u.fields.Event)))
      expect(filter.test(text(m))).toBe(false);
  });

  it('matches whole event names: Newstate does not let NewstateChanged through', () => {
    expect(filter.test('Event: Newstate\r\nChannel: PJSIP/1\r\n')).toBe(true);
    expect(filter.test('Event: NewstateChanged\r\nChannel: PJSIP/1\r\n')).toBe(false);
    expect(filter.test('Event: VarSet\r\nVariable: Event: Newstate\r\n')).toBe(false);
  });
});
