import { ApiProperty, ApiPropertyOptional, type SchemaObject } from '@nestjs/swagger';
import type { QualifyResponse, ReloadResponse } from '../control/control.service';
import { RELOAD_MODULE_NAMES, type ReloadModule } from '../control/reload-modules';
import { SECURITY_EVENT_TYPES, type SecurityEventRecord } from '../detectors/security-event.log';
import type { UnknownAccountOffender } from '../detectors/unknown-account.tracker';
import type {
  Alert,
  AlertType,
  AsteriskRegistrationStatus,
  ChannelState,
  ContactStatus,
  LinkStatus,
  OutboundRejectionReason,
  SipAddress,
  TransportKind,
} from '../events/pbx-events';
import { FINDING_CODES, type Finding, type Severity } from '../health/diagnostics/diagnose';
import type { DiagnosticsResult } from '../health/diagnostics/diagnostics.service';
import type { HttpStatus, ModuleRow, ModuleState, TransportRow } from '../common/pbx.records';
import type { EndpointDetail, ModuleStatus } from '../health/pjsip/pjsip-show.service';
import { HANGUP_CLASSIFICATIONS } from '../state/calls/call.classification';
import type { CallQualitySummary, ChannelQualityView, StreamQualityView } from '../state/calls/call.quality';
import type { EndedBy } from '../state/calls/call.reducers';
import type { CallView, ChannelView, EndedCallView } from '../state/calls/call.views';
import type { AsteriskView, LinkView, NodeView } from '../state/node-state.store';
import type { AorView, ContactView, EndpointView } from '../state/registrations/registration.views';
import {
  TRUNK_REACHABILITIES,
  type TrunkContactView,
  type TrunkReachability,
  type TrunkView,
} from '../state/trunks/trunk.views';
import {
  OUTBOUND_REGISTRATION_STATES,
  type OutboundRegistrationState,
  type OutboundRegistrationView,
} from '../state/trunks/outbound-registration.views';

/*
 * OpenAPI shapes of the REST responses. Each class `implements` the view type it documents, so a field
 * added to or retyped in a view breaks the build until its schema follows. Nothing constructs them.
 */

/** The values of a string union, checked complete by the compiler. */
const valuesOf = <T extends string>(all: Record<T, true>): T[] => Object.keys(all) as T[];

const LINK_STATUSES = valuesOf<LinkStatus>({ connecting: true, up: true, down: true });
const ALERT_TYPES = valuesOf<AlertType>({
  auth_loop: true,
  aor_not_found: true,
  diagnostic: true,
  one_way_audio: true,
  outbound_registration: true,
  trunk_unreachable: true,
});
const TRANSPORT_KINDS = valuesOf<TransportKind>({
  udp: true,
  tcp: true,
  tls: true,
  ws: true,
  wss: true,
  unknown: true,
});
const CONTACT_STATUSES = valuesOf<Exclude<ContactStatus, 'removed'>>({
  reachable: true,
  unreachable: true,
  nonqualified: true,
  unknown: true,
});
const CHANNEL_STATES = valuesOf<ChannelState>({
  down: true,
  rsrvd: true,
  offhook: true,
  dialing: true,
  ring: true,
  ringing: true,
  up: true,
  busy: true,
  dialing_offhook: true,
  pre_ring: true,
  unknown: true,
});
const ENDED_BY = valuesOf<EndedBy>({ hangup: true, resync: true });
const SEVERITIES = valuesOf<Severity>({ error: true, warning: true, info: true });
const MODULE_STATES = valuesOf<ModuleState>({ running: true, not_running: true, not_loaded: true });

const ISO_TIME = { type: 'string', format: 'date-time' } as const;
const FREE_OBJECT = { type: 'object', additionalProperties: true } as const;

/** A PJSIP sorcery object with normalised option values (camelCased keys, secrets dropped). */
export const PJSIP_OBJECT_SCHEMA: SchemaObject = {
  type: 'object',
  description: 'PJSIP object: camelCased option names, numbers and yes/no normalised, secrets dropped',
  additionalProperties: { oneOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }] },
  example: { objectName: '2001', transport: 'transport-wss', webrtc: true, maxContacts: 1 },
};

