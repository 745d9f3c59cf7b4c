import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { Alert } from '../../src/events/pbx-events';
import { sandboxNodeYaml, startDaemon, type TestDaemon } from '../support/daemon';
import { expectEventually } from '../support/expect-eventually';
import { SANDBOX } from '../support/sandbox';
import { SipUdpClient, type SipCall } from '../support/sip/sip-udp-client';

/**
 * Per-call RTCP quality and one-way audio on the real sandbox Asterisk, with real RTP from the UDP
 * test client (PCMU, 20 ms) and real RTCP from Asterisk (rtp.conf `rtcpinterval = 1000` in the
 * sandbox, so a report a second per way).
 *
 * - Clean call: 2002 → 600 (Echo), RTP both ways: quality figures on the live and the ended call, no
 *   one-way alert.
 * - One-way call: 2002 → 602 (Milliwatt: Asterisk sends a tone) while 2002 sends no RTP at all: a
 *   `one_way_audio` alert naming the call, 2002 and the way (inbound: 2002 → Asterisk), counted in
 *   the metrics, cleared when the call ends.
 *
 * 2002 has no rtp_timeout, so Asterisk does not cut the one-way call (that would be the existing
 * `rtp_timeout` classification, as for 2001). The sandbox is shared: every assertion picks our own
 * calls by the linkedid we saw.
 */
jest.setTimeout(30_000);

const P2002 = SANDBOX.endpoints.plainPhone;
const THRESHOLD_MS = 3000;
/** What the API answered, for the README and post-mortems (test-output/ is git-ignored). */
const EXAMPLES = path.resolve(__dirname, '..', '..', 'test-output', 'call-quality.json');
const examples: Record<string, unknown> = {};

interface ChannelJson {
  uniqueid: string;
  endpoint: string | null;
  exten: string | null;
  quality: null | {
    inbound: Record<string, number | null>;
    outbound: Record<string, number | null>;
    rttMs: number | null;
    mos: number | null;
  };
}
interface CallJson {
  linkedid: string;
  channels: ChannelJson[];
  quality: null | { mos: number | null; jitterMs: number | null; lossFraction: number | null };
}

