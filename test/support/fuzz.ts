/**
 * Fuzzing of what Asterisk (or something pretending to be it) sends: AMI frames mutated from the
 * recorded fixtures, pushed through the real framer and normaliser at random chunk boundaries, and ARI
 * event JSON mutated from the shapes Asterisk 22 sends, through the real parser and normaliser. Used by
 * the unit tests (10⁵ AMI frames, 3·10⁴ ARI messages) and by bench/fuzz.bench.ts (10⁶ AMI frames).
 * Deterministic per seed: a failure names its seed, and `FUZZ_SEED=<seed>` replays it (or runs the
 * unit tests on other inputs than their pinned seed).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { AMI_USED_EVENTS, normaliseAmiEvent } from '../../src/ami/ami.normaliser';
import { AmiFrameParser } from '../../src/ami/ami.parser';
import { exposedGc } from '../../src/common/memory-reclaimer';
import { parseAriMessage } from '../../src/ari/ari.messages';
import { ARI_USED_EVENT_TYPES, normaliseAriEvent } from '../../src/ari/ari.normaliser';
import type { PbxEvent } from '../../src/events/pbx-events';

/** mulberry32: small, fast, seedable; good enough to pick mutations. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rng = () => number;
const int = (rng: Rng, n: number): number => Math.floor(rng() * n);
const pick = <T>(rng: Rng, list: readonly T[]): T => list[int(rng, list.length)];

/** A full, settled collection when V8 lets us ask for one (see `exposedGc`). */
export async function settleHeap(): Promise<void> {
  await exposedGc()?.({ type: 'major', execution: 'async' });
}

const FIXTURES = join(__dirname, '..', 'fixtures');

/** Every frame (without its terminator) of the recorded AMI streams, greeting lines stripped. */
export function recordedAmiFrames(dir = FIXTURES): Buffer[] {
  const frames: Buffer[] = [];
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.ami'))) {
    const text = readFileSync(join(dir, name), 'latin1').replace(/^Asterisk Call Manager\/[^\r]*\r\n/, '');
    for (const frame of text.split('\r\n\r\n'))
      if (frame.length > 0) frames.push(Buffer.from(frame, 'latin1'));
  }
  if (frames.length === 0) throw new Error(`no AMI frames in ${dir}/*.ami`);
  return frames;
}

const INJECTIONS = [
  '\r',
  '\n',
  '\r\n',
  ':',
  ': ',
  '\r\n\r\n',
  '\0',
  '\xff',
  '\xe2\x82',
  'é',
  '\r\n:',
  '::',
].map((s) => Buffer.from(s, 'latin1'));
const ODD_VALUES = [
  '',
  ' ',
  '-1',
  '0',
  '99999999999999999999999',
  'NaN',
  '1e308',
  '<unknown>',
  'x'.repeat(300),
  'PJSIP/',
  'IPV4/UDP//',
  'IPV6/UDP/[::1',
  '\u00e9\u4e2d\u{1f600}',
  'a: b',
  '${HOME}',
];

/** One mutation of a frame; several may be applied in a row. */
function mutateFrame(rng: Rng, frame: Buffer): Buffer {
  const at = int(rng, frame.length + 1);
  switch (int(rng, 9)) {
    case 0: {
      // Flip 1-3 bytes.
      const out = Buffer.from(frame);
      for (let i = 1 + int(rng, 3); i > 0 && out.length > 0; i--)
        out[int(rng, out.length)] ^= 1 + int(rng, 255);
      return out;
    }
    case 1:
      return Buffer.concat([frame.subarray(0, at), pick(rng, INJECTIONS), frame.subarray(at)]);
    case 2:
      // Delete a range (may take a line's colon or CRLF with it).
      return Buffer.concat([
        frame.subarray(0, at),
        frame.subarray(Math.min(frame.length, at + 1 + int(rng, 40))),
      ]);
    case 3:
      return frame.subarray(0, at);
    default:
      return mutateLines(rng, frame);
  }
}

