import type {
  ChannelSnapshot,
  PbxEvent,
  RtcpReportBlock,
  RtcpSenderInfo,
  SecurityEvent,
  SipAddress,
} from '../events/pbx-events';
import {
  channelState,
  contactStatus,
  registrationStatus,
  stripTech,
  transportKind,
  usec,
} from '../common/asterisk.vocabulary';
import { cutAtCodePoint, detached } from '../common/text';
import type { AmiMessage } from './ami.message';

/**
 * The AMI events `normaliseAmiEvent` makes something of. The daemon asks Asterisk for these only (an
 * AMI `Filter` after each login, see `amiEventFilter`): Debian's Asterisk is built with TEST_FRAMEWORK,
 * so a user that reads `reporting` also gets a `TestEvent` for every registrar step, about a third of
 * the frames of a registration storm, and the `call` and `system` classes carry dozens of event types
 * nothing here reads.
 */
export const AMI_USED_EVENTS = [
  'FullyBooted',
  'Shutdown',
  'Reload',
  'ContactStatus',
  'PeerStatus',
  'DeviceStateChange',
  'Newchannel',
  'Newstate',
  'NewCallerid',
  'NewConnectedLine',
  'DialBegin',
  'DialEnd',
  'BridgeEnter',
  'BridgeLeave',
  'HangupRequest',
  'SoftHangupRequest',
  'Hangup',
  'ChallengeSent',
  'SuccessfulAuth',
  'ChallengeResponseFailed',
  'InvalidAccountID',
  'FailedACL',
  'RequestNotSupported',
  // Class reporting (manager.conf `read = …,reporting`): about every 5 s per RTP stream and way.
  'RTCPSent',
  'RTCPReceived',
  'Registry',
] as const;

/**
 * The `Filter` regular expression (POSIX extended, matched against the whole event text, which starts
 * with its `Event:` line) that lets exactly these events through. `[[:space:]]` stands for the CR that
 * ends the line: `Newstate` must not let `NewstateX` through.
 */
export function amiEventFilter(events: readonly string[] = AMI_USED_EVENTS): string {
  return `^Event: (${events.join('|')})[[:space:]]`;
}

/** Longest AccountID kept: it can be attacker-controlled and arbitrarily long. */
const MAX_ACCOUNT_CHARS = 256;

/**
 * Turn one AMI event into an internal event, or `undefined` for events pbxpulse does not use (yet).
 * Pure: no I/O, no clock (the receive time is passed in). Never throws on odd or missing fields.
 */
export function normaliseAmiEvent(node: string, msg: AmiMessage, ts: number): PbxEvent | undefined {
  const f = msg.fields;
  switch (f.Event) {
    case 'FullyBooted':
      return { type: 'node.booted', node, ts, source: 'ami' };
    case 'Shutdown':
      // `Restart: True` for `core restart …`; the socket closes right after this event.
      return { type: 'node.shutdown', node, ts, source: 'ami', restart: f.Restart === 'True' };
    case 'Reload':
      return {
        type: 'module.reloaded',
        node,
        ts,
        source: 'ami',
        module: f.Module ?? '',
        status: f.Status ?? '',
      };
    case 'ContactStatus': {
      const status = contactStatus(f.ContactStatus);
      if (!status || !f.AOR || !f.URI) return undefined;
      return {
        type: 'contact.status_changed',
        node,
        ts,
        source: 'ami',
        // Detached: the registration state keeps these for as long as the contact lives.
        endpoint: detached(f.EndpointName ?? ''),
        aor: detached(f.AOR),
        uri: detached(f.URI),
        status,
        rttUsec: usec(f.RoundtripUsec),
      };
    }
    case 'PeerStatus': {
      // PJSIP only ever says Reachable / Unreachable; chan_sip's Registered/… are gone since 21.
      if (f.ChannelType !== 'PJSIP' || !f.Peer) return undefined;
      const reachable = f.PeerStatus === 'Reachable';
      if (!reachable && f.PeerStatus !== 'Unreachable') return undefined;
      return {
        type: 'endpoint.reachability_changed',
        node,
        ts,
        source: 'ami',
        endpoint: stripTech(f.Peer),
        reachable,
      };
    }
    case 'DeviceStateChange':
      if (!f.Device?.startsWith('PJSIP/') || !f.State) return undefined;
      return { type: 'device.state_changed', node, ts, source: 'ami', device: f.Device, state: f.State };
    case 'Registry': {
      // Outbound registrations only (chan_pjsip; chan_sip is gone since 21). Asterisk names the
      // registration by its URIs, not by its section: the store maps them back. `Cause` is never set.
      const status = registrationStatus(f.Status);
      if (f.ChannelType !== 'PJSIP' || !status || !f.Username || !f.Domain) return undefined;
      return {
        type: 'outbound_registration.reported',
        node,
        ts,
        source: 'ami',
        clientUri: detached(f.Username),
        serverUri: detached(f.Domain),
        status,
      };
    }
    case 'Newchannel':
      return channelEvent('channel.created', node, f, ts);
    case 'Newstate':
    case 'NewCallerid':
    case 'NewConnectedLine':
      return channelEvent('channel.updated', node, f, ts);
    case 'DialBegin':
    case 'DialEnd': {
      const peer = channelSnapshot(f, 'Dest');
      if (!peer) return undefined;
      // Originated calls have no caller side: the caller fields are absent.
      return {
        type: 'channel.dialed',
        node,
        ts,
        source: 'ami',
        callerId: f.Uniqueid || undefined,
        peer,
        dialStatus: f.Event === 'DialEnd' ? (f.DialStatus ?? '') : '',
      };
    }
    case 'BridgeEnter':
    case 'BridgeLeave':
      if (!f.Uniqueid || !f.BridgeUniqueid) return undefined;
      return {
        type: 'channel.bridged',
        node,
        ts,
        source: 'ami',
        uniqueid: f.Uniqueid,
        bridgeId: f.BridgeUniqueid,
        entered: f.Event === 'BridgeEnter',
      };
    case 'HangupRequest':
    case 'SoftHangupRequest':
      if (!f.Uniqueid) return undefined;
      return {
        type: 'channel.hangup_requested',
        node,
        ts,
        source: 'ami',
        uniqueid: f.Uniqueid,
        soft: f.Event === 'SoftHangupRequest',
        cause: integer(f.Cause),
      };
    case 'Hangup': {
      const channel = channelSnapshot(f);
      if (!channel) return undefined;
      return {
        type: 'channel.hung_up',
        node,
        ts,
        source: 'ami',
        channel,
        cause: integer(f.Cause) ?? 0,
        causeText: f['Cause-txt'] ?? '',
      };
    }
    case 'RTCPSent':
    case 'RTCPReceived':
      return rtcpEvent(node, f, ts);
    default:
      return normaliseSecurityEvent(node, f, ts);
  }
}