/** `{ <key>: [PjsipObject] }`, the shape of most `pjsip show …` routes. */
export function pjsipListSchema(key: string): SchemaObject {
  return {
    type: 'object',
    required: [key],
    properties: { [key]: { type: 'array', items: PJSIP_OBJECT_SCHEMA } },
  };
}

/** `PJSIPShowEndpoint`: the endpoint's options and the objects Asterisk lists with it. */
export const PJSIP_ENDPOINT_DETAIL_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['endpoint', 'auths', 'aors', 'transports', 'contacts', 'identifies'] satisfies Array<
    keyof EndpointDetail
  >,
  properties: {
    endpoint: PJSIP_OBJECT_SCHEMA,
    auths: { type: 'array', items: PJSIP_OBJECT_SCHEMA },
    aors: { type: 'array', items: PJSIP_OBJECT_SCHEMA },
    transports: { type: 'array', items: PJSIP_OBJECT_SCHEMA },
    contacts: { type: 'array', items: PJSIP_OBJECT_SCHEMA },
    identifies: { type: 'array', items: PJSIP_OBJECT_SCHEMA },
  },
};

/** Body of every error response, from every layer (guards, routing, body parsing, routes). */
export class ApiErrorDto {
  @ApiProperty({ example: 404 })
  statusCode!: number;

  @ApiProperty({
    description:
      'Stable code: BAD_REQUEST, UNAUTHORIZED, FORBIDDEN, ROUTE_NOT_FOUND, PAYLOAD_TOO_LARGE, ' +
      'UNSUPPORTED_MEDIA_TYPE, NODE_NOT_FOUND, ENDPOINT_NOT_FOUND, NODE_NOT_CONNECTED, AMI_CLOSED, ' +
      'AMI_TIMEOUT, AMI_ACTION_ERROR, RATE_LIMITED, RELOAD_FAILED, INTERNAL …',
    example: 'NODE_NOT_FOUND',
  })
  code!: string;

  @ApiProperty({
    description: 'Human-readable; never contains a secret',
    example: "node 'pbx9' is not configured",
  })
  message!: string;
}

// ---------------------------------------------------------------- nodes

export class LinkViewDto implements LinkView {
  @ApiProperty({ enum: LINK_STATUSES })
  status!: LinkStatus;

  @ApiProperty({ ...ISO_TIME, description: 'Since when the link has this status' })
  since!: string;

  @ApiProperty({ type: String, nullable: true, description: 'Last connection error (no secrets)' })
  lastError!: string | null;
}

export class AsteriskViewDto implements AsteriskView {
  @ApiProperty({ type: String, nullable: true, example: '22.5.0' })
  version!: string | null;

  @ApiProperty({ ...ISO_TIME, nullable: true })
  startupTime!: string | null;

  @ApiProperty({ ...ISO_TIME, nullable: true })
  lastReloadTime!: string | null;
}

export class LastResyncDto {
  @ApiProperty({ ...ISO_TIME, nullable: true })
  ami!: string | null;

  @ApiProperty({ ...ISO_TIME, nullable: true })
  ari!: string | null;
}

export class NodeViewDto implements NodeView {
  @ApiProperty({ example: 'pbx1' })
  name!: string;

  @ApiProperty({ type: () => LinkViewDto })
  ami!: LinkViewDto;

  @ApiProperty({ type: () => LinkViewDto })
  ari!: LinkViewDto;

  @ApiProperty({ type: () => AsteriskViewDto })
  asterisk!: AsteriskViewDto;

  @ApiProperty({ type: () => LastResyncDto, description: 'Time of the last completed resync per link' })
  lastResync!: LastResyncDto;

  @ApiProperty({ description: 'AMI logged in and ARI event socket connected' })
  ready!: boolean;
}

export class NodesResponseDto {
  @ApiProperty({ type: () => [NodeViewDto] })
  nodes!: NodeViewDto[];
}

// ---------------------------------------------------------------- registrations

export class EndpointViewDto implements EndpointView {
  @ApiProperty({ example: '2001' })
  name!: string;

