/**
 * Test helpers: channel events from the recorded AMI stream (test/fixtures/calls.ami) and ARI events
 * shaped exactly as the sandbox Asterisk 22 sent them for the same kind of calls (observed with an
 * `subscribeAll` ARI app while recording; see test/fixtures/README.md).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AmiMessage } from '../../../ami/ami.message';
import { normaliseAmiEvent } from '../../../ami/ami.normaliser';
import { AmiFrameParser } from '../../../ami/ami.parser';
import type { AriChannel, AriEventMessage } from '../../../ari/ari.messages';
import { normaliseAriEvent } from '../../../ari/ari.normaliser';
import type { ChannelEvent, PbxEvent } from '../../../events/pbx-events';
import { parseConfig } from '../../../config/config.loader';

export const NODE = 'pbx1';

/** A configuration of the one fixture node (no Asterisk needed: the stores are fed events). */
export const FIXTURE_CONFIG = parseConfig(
  [
    'nodes:',
    `  - name: ${NODE}`,
    '    ami: { host: 127.0.0.1, username: u, secret: s }',
    '    ari: { url: "http://127.0.0.1:8088", username: u, password: p }',
  ].join('\n'),
  { source: '<test>', env: {} },
);

/** The two calls of calls.ami. */
export const FIXTURE_CALLS = {
  /** 2002 → 600 (Echo), RTP both ways, ended by the client's BYE. */
  normal: { uniqueid: '1795434453.13', name: 'PJSIP/2002-0000000d', endpoint: '2002' },
  /** 2001 → 600 without RTP, hung up by Asterisk after rtp_timeout=5. */
  rtpTimeout: { uniqueid: '1795434457.14', name: 'PJSIP/2001-0000000e', endpoint: '2001' },
} as const;

export function fixtureBytes(name = 'calls.ami'): Buffer {
  return readFileSync(join(__dirname, '..', '..', '..', '..', 'test', 'fixtures', name));
}

/** Every frame of the recording, split into the given chunks. */
export function parseFrames(chunks: readonly Buffer[]): AmiMessage[] {
  const out: AmiMessage[] = [];
  const parser = new AmiFrameParser(1 << 20, {
    onMessage: (m) => out.push(m),
    onMalformed: (r) => {
      throw new Error(`malformed frame: ${r}`);
    },
  });
  for (const c of chunks) parser.push(c);
  return out;
}

export function isChannelEvent(e: PbxEvent | undefined): e is ChannelEvent {
  return e !== undefined && e.type.startsWith('channel.');
}

/**
 * The channel events of the recording's async events (list items excluded), stamped 1000, 1010, … so
 * that times are deterministic.
 */
export function amiChannelEvents(frames: readonly AmiMessage[]): ChannelEvent[] {
  return frames
    .filter((m) => m.fields.Event !== undefined && m.fields.ActionID === undefined)
    .map((m, i) => normaliseAmiEvent(NODE, m, 1000 + i * 10))
    .filter(isChannelEvent);
}

function ariChannel(id: string, name: string, state: AriChannel['state'], caller: string): AriChannel {
  return {
    id,
    name,
    state,
    protocol_id: '',
    caller: { name: '', number: caller },
    connected: { name: '', number: '' },
    accountcode: '',
    dialplan: { context: 'internal', exten: '600', priority: 1, app_name: '', app_data: '' },
    creationtime: '2026-11-23T11:34:52.864+0000',
    language: 'en',
  };
}

const ariBase = { application: 'pbxpulse-test', timestamp: '2026-11-23T11:34:52.864+0000' };

/**
 * What ARI sent for a call to 600 (ChannelVarset/ChannelDialplan left out: not normalised):
 * - `normal`: ChannelCreated (Ring) → ChannelStateChange (Up) → ChannelHangupRequest {} →
 *   ChannelHangupRequest {cause:16, soft:true} → ChannelDestroyed {cause:0, "Unknown"}
 * - `rtp_timeout`: … → ChannelHangupRequest {cause:1, soft:true} → ChannelHangupRequest {cause:16,
 *   soft:true} → ChannelDestroyed {cause:44, "Requested channel not available"}
 */
export function ariCallMessages(
  call: { uniqueid: string; name: string; endpoint: string },
  end: 'normal' | 'rtp_timeout',
): AriEventMessage[] {
  const ring = ariChannel(call.uniqueid, call.name, 'Ring', call.endpoint);
  const up = ariChannel(call.uniqueid, call.name, 'Up', call.endpoint);
  const requests: AriEventMessage[] =
    end === 'normal'
      ? [
          { ...ariBase, type: 'ChannelHangupRequest', channel: up },
          { ...ariBase, type: 'ChannelHangupRequest', cause: 16, soft: true, channel: up },
        ]
      : [
          { ...ariBase, type: 'ChannelHangupRequest', cause: 1, soft: true, channel: up },
          { ...ariBase, type: 'ChannelHangupRequest', cause: 16, soft: true, channel: up },
        ];
  return [
    { ...ariBase, type: 'ChannelCreated', channel: ring },
    { ...ariBase, type: 'ChannelStateChange', channel: up },
    ...requests,
    end === 'normal'
      ? { ...ariBase, type: 'ChannelDestroyed', cause: 0, cause_txt: 'Unknown', channel: up }
      : {
          ...ariBase,
          type: 'ChannelDestroyed',
          cause: 44,
          cause_txt: 'Requested channel not available',
          channel: up,
        },
  ];
}

export function ariChannelEvents(messages: readonly AriEventMessage[], ts0 = 1000): ChannelEvent[] {
  return messages.map((m, i) => normaliseAriEvent(NODE, m, ts0 + i * 10)).filter(isChannelEvent);
}