/**
 * `RTCPSent` / `RTCPReceived` (`main/rtp_engine.c` `rtcp_report_to_ami`). Only reports of a channel's
 * stream are kept (the channel fields are absent for an RTP instance without a channel). Numbers are
 * taken as Asterisk prints them: SSRCs in hex, `SentNTP` as seconds.micro, `RTT` in seconds, the report
 * block's `HighestSequence` and `SequenceNumberCycles` apart, `CumulativeLost` as the unsigned 24-bit
 * field (a negative count, from duplicates, arrives as ≥ 0x800000). Asterisk writes at most one block.
 * The `To` / `From` addresses are not kept: nothing downstream needs an IP.
 */
function rtcpEvent(node: string, f: Record<string, string>, ts: number): PbxEvent | undefined {
  const uniqueid = f.Uniqueid;
  const ssrc = hex(f.SSRC);
  if (!uniqueid || ssrc === undefined) return undefined;
  const sent = f.Event === 'RTCPSent';
  let sender: RtcpSenderInfo | undefined;
  if (f.PT?.startsWith('200')) {
    const packets = integer(f.SentPackets);
    const octets = integer(f.SentOctets);
    const ntpSeconds = decimal(f.SentNTP);
    const rtpTimestamp = integer(f.SentRTP);
    if (
      packets !== undefined &&
      octets !== undefined &&
      ntpSeconds !== undefined &&
      rtpTimestamp !== undefined
    )
      sender = { packets, octets, ntpSeconds, rtpTimestamp };
  }
  let block: RtcpReportBlock | undefined;
  const sourceSsrc = hex(f.Report0SourceSSRC);
  const fractionLost = integer(f.Report0FractionLost);
  const lost = integer(f.Report0CumulativeLost);
  const seq = integer(f.Report0HighestSequence);
  const cycles = integer(f.Report0SequenceNumberCycles);
  const jitter = integer(f.Report0IAJitter);
  if (
    (integer(f.ReportCount) ?? 0) > 0 &&
    sourceSsrc !== undefined &&
    fractionLost !== undefined &&
    lost !== undefined &&
    seq !== undefined &&
    jitter !== undefined
  ) {
    block = {
      sourceSsrc,
      fractionLost: Math.min(255, Math.max(0, fractionLost)),
      cumulativeLost: lost >= 0x800000 ? lost - 0x1000000 : lost,
      highestSeq: (cycles ?? 0) * 0x10000 + seq,
      jitter,
    };
  }
  const rtt = sent ? undefined : decimal(f.RTT);
  const mes = decimal(f.MES);
  return {
    type: 'rtcp.reported',
    node,
    ts,
    source: 'ami',
    // Not detached: the call store keys its state by the channel record's own uniqueid.
    uniqueid,
    direction: sent ? 'sent' : 'received',
    ssrc,
    ...(sender ? { sender } : {}),
    ...(block ? { block } : {}),
    ...(rtt !== undefined && rtt > 0 ? { rttSeconds: rtt } : {}),
    ...(mes !== undefined ? { mes } : {}),
  };
}