  @ApiProperty({ type: [String], description: 'The `aors=` list, as configured' })
  aors!: string[];

  @ApiProperty({ type: [String], description: 'Inbound `auth=` sections' })
  auths!: string[];

  @ApiProperty({ type: [String], description: '`username` of each inbound auth (never the password)' })
  authUsernames!: string[];

  @ApiProperty({ type: String, nullable: true })
  transport!: string | null;

  @ApiProperty({ type: String, nullable: true })
  context!: string | null;

  @ApiProperty({ description: 'Device state of `PJSIP/<name>`', example: 'NOT_INUSE' })
  deviceState!: string;

  @ApiProperty({
    type: Boolean,
    nullable: true,
    description: 'Aggregate reachability; null until Asterisk said',
  })
  reachable!: boolean | null;

  @ApiProperty({ description: 'At least one contact registered' })
  registered!: boolean;

  @ApiProperty({ type: 'integer', description: 'Registered contacts' })
  contacts!: number;
}

export class ContactViewDto implements ContactView {
  @ApiProperty()
  aor!: string;

  @ApiProperty()
  endpoint!: string;

  @ApiProperty({ example: 'sip:2001@203.0.113.5:5060;transport=ws' })
  uri!: string;

  @ApiProperty({ enum: CONTACT_STATUSES })
  status!: Exclude<ContactStatus, 'removed'>;

  @ApiProperty({ type: 'integer', nullable: true, description: 'Qualify round trip, µs' })
  rttUsec!: number | null;

  @ApiProperty({ type: String, nullable: true })
  userAgent!: string | null;

  @ApiProperty({ ...ISO_TIME, nullable: true, description: 'When the registration expires' })
  expiresAt!: string | null;

  @ApiProperty({ type: String, nullable: true, description: 'Source of the REGISTER, `ip:port`' })
  viaAddress!: string | null;

  @ApiProperty({ enum: TRANSPORT_KINDS })
  transport!: TransportKind;

  @ApiProperty({ type: String, nullable: true })
  callId!: string | null;
}

export class AorViewDto implements AorView {
  @ApiProperty()
  name!: string;

  @ApiProperty({ type: 'integer' })
  maxContacts!: number;

  @ApiProperty()
  removeExisting!: boolean;

  @ApiProperty({ type: 'integer', description: 'Seconds; 0 = no qualify' })
  qualifyFrequency!: number;

  @ApiProperty({ type: 'integer', description: 'Registered (dynamic) contacts right now' })
  contacts!: number;

  @ApiProperty({ type: [String], description: 'Endpoints whose `aors=` names this AOR' })
  endpoints!: string[];
}

export class EndpointsResponseDto {
  @ApiProperty({ type: () => [EndpointViewDto] })
  endpoints!: EndpointViewDto[];
}

export class ContactsResponseDto {
  @ApiProperty({ type: () => [ContactViewDto] })
  contacts!: ContactViewDto[];
}

export class AorsResponseDto {
  @ApiProperty({ type: () => [AorViewDto] })
  aors!: AorViewDto[];
}

// ---------------------------------------------------------------- outbound registrations (trunks)

const ASTERISK_REGISTRATION_STATUSES = valuesOf<AsteriskRegistrationStatus>({
  Registered: true,
  Unregistered: true,
  Rejected: true,
  Stopped: true,
});
const OUTBOUND_REJECTION_REASONS = valuesOf<OutboundRejectionReason>({
  fatal_response: true,
  temporary_failure: true,
  retries_exhausted: true,
});

export class OutboundRegistrationViewDto implements OutboundRegistrationView {
  @ApiProperty({ description: 'The `type=registration` section name', example: 'itsp' })
  name!: string;

  @ApiProperty({ example: 'sip:sip.example.com' })
  serverUri!: string;

  @ApiProperty({ example: 'sip:1234567890@sip.example.com' })
  clientUri!: string;

  @ApiProperty({ type: [String], description: '`outbound_auth=` names (never a credential)' })
  outboundAuths!: string[];

  @ApiProperty({ type: String, nullable: true })
  transport!: string | null;

