import { EventBus } from '../../src/events/event-bus';
import type { CallEnded, PbxEvent } from '../../src/events/pbx-events';
import { sandboxNodeYaml, startDaemon, type TestDaemon } from '../support/daemon';
import { expectEventually } from '../support/expect-eventually';
import { SANDBOX, coreRestartNow, waitFullyBooted } from '../support/sandbox';
import { SipUdpClient, type SipCall } from '../support/sip/sip-udp-client';

/**
 * Calls on the real sandbox Asterisk 22: channel and call state, classification, REST, metrics, an
 * ARI-only daemon, and an Asterisk restart mid-call. The sandbox is shared with other engineers' tests:
 * every assertion picks our own calls (by endpoint and the linkedid we saw), never "the only call".
 *
 * No REGISTER is needed to place a call: Asterisk identifies 2001/2002 by the From user and
 * challenges the INVITE, which SipUdpClient answers.
 */
jest.setTimeout(60_000);

const ECHO = SANDBOX.extensions.echo;
const P2002 = SANDBOX.endpoints.plainPhone;
const P2001 = SANDBOX.endpoints.deskPhone;

interface CallJson {
  linkedid: string;
  state: string;
  classification?: string;
  endedBy?: string;
  cause?: number | null;
  channels: Array<{ endpoint: string | null; state: string; exten: string | null; linkedid: string | null }>;
}

/** Places a call to 600; the phone goes into `phones` first, so that afterEach closes it even on failure. */
async function placeCall(
  phones: SipUdpClient[],
  endpoint: { name: string; password: string },
  sendRtp: boolean,
): Promise<{ phone: SipUdpClient; call: SipCall }> {
  const phone = await SipUdpClient.open();
  phones.push(phone);
  const call = await phone.call(ECHO, { sendRtp, user: endpoint.name, password: endpoint.password });
  expect(call.state).toBe('answered');
  return { phone, call };
}

/**
 * Our active call: the one to 600 with a channel of `endpoint` that was not there before the test
 * (`exclude`); from then on it is followed by its linkedid.
 */
async function activeCallOf(
  daemon: TestDaemon,
  node: string,
  endpoint: string,
  exclude: ReadonlySet<string>,
) {
  return expectEventually(async () => {
    const { status, body } = await daemon.get(`/api/v1/nodes/${node}/calls`);
    expect(status).toBe(200);
    const mine = (body.calls as CallJson[]).filter(
      (c) =>
        !exclude.has(c.linkedid) && c.channels.some((ch) => ch.endpoint === endpoint && ch.exten === ECHO),
    );
    expect(mine).toHaveLength(1);
    expect(mine[0].state).toBe('up');
    return mine[0];
  }, 5000);
}

async function recentCall(daemon: TestDaemon, node: string, linkedid: string, timeoutMs = 5000) {
  return expectEventually(async () => {
    const { status, body } = await daemon.get(`/api/v1/nodes/${node}/calls/recent?limit=200`);
    expect(status).toBe(200);
    const found = (body.calls as CallJson[]).find((c) => c.linkedid === linkedid);
    expect(found).toBeDefined();
    return found!;
  }, timeoutMs);
}