function metric(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('call quality from RTCP, on the sandbox', () => {
  let daemon: TestDaemon;
  const phones: SipUdpClient[] = [];

  beforeAll(async () => {
    daemon = await startDaemon(sandboxNodeYaml('pbx1'), `detection: { oneWayAudioMs: ${THRESHOLD_MS} }`);
    await expectEventually(async () => expect((await daemon.get('/health/ready')).status).toBe(200), 10_000);
  }, 15_000);

  afterEach(async () => {
    await Promise.allSettled(phones.splice(0).map((p) => p.close()));
  });

  afterAll(async () => {
    await daemon?.close();
    await mkdir(path.dirname(EXAMPLES), { recursive: true });
    await writeFile(EXAMPLES, JSON.stringify(examples, null, 2)).catch(() => undefined);
  });

  async function call(exten: string, sendRtp: boolean, sendDeafRtcp = false): Promise<SipCall> {
    const phone = await SipUdpClient.open();
    phones.push(phone);
    const c = await phone.call(exten, { sendRtp, sendDeafRtcp, user: P2002.name, password: P2002.password });
    expect(c.state).toBe('answered');
    return c;
  }

  /** Our live call: the one with a 2002 channel to `exten` that is not in `exclude`. */
  async function liveCall(exten: string, exclude: ReadonlySet<string>): Promise<CallJson> {
    return expectEventually(async () => {
      const { body } = await daemon.get('/api/v1/nodes/pbx1/calls');
      const mine = (body.calls as CallJson[]).filter(
        (c) =>
          !exclude.has(c.linkedid) &&
          c.channels.some((ch) => ch.endpoint === P2002.name && ch.exten === exten),
      );
      expect(mine).toHaveLength(1);
      return mine[0];
    }, 5000);
  }

  async function existingCalls(): Promise<Set<string>> {
    const { body } = await daemon.get('/api/v1/nodes/pbx1/calls');
    return new Set((body.calls as CallJson[]).map((c) => c.linkedid));
  }

  async function oneWayAlerts(): Promise<Alert[]> {
    const { body } = await daemon.get('/api/v1/alerts?node=pbx1&type=one_way_audio');
    return (body.alerts as Alert[]).filter((a) => a.endpoint === P2002.name);
  }

  it('a clean two-way call gets quality figures (live and ended) and raises no one-way alert', async () => {
    const before = await existingCalls();
    const c = await call(SANDBOX.extensions.echo, true);
    const live = await liveCall(SANDBOX.extensions.echo, before);
    // Asterisk's own reports: what it receives from 2002 (inbound) and sends to it (SR packets).
    const q = await expectEventually(async () => {
      const { body } = await daemon.get(`/api/v1/nodes/pbx1/calls`);
      const mine = (body.calls as CallJson[]).find((x) => x.linkedid === live.linkedid);
      const ch = mine?.channels.find((x) => x.endpoint === P2002.name);
      expect(ch?.quality?.inbound.reports).toBeGreaterThanOrEqual(2);
      expect(ch?.quality?.inbound.jitterMs).toEqual(expect.any(Number));
      return { call: mine!, channel: ch!.quality! };
    }, 8000);
    examples.liveCall = q.call;
    expect(q.channel.inbound.lossFraction).toBe(0);
    expect(q.channel.inbound.lostPackets).toBe(0);
    expect(q.channel.outbound.packets).toBeGreaterThan(0);
    expect(q.channel.mos).toBeGreaterThanOrEqual(4.3);
    expect(q.call.quality).toMatchObject({ mos: expect.any(Number), lossFraction: 0 });
    // Past the threshold with both ways flowing: still no alert.
    await new Promise((r) => setTimeout(r, THRESHOLD_MS));
    expect(await oneWayAlerts()).toEqual([]);
    await c.hangup();

    const ended = await expectEventually(async () => {
      const { body } = await daemon.get('/api/v1/nodes/pbx1/calls/recent?limit=200');
      const found = (body.calls as CallJson[]).find((x) => x.linkedid === live.linkedid);
      expect(found).toBeDefined();
      return found!;
    }, 5000);
    examples.endedCall = ended;
    const endedChannel = ended.channels.find((x) => x.endpoint === P2002.name)!;
    expect(endedChannel.quality).toMatchObject({
      inbound: { lossFraction: 0, jitterMs: expect.any(Number), reports: expect.any(Number) },
      mos: expect.any(Number),
    });
    expect(ended.quality?.mos).toBeGreaterThanOrEqual(4.3);
    expect(
      daemon.events.filter((e) => e.type === 'alert.raised' && e.alert.details.linkedid === live.linkedid),
    ).toEqual([]);
    // Observed once at hangup in the node's histograms.
    const metrics = (await daemon.get('/metrics')).text;
    expect(metric(metrics, 'pbxpulse_call_mos_count{node="pbx1"}')).toBeGreaterThanOrEqual(1);
    expect(metric(metrics, 'pbxpulse_call_loss_ratio_count{node="pbx1"}')).toBeGreaterThanOrEqual(1);
    expect(metric(metrics, 'pbxpulse_call_jitter_seconds_count{node="pbx1"}')).toBeGreaterThanOrEqual(1);
  });

  it('a call whose phone sends no RTP while Asterisk sends a tone raises one-way audio (inbound)', async () => {
    const before = await existingCalls();
    const c = await call(SANDBOX.extensions.tone, false);
    const live = await liveCall(SANDBOX.extensions.tone, before);
    const alert = await expectEventually(async () => {
      const alerts = (await oneWayAlerts()).filter((a) => a.details.linkedid === live.linkedid);
      expect(alerts).toHaveLength(1);
      return alerts[0];
    }, THRESHOLD_MS + 5000);
    examples.inboundAlert = alert;
    expect(alert).toMatchObject({
      type: 'one_way_audio',
      node: 'pbx1',
      endpoint: P2002.name,
      details: { direction: 'inbound', from: P2002.name, to: 'asterisk', linkedid: live.linkedid },
    });
    expect(alert.message).toContain(`no audio from ${P2002.name} to Asterisk`);
    expect(alert.remedy).toMatch(/rtp_symmetric/);
    expect(alert.remedy).toMatch(/direct_media/);
    expect(alert.details.silentForMs).toBeGreaterThanOrEqual(THRESHOLD_MS);
    // Asterisk kept sending: the working way's packets.
    expect(alert.details.otherWayPackets).toBeGreaterThan(0);
    // The phone never sent a packet, so Asterisk never had a report block about it.
    const ch = (await liveCall(SANDBOX.extensions.tone, before)).channels.find(
      (x) => x.endpoint === P2002.name,
    );
    expect(ch?.quality?.inbound.reports).toBe(0);
    expect(ch?.quality?.outbound.packets).toBeGreaterThan(0);

    // Counted for the configured endpoint 2002 (a new series is written at 0 by the scrape that
    // creates it, then with its count) and in the node's total by direction.
    await daemon.get('/metrics');
    const metrics = (await daemon.get('/metrics')).text;
    expect(
      metric(metrics, `pbxpulse_one_way_audio_total{node="pbx1",endpoint="${P2002.name}"}`),
    ).toBeGreaterThanOrEqual(1);
    expect(
      metric(metrics, 'pbxpulse_node_one_way_audio_total{node="pbx1",direction="inbound"}'),
    ).toBeGreaterThanOrEqual(1);

    await c.hangup();
    await expectEventually(() => {
      const cleared = daemon.events.find((e) => e.type === 'alert.cleared' && e.alert.id === alert.id);
      expect(cleared).toMatchObject({ reason: 'call_ended' });
    }, 5000);
    expect(await oneWayAlerts()).not.toEqual(
      expect.arrayContaining([expect.objectContaining({ id: alert.id })]),
    );
  });

  it("a phone whose RTCP says it receives nothing of Asterisk's RTP raises one-way audio (outbound)", async () => {
    const before = await existingCalls();
    // Echo: the phone's RTP arrives and comes back; its sender reports carry no block about Asterisk's.
    const c = await call(SANDBOX.extensions.echo, true, true);
    const live = await liveCall(SANDBOX.extensions.echo, before);
    const alert = await expectEventually(async () => {
      const alerts = (await oneWayAlerts()).filter((a) => a.details.linkedid === live.linkedid);
      expect(alerts).toHaveLength(1);
      return alerts[0];
    }, THRESHOLD_MS + 5000);
    examples.outboundAlert = alert;
    expect(alert.details).toMatchObject({ direction: 'outbound', from: 'asterisk', to: P2002.name });
    expect(alert.message).toContain(`no audio from Asterisk to ${P2002.name}`);
    expect(c.rtcpSent).toBeGreaterThan(0);
    // The phone's own sender reports gave the inbound way its packet count.
    const ch = (await liveCall(SANDBOX.extensions.echo, before)).channels.find(
      (x) => x.endpoint === P2002.name,
    );
    expect(ch?.quality?.inbound.packets).toBeGreaterThan(0);
    expect(ch?.quality?.outbound.reports).toBe(0);
    await c.hangup();
  });
});