  @ApiProperty({ type: String, nullable: true, description: '`endpoint=` for calls coming in over it' })
  endpoint!: string | null;

  @ApiProperty({
    enum: OUTBOUND_REGISTRATION_STATES,
    description:
      '`failed`: rejected or unanswered, Asterisk retries at `nextAttemptAt`; `rejected`: Asterisk gave up ' +
      'until a reload',
  })
  state!: OutboundRegistrationState;

  @ApiProperty({ enum: ASTERISK_REGISTRATION_STATUSES, nullable: true, description: "Asterisk's own word" })
  asteriskStatus!: AsteriskRegistrationStatus | null;

  @ApiProperty({ ...ISO_TIME, description: 'When `state` last changed' })
  since!: string;

  @ApiProperty({ ...ISO_TIME, nullable: true, description: 'Last AMI `Registry` event for it' })
  lastReportAt!: string | null;

  @ApiProperty({ ...ISO_TIME, nullable: true, description: 'Last `Registry` event that said Rejected' })
  lastRejectedAt!: string | null;

  @ApiProperty({ ...ISO_TIME, nullable: true, description: "Asterisk's next REGISTER (refresh or retry)" })
  nextAttemptAt!: string | null;

  @ApiProperty({ enum: OUTBOUND_REJECTION_REASONS, nullable: true })
  reason!: OutboundRejectionReason | null;

  @ApiProperty({ type: 'integer', description: 'Rejections in a row since the last success' })
  consecutiveFailures!: number;

  @ApiProperty({ type: 'integer' })
  expirationSec!: number;

  @ApiProperty({ type: 'integer' })
  retryIntervalSec!: number;

  @ApiProperty({ type: 'integer' })
  maxRetries!: number;
}

export class OutboundRegistrationsResponseDto {
  @ApiProperty({ type: () => [OutboundRegistrationViewDto] })
  registrations!: OutboundRegistrationViewDto[];
}

export class TrunkContactViewDto implements TrunkContactView {
  @ApiProperty({ example: 'itsp' })
  aor!: string;

  @ApiProperty({ description: 'The permanent `contact=` URI as configured', example: 'sip:203.0.113.5:5060' })
  uri!: string;

  @ApiProperty({ enum: CONTACT_STATUSES })
  status!: Exclude<ContactStatus, 'removed'>;

  @ApiProperty({ type: Number, nullable: true, description: 'Qualify round trip (ms) while reachable' })
  rttMs!: number | null;
}

export class TrunkViewDto implements TrunkView {
  @ApiProperty({ description: 'The trunk endpoint', example: 'itsp' })
  endpoint!: string;

  @ApiProperty({
    enum: TRUNK_REACHABILITIES,
    description:
      '`reachable`: a contact answers OPTIONS; `unreachable`: none does; `unknown`: not qualified yet',
  })
  reachability!: TrunkReachability;

  @ApiProperty({
    type: Number,
    nullable: true,
    description: 'Smallest round trip (ms) of its reachable contacts',
  })
  rttMs!: number | null;

  @ApiProperty({ ...ISO_TIME, description: 'When `reachability` last changed (or was first seen)' })
  since!: string;

  @ApiProperty({ type: 'integer', description: 'Largest `qualify_frequency` (s) of its trunk AORs' })
  qualifyFrequency!: number;

  @ApiProperty({ type: () => [TrunkContactViewDto] })
  contacts!: TrunkContactViewDto[];
}

export class TrunksResponseDto {
  @ApiProperty({ type: () => [TrunkViewDto] })
  trunks!: TrunkViewDto[];
}

// ---------------------------------------------------------------- alerts and security events

export class AlertDto implements Alert {
  @ApiProperty({ description: '`<type>:<node>:<endpoint>[:<source>]`, stable for the life of the alert' })
  id!: string;

  @ApiProperty({ enum: ALERT_TYPES })
  type!: AlertType;

  @ApiProperty()
  node!: string;

  @ApiProperty()
  endpoint!: string;

  @ApiProperty({ ...ISO_TIME, description: 'When the condition started' })
  since!: string;