/** Line-level mutations: the frame stays well-framed, its fields go wrong. */
function mutateLines(rng: Rng, frame: Buffer): Buffer {
  const lines = frame.toString('latin1').split('\r\n');
  const i = int(rng, lines.length);
  switch (int(rng, 5)) {
    case 0: {
      // Another event's name on these fields: every normaliser branch sees foreign and missing fields.
      const e = lines.findIndex((l) => l.startsWith('Event: '));
      lines[e >= 0 ? e : i] = `Event: ${pick(rng, AMI_USED_EVENTS)}`;
      break;
    }
    case 1: {
      const colon = lines[i].indexOf(':');
      if (colon > 0) lines[i] = `${lines[i].slice(0, colon)}: ${pick(rng, ODD_VALUES)}`;
      break;
    }
    case 2:
      lines.splice(i, 1);
      break;
    case 3:
      lines.splice(i, 0, lines[i]);
      break;
    default:
      lines.splice(
        i,
        0,
        `${pick(rng, ['Uniqueid', 'Channel', 'AccountID', 'RemoteAddress', 'Cause', 'Event'])}: ${pick(rng, ODD_VALUES)}`,
      );
  }
  return Buffer.from(lines.join('\r\n'), 'latin1');
}

export interface AmiFuzzResult {
  seed: number;
  frames: number;
  bytes: number;
  chunks: number;
  messages: number;
  malformed: number;
  events: number;
  /** Exceptions out of the parser or the normaliser: must be 0. */
  throws: number;
  firstThrow?: string;
  /** Largest number of bytes the parser held between pushes (its pending, partial frame). */
  maxHeldBytes: number;
}

/**
 * `frames` mutated frames (1-3 mutations each; 2 % left intact, 0.1 % oversized), concatenated with
 * their terminators (sometimes dropped, so frames merge) and pushed to one parser in random chunks of
 * 1 byte to 8 kB; every message goes through `normaliseAmiEvent`. A session restart (`reset()` and a
 * greeting, sometimes garbled) every ~5,000 frames.
 */
