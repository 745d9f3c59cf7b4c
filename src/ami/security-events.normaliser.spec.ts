import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PbxEvent, SecurityEvent } from '../events/pbx-events';
import type { AmiMessage } from './ami.message';
import { cutAtCodePoint } from '../common/text';
import { normaliseAmiEvent } from './ami.normaliser';
import { AmiFrameParser, type MalformedReason } from './ami.parser';

/** Security events from AMI bytes, through the real parser and normaliser (as AmiService wires them). */
function normaliseBytes(chunks: Buffer[]): {
  events: Array<PbxEvent | undefined>;
  malformed: MalformedReason[];
} {
  const messages: AmiMessage[] = [];
  const malformed: MalformedReason[] = [];
  const parser = new AmiFrameParser(1 << 20, {
    onMessage: (m) => messages.push(m),
    onMalformed: (r) => malformed.push(r),
  });
  for (const c of chunks) parser.push(c);
  return {
    events: messages.filter((m) => m.fields.Event !== undefined).map((m) => normaliseAmiEvent('pbx1', m, 42)),
    malformed,
  };
}

const GREETING = 'Asterisk Call Manager/11.0.0\r\n';

/** One security event frame as Asterisk 22 writes it; `undefined` leaves a header out. */
function securityFrame(event: string, headers: Record<string, string | undefined>): string {
  const all: Record<string, string | undefined> = {
    Event: event,
    Privilege: 'security,all',
    EventTV: '2026-11-23T11:11:14.720+0000',
    Severity: 'Error',
    Service: 'PJSIP',
    EventVersion: '1',
    AccountID: '2001',
    SessionID: 'abc@client',
    LocalAddress: 'IPV4/UDP/127.0.0.1/15060',
    RemoteAddress: 'IPV4/UDP/198.51.100.7/5062',
    ...headers,
  };
  const lines = Object.entries(all)
    .filter((kv): kv is [string, string] => kv[1] !== undefined)
    .map(([k, v]) => `${k}: ${v}\r\n`);
  return `${lines.join('')}\r\n`;
}

/**
 * Where to split a frame in two: everywhere for small frames; for the 10 kB ones a sample, plus every
 * cut inside the first multi-byte UTF-8 characters (each full pass is 10k parses).
 */
function cuts(bytes: Buffer): number[] {
  if (bytes.length <= 2048) return Array.from({ length: bytes.length - 1 }, (_, i) => i + 1);
  const step = Math.ceil(bytes.length / 400);
  const sample = Array.from({ length: Math.floor((bytes.length - 1) / step) }, (_, i) => (i + 1) * step);
  const multiByte = [...bytes.keys()].filter((i) => i > 0 && bytes[i] >= 0x80).slice(0, 64);
  return [...sample, ...multiByte];
}

/** Exactly one security event from one hand-made frame, the same however the bytes are split. */
function one(event: string, headers: Record<string, string | undefined>): SecurityEvent {
  const bytes = Buffer.from(GREETING + securityFrame(event, headers), 'utf8');
  const whole = normaliseBytes([bytes]);
  expect(whole.malformed).toEqual([]);
  expect(whole.events).toHaveLength(1);
  const expected = JSON.stringify(whole.events);
  // Cuts fall inside multi-byte UTF-8 too: the parser must decode them whole before the normaliser.
  for (const cut of cuts(bytes)) {
    const split = normaliseBytes([bytes.subarray(0, cut), bytes.subarray(cut)]);
    if (JSON.stringify(split.events) !== expected) expect(split.events).toEqual(whole.events);
  }
  return whole.events[0] as SecurityEvent;
}