  @ApiProperty({ ...ISO_TIME, description: 'Last occurrence' })
  lastSeen!: string;

  @ApiProperty({ type: 'integer' })
  count!: number;

  @ApiProperty()
  message!: string;

  @ApiProperty({ description: 'What to change to fix it' })
  remedy!: string;

  @ApiProperty({
    ...FREE_OBJECT,
    description: 'Type-specific facts (remote address, transport, user agent …)',
  })
  details!: Record<string, unknown>;
}

export class AlertsResponseDto {
  @ApiProperty({ type: () => [AlertDto] })
  alerts!: AlertDto[];
}

export class SipAddressDto implements SipAddress {
  @ApiProperty({ enum: TRANSPORT_KINDS })
  transport!: TransportKind;

  @ApiProperty({ example: '203.0.113.5' })
  address!: string;

  @ApiProperty({ type: 'integer', nullable: true, example: 5060 })
  port!: number | null;
}

export class SecurityEventDto implements SecurityEventRecord {
  @ApiProperty({ ...ISO_TIME, description: 'When pbxpulse received the event' })
  time!: string;

  @ApiProperty({ enum: SECURITY_EVENT_TYPES })
  type!: SecurityEventRecord['type'];

  @ApiProperty({
    description: 'The endpoint, `<unknown>`, or the username a client tried (attacker-controlled)',
  })
  account!: string;

  @ApiProperty({ type: () => SipAddressDto, nullable: true })
  remote!: SipAddressDto | null;

  @ApiProperty({ type: String, nullable: true })
  sessionId!: string | null;

  @ApiPropertyOptional({
    description: 'ACL name (`auth.acl_denied`) or request type (`registrar.request_rejected`)',
  })
  reason?: string;
}

export class SecurityEventsResponseDto {
  @ApiProperty({ type: () => [SecurityEventDto], description: 'Newest first' })
  events!: SecurityEventDto[];
}

export class UnknownAccountOffenderDto implements UnknownAccountOffender {
  @ApiProperty({ example: '198.51.100.7' })
  address!: string;

  @ApiProperty({ type: 'integer' })
  attempts!: number;

  @ApiProperty({ type: 'integer', description: 'Distinct usernames tried (counting stops at 100)' })
  distinctUsernames!: number;

  @ApiProperty({ type: [String], description: 'The first few usernames tried (attacker-controlled)' })
  sampleUsernames!: string[];

  @ApiProperty(ISO_TIME)
  firstSeen!: string;

  @ApiProperty(ISO_TIME)
  lastSeen!: string;
}

export class UnknownAccountsResponseDto {
  @ApiProperty({ type: () => [UnknownAccountOffenderDto] })
  offenders!: UnknownAccountOffenderDto[];
}

/** `endpoint` and `contacts`, plus what the detectors contribute (present when they are loaded). */
export class EndpointDetailResponseDto {
  @ApiProperty({ type: () => EndpointViewDto })
  endpoint!: EndpointViewDto;

  @ApiProperty({ type: () => [ContactViewDto] })
  contacts!: ContactViewDto[];

  @ApiPropertyOptional({
    type: () => AlertDto,
    nullable: true,
    description: 'Active 401 loop (most recent source)',
  })
  authLoop?: AlertDto | null;

  @ApiPropertyOptional({ type: () => [AlertDto], description: 'Every active 401 loop, most recent first' })
  authLoops?: AlertDto[];

  @ApiPropertyOptional({ type: () => AlertDto, nullable: true })
  aorNotFound?: AlertDto | null;

  @ApiPropertyOptional({
    type: () => [SecurityEventDto],
    description: 'Last 20 security events, newest first',
  })
  recentAuthEvents?: SecurityEventDto[];
}

// ---------------------------------------------------------------- calls

const NULLABLE_NUMBER = { type: Number, nullable: true } as const;

export class StreamQualityViewDto implements StreamQualityView {
  @ApiProperty({
    ...NULLABLE_NUMBER,
    description: 'RTP packets the sending side reported sending (its last SR)',
  })
  packets!: number | null;

  @ApiProperty({ ...NULLABLE_NUMBER, description: 'Packets the receiving side counted as lost so far' })
  lostPackets!: number | null;