function hex(raw: string | undefined): number | undefined {
  if (!raw || !/^0x[0-9a-f]{1,8}$/i.test(raw)) return undefined;
  return Number.parseInt(raw.slice(2), 16);
}

function decimal(raw: string | undefined): number | undefined {
  if (!raw) return undefined;
  const v = raw.trim();
  if (!/^-?\d+(\.\d+)?$/.test(v)) return undefined;
  return Number(v);
}

function channelEvent(
  type: 'channel.created' | 'channel.updated',
  node: string,
  f: Record<string, string>,
  ts: number,
): PbxEvent | undefined {
  const channel = channelSnapshot(f);
  return channel && { type, node, ts, source: 'ami', channel };
}

/**
 * AMI's `<channel_snapshot/>` fields (optionally `Dest`-prefixed, as in DialBegin) as a snapshot. Its
 * strings are detached from the frame: the call store keeps the latest snapshot of every live channel
 * and of the recent calls.
 */
export function channelSnapshot(f: Record<string, string>, prefix = ''): ChannelSnapshot | undefined {
  const uniqueid = f[`${prefix}Uniqueid`];
  const name = f[`${prefix}Channel`];
  if (!uniqueid || !name) return undefined;
  return {
    uniqueid: detached(uniqueid),
    linkedid: known(f[`${prefix}Linkedid`]),
    name: detached(name),
    state: channelState(f[`${prefix}ChannelStateDesc`]),
    callerNum: known(f[`${prefix}CallerIDNum`]),
    callerName: known(f[`${prefix}CallerIDName`]),
    connectedNum: known(f[`${prefix}ConnectedLineNum`]),
    connectedName: known(f[`${prefix}ConnectedLineName`]),
    context: known(f[`${prefix}Context`]),
    exten: known(f[`${prefix}Exten`]),
  };
}

/** Asterisk writes `<unknown>` (and sometimes empty) for absent caller ids and contexts. */
function known(v: string | undefined): string | undefined {
  return v === undefined || v === '' || v === '<unknown>' ? undefined : detached(v);
}

function integer(raw: string | undefined): number | undefined {
  if (!raw || !/^-?\d+$/.test(raw)) return undefined;
  return Number(raw);
}

/** Security events name themselves in `Event:`; only SIP ones matter (our own AMI login is one too). */
function normaliseSecurityEvent(
  node: string,
  f: Record<string, string>,
  ts: number,
): SecurityEvent | undefined {
  if (f.Service !== 'PJSIP') return undefined;
  const base = {
    node,
    ts,
    source: 'ami' as const,
    account: cutAtCodePoint(f.AccountID ?? '', MAX_ACCOUNT_CHARS),
    sessionId: cutAtCodePoint(f.SessionID ?? '', MAX_ACCOUNT_CHARS) || undefined,
    remote: parseSipAddress(f.RemoteAddress),
    local: parseSipAddress(f.LocalAddress),
    eventTime: f.EventTV || undefined,
  };
  switch (f.Event) {
    case 'ChallengeSent':
      return { ...base, type: 'auth.challenge_sent' };
    case 'SuccessfulAuth':
      return { ...base, type: 'auth.succeeded' };
    case 'ChallengeResponseFailed':
      return { ...base, type: 'auth.challenge_failed' };
    case 'InvalidAccountID':
      return { ...base, type: 'auth.account_unknown' };
    case 'FailedACL':
      return { ...base, type: 'auth.acl_denied', aclName: f.ACLName ?? '' };
    case 'RequestNotSupported':
      return { ...base, type: 'registrar.request_rejected', requestType: f.RequestType ?? '' };
    default:
      return undefined;
  }
}

/** `IPV4/UDP/203.0.113.5/5060` or `IPV6/WSS/2001:db8::1/443` → parts; anything else → undefined. */
export function parseSipAddress(raw: string | undefined): SipAddress | undefined {
  if (!raw) return undefined;
  const parts = raw.split('/');
  if (parts.length < 4 || !/^IPV[46]$/i.test(parts[0])) return undefined;
  const port = Number(parts[parts.length - 1]);
  return {
    transport: transportKind(parts[1]),
    address: parts.slice(2, -1).join('/'),
    port: Number.isInteger(port) && port > 0 && port < 65536 ? port : null,
  };
}