function metric(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function ready(daemon: TestDaemon, links: { ami: string; ari: string }): Promise<void> {
  await expectEventually(async () => {
    const { body } = await daemon.get('/api/v1/nodes');
    expect(body.nodes[0]).toMatchObject({ ami: { status: links.ami }, ari: { status: links.ari } });
  }, 15_000);
  // The first resync of each up link has run (so its listing cannot end our call later).
  await expectEventually(() => {
    for (const link of ['ami', 'ari'] as const) {
      if (links[link] !== 'up') continue;
      expect(daemon.events.some((e) => e.type === 'state.resynced' && e.link === link)).toBe(true);
    }
  }, 15_000);
}

/** Channel events of one uniqueid, as `source:type` (for the report of what the real Asterisk sent). */
function trace(events: readonly PbxEvent[], uniqueid: string): string[] {
  return events.flatMap((e) => {
    const id =
      'channel' in e && e.channel && typeof e.channel === 'object' && 'uniqueid' in e.channel
        ? e.channel.uniqueid
        : 'uniqueid' in e
          ? e.uniqueid
          : undefined;
    if (id !== uniqueid) return [];
    const extra =
      e.type === 'channel.hangup_requested'
        ? `(${e.soft ? 'soft' : 'hard'}${e.cause === undefined ? '' : ` ${e.cause}`})`
        : e.type === 'channel.hung_up'
          ? `(${e.cause})`
          : e.type === 'channel.created' || e.type === 'channel.updated'
            ? `(${e.channel.state})`
            : '';
    return [`${e.source}:${e.type}${extra}`];
  });
}

const verbose = process.env.PBXPULSE_TEST_VERBOSE === '1';

describe('calls on the sandbox Asterisk', () => {
  let daemon: TestDaemon | undefined;
  const phones: SipUdpClient[] = [];

  afterEach(async () => {
    await Promise.allSettled(phones.splice(0).map((p) => p.close({ graceful: false })));
    await daemon?.close();
    daemon = undefined;
  });

  it('AMI+ARI: a normal call (2002, RTP, BYE) and an RTP timeout (2001, no RTP), in state, REST and metrics', async () => {
    daemon = await startDaemon(sandboxNodeYaml('pbx1'));
    await ready(daemon, { ami: 'up', ari: 'up' });
    const endedCalls: CallEnded[] = [];
    daemon.app.get(EventBus).on('call.ended', (e) => endedCalls.push(e));
    const before = new Set(
      ((await daemon.get('/api/v1/nodes/pbx1/calls')).body.calls as CallJson[]).map((c) => c.linkedid),
    );

    // 1. 2002 → 600 with RTP: active, Up, endpoint 2002; the client's BYE ends it: normal.
    const normal = await placeCall(phones, P2002, true);
    const active = await activeCallOf(daemon, 'pbx1', P2002.name, before);
    expect(active.channels[0]).toMatchObject({ endpoint: '2002', state: 'up', linkedid: active.linkedid });
    await expectEventually(() => expect(normal.call.rtpReceived).toBeGreaterThan(10), 3000);
    await normal.call.hangup();
    const normalEnded = await recentCall(daemon, 'pbx1', active.linkedid);
    expect(normalEnded).toMatchObject({ classification: 'normal', cause: 0, endedBy: 'hangup' });
    expect(
      (await daemon.get('/api/v1/nodes/pbx1/calls')).body.calls.map((c: CallJson) => c.linkedid),
    ).not.toContain(active.linkedid);

    // 2. 2001 (rtp_timeout=5) → 600 without RTP: Asterisk hangs up after ~5 s: rtp_timeout.
    const silent = await placeCall(phones, P2001, false);
    const started = Date.now();
    const silentActive = await activeCallOf(daemon, 'pbx1', P2001.name, before);
    const end = await silent.call.ended;
    expect(end.by).toBe('remote');
    expect(end.reason).toBe('Q.850;cause=44');
    const timedOut = await recentCall(daemon, 'pbx1', silentActive.linkedid);
    expect(Date.now() - started).toBeGreaterThan(4000);
    expect(timedOut).toMatchObject({ classification: 'rtp_timeout', cause: 44, rtpTimeoutEndpoint: '2001' });
    expect(endedCalls.map((e) => e.call.linkedid)).toEqual(
      expect.arrayContaining([active.linkedid, silentActive.linkedid]),
    );

    // Metrics: the timeout counted for 2001 only (other engineers' calls on the shared sandbox could
    // add theirs: the expected count is what this daemon saw, 1 when the sandbox is quiet).
    const recent = (await daemon.get('/api/v1/nodes/pbx1/calls/recent?limit=200')).body.calls as Array<
      CallJson & { rtpTimeoutEndpoint: string | null }
    >;
    const timeouts2001 = recent.filter((c) => c.rtpTimeoutEndpoint === '2001').length;
    const timeouts2002 = recent.filter((c) => c.rtpTimeoutEndpoint === '2002').length;
    expect(timeouts2001).toBeGreaterThanOrEqual(1);
    await daemon.get('/metrics'); // the scrape that creates 2001's series writes it at 0 (README, Metrics)
    const text = (await daemon.get('/metrics')).text;
    expect(metric(text, 'pbxpulse_rtp_timeouts_total{node="pbx1",endpoint="2001"}')).toBe(timeouts2001);
    expect(metric(text, 'pbxpulse_rtp_timeouts_total{node="pbx1",endpoint="2002"}') ?? 0).toBe(timeouts2002);
    expect(timeouts2002).toBe(0); // the normal 2002 call did not count
    expect(
      metric(text, 'pbxpulse_call_hangups_total{node="pbx1",classification="normal"}'),
    ).toBeGreaterThanOrEqual(1);
    expect(
      metric(text, 'pbxpulse_call_hangups_total{node="pbx1",classification="rtp_timeout"}'),
    ).toBeGreaterThanOrEqual(1);
    for (const c of ['busy', 'no_answer', 'rejected', 'failed', 'unknown']) {
      expect(
        metric(text, `pbxpulse_call_hangups_total{node="pbx1",classification="${c}"}`),
      ).toBeGreaterThanOrEqual(0);
    }
    expect(metric(text, 'pbxpulse_calls_total{node="pbx1"}')).toBeGreaterThanOrEqual(2);
    expect(metric(text, 'pbxpulse_calls_active{node="pbx1"}')).toBeGreaterThanOrEqual(0);
    expect(metric(text, 'pbxpulse_channels{node="pbx1",state="up"}')).toBeGreaterThanOrEqual(0);
    // Every ARI message of two real calls passed the shape checks (none counted as malformed).
    expect(metric(text, 'pbxpulse_ari_malformed_messages_total{node="pbx1"}')).toBe(0);

    // REST errors.
    expect((await daemon.get('/api/v1/nodes/nope/calls')).status).toBe(404);
    const bad = await daemon.get('/api/v1/nodes/pbx1/calls/recent?limit=zero');
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('limit');

    if (verbose) {
      console.log('normal call (2002):', trace(daemon.events, active.linkedid).join(' → '));
      console.log('rtp timeout (2001):', trace(daemon.events, silentActive.linkedid).join(' → '));
    }
  });

  it('ARI only (AMI secret wrong): the call still appears and ends', async () => {
    // Another node name: the ARI app name includes it, so this daemon never steals another's socket.
    daemon = await startDaemon(sandboxNodeYaml('arionly', { amiSecret: 'wrong-secret' }));
    await ready(daemon, { ami: 'down', ari: 'up' });
    // With AMI down, the channel resync ran from ARI (GET /channels).
    const ariResync = daemon.events.find((e) => e.type === 'state.resynced' && e.link === 'ari');
    expect(ariResync).toMatchObject({ counts: { channels: expect.any(Number) } });
    const before = new Set(
      ((await daemon.get('/api/v1/nodes/arionly/calls')).body.calls as CallJson[]).map((c) => c.linkedid),
    );
    const { call } = await placeCall(phones, P2002, true);
    const active = await activeCallOf(daemon, 'arionly', P2002.name, before);
    // ARI carries no linkedid: the call is keyed by the channel's own uniqueid.
    expect(active.channels[0].linkedid).toBeNull();
    await call.hangup();
    const ended = await recentCall(daemon, 'arionly', active.linkedid);
    expect(ended).toMatchObject({ classification: 'normal', endedBy: 'hangup' });
    expect(daemon.events.filter((e) => e.type.startsWith('channel.')).every((e) => e.source === 'ari')).toBe(
      true,
    );
    if (verbose) console.log('ARI only (2002):', trace(daemon.events, active.linkedid).join(' → '));
  });

  it('Asterisk restart mid-call: the call ends in state', async () => {
    daemon = await startDaemon(sandboxNodeYaml('pbx1'));
    await ready(daemon, { ami: 'up', ari: 'up' });
    const before = new Set(
      ((await daemon.get('/api/v1/nodes/pbx1/calls')).body.calls as CallJson[]).map((c) => c.linkedid),
    );
    await placeCall(phones, P2002, true);
    const active = await activeCallOf(daemon, 'pbx1', P2002.name, before);
    const resyncsBefore = daemon.events.filter((e) => e.type === 'state.resynced').length;

    await coreRestartNow();
    await waitFullyBooted();
    const ended = await recentCall(daemon, 'pbx1', active.linkedid, 20_000);
    // Either Asterisk's hangup events got out before the sockets closed, or the resync found it gone.
    expect(['hangup', 'resync']).toContain(ended.endedBy);
    // Through the events it is SoftHangupRequest Cause 4 (SHUTDOWN) then Hangup 0: also unknown.
    expect(ended.classification).toBe('unknown');
    await expectEventually(async () => {
      const { body } = await daemon!.get('/api/v1/nodes');
      expect(body.nodes[0]).toMatchObject({ ami: { status: 'up' }, ari: { status: 'up' } });
      expect(daemon!.events.filter((e) => e.type === 'state.resynced').length).toBeGreaterThan(resyncsBefore);
    }, 20_000);
    expect(
      (await daemon.get('/api/v1/nodes/pbx1/calls')).body.calls.map((c: CallJson) => c.linkedid),
    ).not.toContain(active.linkedid);
    if (verbose) {
      console.log(
        `restart mid-call: endedBy=${ended.endedBy} classification=${ended.classification};`,
        trace(daemon.events, active.linkedid).join(' → '),
        '| after:',
        daemon.events
          .filter(
            (e) =>
              e.type === 'node.connection_changed' ||
              e.type === 'state.resynced' ||
              e.type === 'node.shutdown',
          )
          .map((e) => `${e.source}:${e.type}${'status' in e ? `(${e.status})` : ''}`)
          .join(' → '),
      );
    }
  });
});