  @ApiProperty({ ...NULLABLE_NUMBER, description: 'Fraction lost over the last report interval, 0–1' })
  lossFraction!: number | null;

  @ApiProperty({ ...NULLABLE_NUMBER, description: 'Mean reported fraction lost over the call, 0–1' })
  lossAvgFraction!: number | null;

  @ApiProperty({ ...NULLABLE_NUMBER, description: 'Interarrival jitter of the last report, ms' })
  jitterMs!: number | null;

  @ApiProperty(NULLABLE_NUMBER)
  jitterAvgMs!: number | null;

  @ApiProperty(NULLABLE_NUMBER)
  jitterMaxMs!: number | null;

  @ApiProperty({ type: 'integer', description: 'Reception reports received for this way' })
  reports!: number;

  @ApiProperty({ ...NULLABLE_NUMBER, description: 'Asterisk’s media experience score, 0–100' })
  mes!: number | null;
}

export class ChannelQualityViewDto implements ChannelQualityView {
  @ApiProperty({ type: () => StreamQualityViewDto, description: 'Endpoint → Asterisk' })
  inbound!: StreamQualityViewDto;

  @ApiProperty({
    type: () => StreamQualityViewDto,
    description: 'Asterisk → endpoint (known when the endpoint sends RTCP)',
  })
  outbound!: StreamQualityViewDto;

  @ApiProperty({ ...NULLABLE_NUMBER, description: 'Round-trip time from the endpoint’s reports, ms' })
  rttMs!: number | null;

  @ApiProperty(NULLABLE_NUMBER)
  rttAvgMs!: number | null;

  @ApiProperty(NULLABLE_NUMBER)
  rttMaxMs!: number | null;

  @ApiProperty({ ...NULLABLE_NUMBER, description: 'Estimated MOS (simplified ITU-T G.107 E-model), 1–4.5' })
  mos!: number | null;

  @ApiProperty(ISO_TIME)
  updatedAt!: string;
}

export class CallQualitySummaryDto implements CallQualitySummary {
  @ApiProperty({ ...NULLABLE_NUMBER, description: 'Lowest channel MOS' })
  mos!: number | null;

  @ApiProperty({ ...NULLABLE_NUMBER, description: 'Highest mean jitter of any way, ms' })
  jitterMs!: number | null;

  @ApiProperty({ ...NULLABLE_NUMBER, description: 'Highest mean fraction lost of any way, 0–1' })
  lossFraction!: number | null;

  @ApiProperty({ ...NULLABLE_NUMBER, description: 'Highest mean round-trip time, ms' })
  rttMs!: number | null;
}

export class ChannelViewDto implements ChannelView {
  @ApiProperty()
  uniqueid!: string;

  @ApiProperty({ type: String, nullable: true, description: 'null while known from ARI only' })
  linkedid!: string | null;

  @ApiProperty({ example: 'PJSIP/2001-00000003' })
  name!: string;

  @ApiProperty()
  node!: string;

  @ApiProperty({ type: String, nullable: true, description: 'PJSIP endpoint from the channel name' })
  endpoint!: string | null;

  @ApiProperty({ enum: CHANNEL_STATES })
  state!: ChannelState;

  @ApiProperty({ type: String, nullable: true })
  callerNum!: string | null;

  @ApiProperty({ type: String, nullable: true })
  callerName!: string | null;

  @ApiProperty({ type: String, nullable: true })
  connectedNum!: string | null;

  @ApiProperty({ type: String, nullable: true })
  connectedName!: string | null;

  @ApiProperty({ type: String, nullable: true })
  context!: string | null;

  @ApiProperty({ type: String, nullable: true })
  exten!: string | null;

  @ApiProperty(ISO_TIME)
  createdAt!: string;

  @ApiProperty({ ...ISO_TIME, nullable: true })
  answeredAt!: string | null;

  @ApiProperty({ ...ISO_TIME, nullable: true })
  endedAt!: string | null;

  @ApiProperty({ type: String, nullable: true })
  bridgeId!: string | null;