export function fuzzAmi(opts: {
  frames: number;
  seed: number;
  maxFrameBytes?: number;
  /** Where the recorded `*.ami` streams are (default: test/fixtures beside this file). */
  fixturesDir?: string;
}): AmiFuzzResult {
  const rng = seededRandom(opts.seed);
  const recorded = recordedAmiFrames(opts.fixturesDir);
  const maxFrameBytes = opts.maxFrameBytes ?? 64 * 1024;
  const r: AmiFuzzResult = {
    seed: opts.seed,
    frames: 0,
    bytes: 0,
    chunks: 0,
    messages: 0,
    malformed: 0,
    events: 0,
    throws: 0,
    maxHeldBytes: 0,
  };
  const fail = (where: string, err: unknown): void => {
    r.throws += 1;
    r.firstThrow ??= `${where}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
  };
  const parser = new AmiFrameParser(maxFrameBytes, {
    onMessage: (msg) => {
      r.messages += 1;
      try {
        if (normaliseAmiEvent('fuzz', msg, r.messages)) r.events += 1;
      } catch (err) {
        fail('normaliseAmiEvent', err);
      }
    },
    onMalformed: () => (r.malformed += 1),
  });
  const held = parser as unknown as { pending: Buffer };
  const push = (bytes: Buffer): void => {
    for (let off = 0; off < bytes.length;) {
      const size = rng() < 0.2 ? 1 + int(rng, 4) : 1 + int(rng, 8192);
      r.chunks += 1;
      try {
        parser.push(bytes.subarray(off, off + size));
      } catch (err) {
        fail('AmiFrameParser.push', err);
      }
      r.maxHeldBytes = Math.max(r.maxHeldBytes, held.pending.length);
      off += size;
    }
    r.bytes += bytes.length;
  };

  push(Buffer.from('Asterisk Call Manager/11.0.0\r\n', 'latin1'));
  const batch: Buffer[] = [];
  let batchBytes = 0;
  for (let n = 0; n < opts.frames; n++) {
    let frame = pick(rng, recorded);
    const roll = rng();
    if (roll < 0.001) {
      frame = Buffer.concat([frame, Buffer.alloc(maxFrameBytes + int(rng, 4096), 'A')]);
    } else if (roll >= 0.02) {
      for (let m = 1 + int(rng, 3); m > 0; m--) frame = mutateFrame(rng, frame);
    }
    batch.push(frame, rng() < 0.01 ? Buffer.alloc(0) : TERMINATOR);
    batchBytes += frame.length + 4;
    r.frames += 1;
    if (batchBytes > 64 * 1024 || n === opts.frames - 1) {
      push(Buffer.concat(batch));
      batch.length = 0;
      batchBytes = 0;
    }
    if (n % 5000 === 4999) {
      parser.reset();
      push(
        Buffer.from(
          rng() < 0.5 ? 'Asterisk Call Manager/11.0.0\r\n' : 'Asterisk Call Mana\xff\r\n',
          'latin1',
        ),
      );
    }
  }
  return r;
}

const TERMINATOR = Buffer.from('\r\n\r\n', 'latin1');

// ------------------------------------------------------------------------------------------ ARI

const channel = (id: string, state = 'Up'): Record<string, unknown> => ({
  id,
  name: `PJSIP/2001-0000000${id.slice(-1)}`,
  state,
  protocol_id: 'a84c0f6f-1c2d',
  caller: { name: '', number: '2001' },
  connected: { name: '', number: '' },
  accountcode: '',
  dialplan: { context: 'internal', exten: '600', priority: 1, app_name: 'Echo', app_data: '' },
  creationtime: '2026-11-23T12:00:00.000+0000',
  language: 'en',
});
const base = {
  application: 'pbxpulse-fuzz',
  timestamp: '2026-11-23T12:00:01.000+0000',
  asterisk_id: '02:42:ac:11:00:02',
};
const endpoint = { technology: 'PJSIP', resource: '2001', state: 'online', channel_ids: [] };

/** One well-formed message of every ARI event type the daemon uses, as Asterisk 22 sends them. */
export const ARI_SEED_MESSAGES: ReadonlyArray<Record<string, unknown>> = [
  { ...base, type: 'ChannelCreated', channel: channel('1795434453.13', 'Ring') },
  { ...base, type: 'ChannelStateChange', channel: channel('1795434453.13') },
  {
    ...base,
    type: 'ChannelDestroyed',
    cause: 16,
    cause_txt: 'Normal Clearing',
    channel: channel('1795434453.13'),
  },
  { ...base, type: 'ChannelHangupRequest', cause: 16, soft: true, channel: channel('1795434453.13') },
  {
    ...base,
    type: 'ChannelEnteredBridge',
    bridge: {
      id: 'b-1',
      technology: 'simple_bridge',
      bridge_type: 'mixing',
      bridge_class: 'basic',
      creator: 'Dial',
      name: '',
      channels: [],
    },
    channel: channel('1795434453.13'),
  },
  {
    ...base,
    type: 'ChannelLeftBridge',
    bridge: {
      id: 'b-1',
      technology: 'simple_bridge',
      bridge_type: 'mixing',
      bridge_class: 'basic',
      creator: 'Dial',
      name: '',
      channels: [],
    },
    channel: channel('1795434453.13'),
  },
  {
    ...base,
    type: 'Dial',
    caller: channel('1795434453.13'),
    peer: channel('1795434453.14', 'Ring'),
    dialstatus: 'ANSWER',
    dialstring: '2002',
  },
  {
    ...base,
    type: 'ContactStatusChange',
    endpoint,
    contact_info: {
      uri: 'sip:2001@127.0.0.1:5062',
      contact_status: 'Reachable',
      aor: '2001',
      roundtrip_usec: '1234',
    },
  },
  {
    ...base,
    type: 'PeerStatusChange',
    endpoint,
    peer: { peer_status: 'Reachable', address: '127.0.0.1:5062' },
  },
  { ...base, type: 'DeviceStateChanged', device_state: { name: 'PJSIP/2001', state: 'NOT_INUSE' } },
  { ...base, type: 'ApplicationReplaced' },
];

const ODD_JSON: readonly unknown[] = [
  null,
  0,
  -1,
  1e308,
  '',
  'x'.repeat(300),
  true,
  [],
  [1, 'a'],
  {},
  { id: 5 },
  '\u0000\u{1f600}',
  { constructor: 'x', toString: 1 },
];

/** A random path into a JSON value: the keys and indexes down to some node. */
function randomPath(rng: Rng, value: unknown): Array<string | number> {
  const path: Array<string | number> = [];
  let node = value;
  while (node !== null && typeof node === 'object' && rng() < 0.75) {
    const keys: Array<string | number> = Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node);
    if (keys.length === 0) break;
    const k = pick(rng, keys);
    path.push(k);
    node = (node as Record<string | number, unknown>)[k];
  }
  return path;
}

function mutateJson(rng: Rng, msg: Record<string, unknown>): Record<string, unknown> {
  const copy = structuredClone(msg);
  const path = randomPath(rng, copy);
  if (path.length === 0) {
    copy.type = pick(rng, ARI_USED_EVENT_TYPES);
    return copy;
  }
  const last = path.pop()!;
  let parent = copy as Record<string | number, unknown>;
  for (const k of path) parent = parent[k] as Record<string | number, unknown>;
  switch (int(rng, 4)) {
    case 0:
      delete parent[last];
      break;
    case 1:
      parent[last] = structuredClone(pick(rng, ODD_JSON));
      break;
    case 2:
      // A value of another field in its place (an object where a string is expected, …).
      parent[last] = structuredClone(pick(rng, ARI_SEED_MESSAGES))[
        pick(rng, ['channel', 'endpoint', 'type', 'cause', 'bridge'])
      ];
      break;
    default:
      copy.type = pick(rng, ARI_USED_EVENT_TYPES);
  }
  return copy;
}

function mutateText(rng: Rng, text: string): string {
  const at = int(rng, text.length + 1);
  switch (int(rng, 5)) {
    case 0:
      return text.slice(0, at);
    case 1:
      return (
        text.slice(0, at) +
        pick(rng, ['"', '{', '}', ',', ':', '\\', '\u0000', '\ud800', ']']) +
        text.slice(at)
      );
    case 2:
      return `[${text}]`;
    case 3:
      return '['.repeat(1 + int(rng, 3000)) + ']'.repeat(int(rng, 3000));
    default:
      return text.slice(0, at) + text.slice(at + 1 + int(rng, 20));
  }
}

export interface AriFuzzResult {
  seed: number;
  messages: number;
  /** Refused by `parseAriMessage`: the connection counts and skips these. */
  malformed: number;
  events: number;
  throws: number;
  firstThrow?: string;
  /** Events whose identifying fields are not strings: junk that would reach the state. */
  badlyTyped: number;
  firstBadlyTyped?: string;
}

/** Fields of internal events that name things: always strings when present. */
const STRING_FIELDS = [
  'uniqueid',
  'name',
  'linkedid',
  'endpoint',
  'aor',
  'uri',
  'device',
  'state',
  'bridgeId',
  'callerId',
  'causeText',
  'dialStatus',
];

function badlyTyped(event: PbxEvent): string | undefined {
  const check = (obj: Record<string, unknown>, where: string): string | undefined => {
    for (const k of STRING_FIELDS) {
      if (obj[k] !== undefined && typeof obj[k] !== 'string') return `${where}${k} is ${typeof obj[k]}`;
    }
    return undefined;
  };
  const e = event as unknown as Record<string, unknown>;
  for (const nested of ['channel', 'peer']) {
    const c = e[nested];
    if (c !== undefined) {
      const bad = check(c as Record<string, unknown>, `${nested}.`);
      if (bad) return bad;
    }
  }
  return check(e, '');
}

/**
 * `messages` ARI messages: 5 % intact seeds, the rest mutated in their JSON structure (1-3 mutations:
 * a key removed, a value of the wrong type, another event's `type`) or in their text (truncated,
 * characters injected, deep nesting). Each goes through `parseAriMessage` and, if accepted,
 * `normaliseAriEvent`.
 */
export function fuzzAri(opts: { messages: number; seed: number }): AriFuzzResult {
  const rng = seededRandom(opts.seed);
  const r: AriFuzzResult = {
    seed: opts.seed,
    messages: 0,
    malformed: 0,
    events: 0,
    throws: 0,
    badlyTyped: 0,
  };
  for (let n = 0; n < opts.messages; n++) {
    const text = ariFuzzMessage(rng);
    r.messages += 1;
    try {
      const msg = parseAriMessage(text);
      if (!msg) {
        r.malformed += 1;
        continue;
      }
      const event = normaliseAriEvent('fuzz', msg, n);
      if (!event) continue;
      r.events += 1;
      const bad = badlyTyped(event);
      if (bad) {
        r.badlyTyped += 1;
        r.firstBadlyTyped ??= `${bad}: ${text.slice(0, 400)}`;
      }
    } catch (err) {
      r.throws += 1;
      r.firstThrow ??= `${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n${text.slice(0, 400)}`;
    }
  }
  return r;
}

/** One fuzzed ARI message text (exported for the connection test, which sends a sample over a socket). */
export function ariFuzzMessage(rng: Rng): string {
  let msg = structuredClone(pick(rng, ARI_SEED_MESSAGES));
  if (rng() < 0.05) return JSON.stringify(msg);
  if (rng() < 0.7) {
    for (let m = 1 + int(rng, 3); m > 0; m--) msg = mutateJson(rng, msg);
    return JSON.stringify(msg);
  }
  return mutateText(rng, JSON.stringify(msg));
}

/**
 * The seed of a run: `FUZZ_SEED` to replay one; else `fallback` (the unit tests pin one, so that CI
 * runs the same inputs every time), else a fresh one (the bench; it prints it).
 */
export function fuzzSeed(fallback?: number): number {
  const fixed = process.env.FUZZ_SEED;
  if (fixed) return Number(fixed);
  return fallback ?? Math.floor(Math.random() * 2 ** 32);
}