/** A UTF-16 surrogate without its other half: not valid Unicode (`String#isWellFormed` is ES2024). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const LOCAL = { transport: 'udp', address: '127.0.0.1', port: 15060 };

describe('security events: recorded security-events.ami through parser and normaliser', () => {
  const bytes = readFileSync(join(__dirname, '..', '..', 'test', 'fixtures', 'security-events.ami'));
  const { events, malformed } = normaliseBytes([bytes]);
  const security = events.filter(
    (e): e is SecurityEvent => e !== undefined && /^(auth|registrar)\./.test(e.type),
  );

  it('yields the SIP security events in order, and nothing for the AMI login or TestEvents', () => {
    expect(malformed).toEqual([]);
    expect(security.map((e) => [e.type, e.account])).toEqual([
      // REGISTER 2001 with a wrong password, retried: the 401 loop.
      ['auth.challenge_sent', '2001'],
      ['auth.challenge_failed', '2001'],
      ['auth.challenge_failed', '2001'],
      // REGISTER 9999: no such endpoint.
      ['auth.account_unknown', '9999'],
      ['auth.challenge_sent', '<unknown>'],
      ['auth.account_unknown', '9999'],
      ['auth.challenge_failed', '<unknown>'],
      // REGISTER 1002, right password, but aors=1002-aor: 404.
      ['auth.challenge_sent', '1002'],
      ['auth.succeeded', '1002'],
      ['registrar.request_rejected', '1002'],
      // REGISTER 2001 with the right password, then unREGISTER.
      ['auth.challenge_sent', '2001'],
      ['auth.succeeded', '2001'],
      ['auth.challenge_sent', '2001'],
      ['auth.succeeded', '2001'],
    ]);
    // `Service: AMI` (our own login) is a security event too, but not a SIP one.
    expect(security.some((e) => e.account === 'pbxpulse')).toBe(false);
  });

  it('carries addresses, Call-ID, EventTV and the registrar reason as typed fields', () => {
    expect(security[1]).toEqual({
      type: 'auth.challenge_failed',
      node: 'pbx1',
      ts: 42,
      source: 'ami',
      account: '2001',
      sessionId: 'f2198545f0d8ebb8@pbxpulse-recorder',
      remote: { transport: 'udp', address: '127.0.0.1', port: 43198 },
      local: LOCAL,
      eventTime: '2026-11-23T11:11:14.720+0000',
    });
    expect(security[9]).toEqual({
      type: 'registrar.request_rejected',
      node: 'pbx1',
      ts: 42,
      source: 'ami',
      account: '1002',
      sessionId: '0f579c237cb70279@pbxpulse-recorder',
      remote: { transport: 'udp', address: '127.0.0.1', port: 43198 },
      local: LOCAL,
      eventTime: '2026-11-23T11:11:17.729+0000',
      requestType: 'registrar_requested_aor_not_found',
    });
    // The Challenge/Response digests of the frame are not copied into the event.
    expect(JSON.stringify(security)).not.toMatch(
      /89d4c58d8dde7ab6ce1579be41550423|196953a96e275ed2b77e9cb35c7c3fe1/,
    );
  });
});

describe('security events: hand-made frames through parser and normaliser', () => {
  it('no RemoteAddress (or a garbled one): remote is absent, the event is kept', () => {
    expect(one('ChallengeResponseFailed', { RemoteAddress: undefined })).toEqual({
      type: 'auth.challenge_failed',
      node: 'pbx1',
      ts: 42,
      source: 'ami',
      account: '2001',
      sessionId: 'abc@client',
      remote: undefined,
      local: LOCAL,
      eventTime: '2026-11-23T11:11:14.720+0000',
    });
    expect(one('ChallengeResponseFailed', { RemoteAddress: 'garbage' }).remote).toBeUndefined();
    expect(one('ChallengeResponseFailed', { RemoteAddress: 'IPV4/UDP/198.51.100.7/99999' }).remote).toEqual({
      transport: 'udp',
      address: '198.51.100.7',
      port: null,
    });
    expect(one('ChallengeSent', { RemoteAddress: 'IPV6/WSS/2001:db8::1/8089' }).remote).toEqual({
      transport: 'wss',
      address: '2001:db8::1',
      port: 8089,
    });
  });

  it('no AccountID, an empty one, no SessionID, no EventTV: empty account, absent optionals', () => {
    const e = one('InvalidAccountID', { AccountID: undefined, SessionID: undefined, EventTV: undefined });
    expect(e).toMatchObject({ type: 'auth.account_unknown', account: '' });
    expect(e.sessionId).toBeUndefined();
    expect(e.eventTime).toBeUndefined();
    expect(one('InvalidAccountID', { AccountID: '', SessionID: '' })).toMatchObject({
      account: '',
      sessionId: undefined,
    });
    expect(one('FailedACL', {})).toMatchObject({ type: 'auth.acl_denied', aclName: '' });
    expect(one('FailedACL', { ACLName: 'not_match_endpoint_acl' })).toMatchObject({
      aclName: 'not_match_endpoint_acl',
    });
    expect(one('RequestNotSupported', {})).toMatchObject({
      type: 'registrar.request_rejected',
      requestType: '',
    });
  });

  it('a 10 kB AccountID is cut to 256 characters; a 10 kB SessionID too', () => {
    const long = 'A'.repeat(10_240);
    const e = one('InvalidAccountID', { AccountID: long, SessionID: `${long}@x` });
    expect(e.account).toBe('A'.repeat(256));
    expect(e.sessionId).toBe('A'.repeat(256));
  });

  it('quotes, backslashes, markup and non-ASCII come through unchanged', () => {
    for (const account of [
      '"a\\"b\'',
      'zoë電話',
      '<script>alert(1)</script>',
      '2001; DROP TABLE',
      'a:b: c',
    ]) {
      expect(one('InvalidAccountID', { AccountID: account }).account).toBe(account);
    }
  });

  it('an emoji straddling the 256th character is dropped whole, never half a surrogate pair', () => {
    const straddling = `${'a'.repeat(255)}😀tail`; // the emoji is UTF-16 units 255 and 256
    const e = one('InvalidAccountID', { AccountID: straddling, SessionID: straddling });
    expect(e.account).toBe('a'.repeat(255));
    expect(e.sessionId).toBe('a'.repeat(255));
    expect(LONE_SURROGATE.test(e.account)).toBe(false);
    expect(JSON.stringify(e)).not.toMatch(/\\ud83d/i);
    // Ending exactly at the cut, the emoji is kept.
    const fits = `${'a'.repeat(254)}😀tail`;
    expect(one('InvalidAccountID', { AccountID: fits }).account).toBe(`${'a'.repeat(254)}😀`);
    // Astral characters all the way: still whole code points, at most 256 units.
    const account = one('InvalidAccountID', { AccountID: '🎉'.repeat(5000) }).account;
    expect(account).toBe('🎉'.repeat(128));
    const odd = one('InvalidAccountID', { AccountID: `x${'🎉'.repeat(5000)}` }).account;
    expect(odd).toBe(`x${'🎉'.repeat(127)}`);
    expect(LONE_SURROGATE.test(odd)).toBe(false);
  });

  it('not PJSIP, or not a security event it knows: nothing', () => {
    const bytes = Buffer.from(
      GREETING +
        securityFrame('SuccessfulAuth', { Service: 'AMI', AccountID: 'pbxpulse' }) +
        securityFrame('ChallengeSent', { Service: undefined }) +
        securityFrame('InvalidPassword', {}) +
        securityFrame('UnexpectedAddress', {}),
    );
    expect(normaliseBytes([bytes]).events).toEqual([undefined, undefined, undefined, undefined]);
  });
});

describe('cutAtCodePoint', () => {
  it('keeps short strings, cuts long ones between code points', () => {
    expect(cutAtCodePoint('', 4)).toBe('');
    expect(cutAtCodePoint('abcd', 4)).toBe('abcd');
    expect(cutAtCodePoint('abcde', 4)).toBe('abcd');
    expect(cutAtCodePoint('abc😀', 5)).toBe('abc😀');
    expect(cutAtCodePoint('abc😀', 4)).toBe('abc');
    expect(cutAtCodePoint('ab😀x', 4)).toBe('ab😀');
    expect(cutAtCodePoint('😀😀', 1)).toBe('');
  });
});