  @ApiProperty({ type: 'integer', nullable: true, description: 'Q.850 hangup cause' })
  cause!: number | null;

  @ApiProperty({ type: String, nullable: true })
  causeText!: string | null;

  @ApiProperty({ enum: HANGUP_CLASSIFICATIONS, nullable: true })
  classification!: ChannelView['classification'];

  @ApiProperty({ enum: ENDED_BY, nullable: true })
  endedBy!: EndedBy | null;

  @ApiProperty({
    type: () => ChannelQualityViewDto,
    nullable: true,
    description: 'RTCP quality (AMI RTCPSent/RTCPReceived); null before the first report',
  })
  quality!: ChannelQualityViewDto | null;
}

export class CallViewDto implements CallView {
  @ApiProperty({ description: 'AMI linkedid, or the first channel’s uniqueid for ARI-only calls' })
  linkedid!: string;

  @ApiProperty()
  node!: string;

  @ApiProperty(ISO_TIME)
  startedAt!: string;

  @ApiProperty({ ...ISO_TIME, nullable: true })
  answeredAt!: string | null;

  @ApiProperty({ enum: CHANNEL_STATES, description: 'Most advanced state among the live channels' })
  state!: ChannelState;

  @ApiProperty({ type: () => [ChannelViewDto] })
  channels!: ChannelViewDto[];

  @ApiProperty({
    type: () => CallQualitySummaryDto,
    nullable: true,
    description: 'Worst RTCP figures of the channels; null when none had a report',
  })
  quality!: CallQualitySummaryDto | null;
}

export class EndedCallViewDto extends CallViewDto implements EndedCallView {
  @ApiProperty(ISO_TIME)
  endedAt!: string;

  @ApiProperty({ enum: HANGUP_CLASSIFICATIONS })
  classification!: EndedCallView['classification'];

  @ApiProperty({ type: 'integer', nullable: true })
  cause!: number | null;

  @ApiProperty({ type: String, nullable: true })
  causeText!: string | null;

  @ApiProperty({ type: 'integer' })
  durationMs!: number;

  @ApiProperty({ enum: ENDED_BY })
  endedBy!: EndedBy;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Endpoint whose channel timed out (`rtp_timeout`)',
  })
  rtpTimeoutEndpoint!: string | null;
}

export class ActiveCallsResponseDto {
  @ApiProperty({ type: () => [CallViewDto], description: 'Oldest first' })
  calls!: CallViewDto[];
}

export class RecentCallsResponseDto {
  @ApiProperty({ type: () => [EndedCallViewDto], description: 'Newest first' })
  calls!: EndedCallViewDto[];
}

// ---------------------------------------------------------------- diagnostics

export class FindingObjectDto {
  @ApiProperty({ enum: ['endpoint', 'aor', 'auth', 'transport', 'module', 'http', 'registration'] })
  type!: Finding['object']['type'];

  @ApiProperty()
  name!: string;
}

export class FindingDto implements Finding {
  @ApiProperty({ enum: FINDING_CODES })
  code!: Finding['code'];

  @ApiProperty({ enum: SEVERITIES })
  severity!: Severity;

  @ApiProperty({ type: () => FindingObjectDto })
  object!: FindingObjectDto;

  @ApiProperty()
  message!: string;

  @ApiProperty({ description: 'The configuration lines to change' })
  remedy!: string;

  @ApiProperty({ ...FREE_OBJECT, description: 'Option values the finding is based on (never a secret)' })
  evidence!: Record<string, unknown>;
}

export class DiagnosticsResponseDto implements DiagnosticsResult {
  @ApiProperty({ type: () => [FindingDto] })
  findings!: FindingDto[];

  @ApiProperty({ ...ISO_TIME, description: 'Time of the snapshot diagnosed' })
  computedAt!: string;

  @ApiProperty({
    type: 'integer',
    description: 'How long the diagnosis took (reading the snapshot over AMI and computing the findings)',
  })
  durationMs!: number;

  @ApiProperty({ type: 'integer', description: 'Endpoints diagnosed' })
  endpoints!: number;
}

// ---------------------------------------------------------------- control

export class DiagnosesChangedDto {
  @ApiProperty({ type: () => [FindingDto] })
  added!: FindingDto[];

  @ApiProperty({ type: () => [FindingDto] })
  removed!: FindingDto[];
}

export class ReloadResponseDto implements ReloadResponse {
  @ApiProperty()
  node!: string;

  @ApiProperty({ enum: RELOAD_MODULE_NAMES })
  module!: ReloadModule;

  @ApiProperty({ enum: ['ok'] })
  result!: 'ok';

  @ApiProperty({ type: 'integer' })
  durationMs!: number;

  @ApiProperty({ ...ISO_TIME, nullable: true })
  lastReloadBefore!: string | null;

  @ApiProperty({ ...ISO_TIME, nullable: true })
  lastReloadAfter!: string | null;

  @ApiProperty({ description: 'Asterisk’s Reload event arrived within the bound' })
  confirmed!: boolean;

  @ApiProperty({ type: () => DiagnosesChangedDto })
  diagnosesChanged!: DiagnosesChangedDto;

  @ApiProperty({
    description: 'Configured transports differ from the running ones: only a restart applies them',
  })
  restartRequired!: boolean;

  @ApiPropertyOptional()
  restartReason?: string;
}

export class QualifyResponseDto implements QualifyResponse {
  @ApiProperty()
  node!: string;

  @ApiProperty()
  endpoint!: string;

  @ApiProperty({ enum: ['queued'] })
  result!: 'queued';
}

// ---------------------------------------------------------------- pjsip show equivalents

export class TransportRowDto implements TransportRow {
  @ApiProperty({ example: 'transport-wss' })
  name!: string;

  @ApiProperty({ description: 'udp, tcp, tls, ws, wss', example: 'wss' })
  protocol!: string;

  @ApiProperty({ type: 'integer' })
  cos!: number;

  @ApiProperty({ type: 'integer' })
  tos!: number;

  @ApiProperty({ example: '0.0.0.0:8089' })
  bindAddress!: string;
}

export class TransportsResponseDto {
  @ApiProperty({ type: () => [TransportRowDto] })
  transports!: TransportRowDto[];
}

export class ModuleRowDto implements ModuleRow {
  @ApiProperty({ example: 'res_srtp.so' })
  name!: string;

  @ApiProperty()
  description!: string;

  @ApiProperty({ type: 'integer' })
  useCount!: number;

  @ApiProperty()
  running!: boolean;

  @ApiProperty({ example: 'core' })
  supportLevel!: string;
}

export class ModuleStatusDto implements ModuleStatus {
  @ApiProperty({ example: 'res_srtp' })
  module!: string;

  @ApiProperty({ enum: MODULE_STATES })
  state!: ModuleState;

  @ApiProperty()
  running!: boolean;

  @ApiProperty({ type: () => [ModuleRowDto], description: 'Matching rows of `module show like`' })
  rows!: ModuleRowDto[];

  @ApiProperty({ type: [String], description: '`webrtc`, or `codec:<name>`' })
  neededFor!: string[];
}

export class ModulesResponseDto {
  @ApiProperty({ type: () => [ModuleStatusDto] })
  modules!: ModuleStatusDto[];
}

export class HttpTlsStatusDto {
  @ApiProperty()
  enabled!: boolean;

  @ApiProperty({ type: String, nullable: true })
  bindAddress!: string | null;
}

export class HttpUriDto {
  @ApiProperty({ example: '/ws' })
  path!: string;

  @ApiProperty()
  description!: string;
}

export class HttpStatusDto implements HttpStatus {
  @ApiProperty()
  enabled!: boolean;

  @ApiProperty({ type: String, nullable: true, description: '`host:port` of the plain HTTP listener' })
  bindAddress!: string | null;

  @ApiProperty({ type: () => HttpTlsStatusDto })
  tls!: HttpTlsStatusDto;

  @ApiProperty()
  prefix!: string;

  @ApiProperty({ type: () => [HttpUriDto] })
  uris!: HttpUriDto[];

  @ApiProperty({ description: '`/ws` (res_http_websocket) is served' })
  websocket!: boolean;
}
