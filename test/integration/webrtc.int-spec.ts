import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { WebSocket } from 'ws';
import { sandboxNodeYaml, startDaemon, type TestDaemon } from '../support/daemon';
import { expectEventually } from '../support/expect-eventually';
import { SANDBOX } from '../support/sandbox';
import { ensureChromium, startSoftphonePage, type SoftphonePage } from '../support/webrtc/browser';
import type { SoftphoneLogEntry, SoftphoneSdp, SoftphoneStats, Softphone } from '../support/webrtc/softphone';

/**
 * A real WebRTC call: headless Debian Chromium runs JsSIP, registers 1001 over WebSocket SIP, calls
 * 600 (Answer + Echo), and RTP flows both ways over DTLS-SRTP while pbxpulse watches AMI/ARI and
 * streams the call on `/ws`.
 */

// The integration project's testTimeout does not apply under --selectProjects; each hook/test is bounded.
jest.setTimeout(20_000);

const OUTPUT = path.resolve(__dirname, '..', '..', 'test-output');
const SCREENSHOT = path.join(OUTPUT, 'webrtc-call.png');
/** The softphone log, stats samples, SDPs and every gateway message of the last run. */
const DIAGNOSTICS = path.join(OUTPUT, 'webrtc-call.json');
const ENDPOINT = SANDBOX.endpoints.webrtc;
/** RTP packets each way before the call counts as flowing (~50 packets/s per direction at 20 ms ptime). */
const MIN_PACKETS = 50;
const CALL_HOLD_MS = 3000;
/** How long the call may stay up for RTCP both ways to give quality figures (sandbox: a report a second). */
const QUALITY_WAIT_MS = 8000;

interface GatewayMessage {
  type: string;
  seq?: number;
  node?: string;
  data?: any;
  [key: string]: unknown;
}

/** A plain `ws` client of the daemon's `/ws` that records every message. */
class GatewayTap {
  readonly messages: GatewayMessage[] = [];

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (raw: Buffer) => {
      try {
        this.messages.push(JSON.parse(raw.toString('utf8')) as GatewayMessage);
      } catch {
        this.messages.push({ type: '<unparseable>', raw: raw.toString('utf8') });
      }
    });
    ws.on('error', () => undefined);
  }

  static async connect(url: string): Promise<GatewayTap> {
    const ws = new WebSocket(url);
    const tap = new GatewayTap(ws);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`gateway ${url}: no connection within 5 s`)), 5000);
      ws.once('open', () => {
        clearTimeout(timer);
        resolve();
      });
      ws.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    await expectEventually(() => tap.messages.some((m) => m.type === 'snapshot'), 5000);
    return tap;
  }

  deltas(type: string): GatewayMessage[] {
    return this.messages.filter((m) => m.type === type);
  }

  summary(): string {
    const counts = new Map<string, number>();
    for (const m of this.messages) counts.set(m.type, (counts.get(m.type) ?? 0) + 1);
    return [...counts].map(([t, n]) => `${t}×${n}`).join(', ') || 'nothing';
  }

  close(): void {
    this.ws.terminate();
  }
}

/** What happened during the call, gathered in beforeAll, asserted on by the tests, dumped for post-mortems. */
interface CallRun {
  timings: Record<string, number>;
  registrationState?: string;
  callState?: string;
  /** Peer-connection stats sampled every ~250 ms while the call was up. */
  samples: { atMs: number; stats: SoftphoneStats }[];
  final?: SoftphoneStats | null;
  sdp?: SoftphoneSdp;
  endState?: string;
  log: SoftphoneLogEntry[];
  /** The 1001 channel's RTCP quality on `GET /calls` while the call was up. */
  liveQuality?: any;
}

function formatLog(log: SoftphoneLogEntry[]): string {
  return log.map((l) => `  ${l.t} ms ${l.event}${l.detail ? ' ' + JSON.stringify(l.detail) : ''}`).join('\n');
}

describe('WebRTC call: headless Chromium + JsSIP as 1001 → 600 (Echo), watched by pbxpulse', () => {
  let daemon: TestDaemon | undefined;
  let gateway: GatewayTap | undefined;
  let phone: SoftphonePage | undefined;
  const run: CallRun = { timings: {}, samples: [], log: [] };

  /** Throws `what`, with the softphone's log and the page's console. */
  async function failure(p: SoftphonePage, what: string): Promise<never> {
    run.log = await p.softphone.evaluate((sp) => sp.log).catch(() => run.log);
    throw new Error(
      `${what}\nsoftphone log:\n${formatLog(run.log)}\npage console:\n${phone?.console.join('\n') ?? ''}\n` +
        `(everything seen: ${path.relative(process.cwd(), DIAGNOSTICS)})`,
    );
  }

  /** Waits (bounded) for `predicate(window.softphone)`; on timeout, fails with the softphone's log. */
  async function waitFor(p: SoftphonePage, what: string, predicate: (sp: Softphone) => boolean, ms: number) {
    try {
      await p.page.waitForFunction(predicate, p.softphone, { timeout: ms, polling: 50 });
    } catch {
      await failure(p, `${what}: not within ${ms} ms`);
    }
  }

  beforeAll(async () => {
    // Provisioning, not the test: instant when Debian's chromium is installed, ~30 s when it is not.
    await ensureChromium({ timeoutMs: 5 * 60_000 });
  }, 6 * 60_000);

  beforeAll(async () => {
    const t0 = Date.now();
    const mark = (name: string) => (run.timings[name] ??= Date.now() - t0);

    daemon = await startDaemon(sandboxNodeYaml('pbx1'));
    await expectEventually(async () => expect((await daemon!.get('/health/ready')).status).toBe(200), 10_000);
    gateway = await GatewayTap.connect(`${daemon.url.replace(/^http/, 'ws')}/ws`);
    mark('daemonReady');

    phone = await startSoftphonePage();
    const p = phone;
    const { page, softphone } = phone;
    mark('browserReady');

    await softphone.evaluate((sp, a) => sp.register(a.url, a.user, a.password), {
      url: SANDBOX.sipWsUrl,
      user: ENDPOINT.name,
      password: ENDPOINT.password,
    });
    await waitFor(p, 'REGISTER answered', (sp) => sp.state.registration !== 'registering', 10_000);
    run.registrationState = await softphone.evaluate((sp) => sp.state.registration);
    if (run.registrationState !== 'registered')
      await failure(p, `1001 did not register: ${run.registrationState}`);
    mark('registered');

    await softphone.evaluate((sp) => sp.call('600'));
    await waitFor(p, 'call to 600 settled', (sp) => !/calling|progress/.test(sp.state.call), 10_000);
    run.callState = await softphone.evaluate((sp) => sp.state.call);
    if (run.callState !== 'confirmed') await failure(p, `the call to 600 was not answered: ${run.callState}`);
    const confirmedAt = Date.now();
    mark('confirmed');

    // Sample the peer connection until RTP flowed both ways and the call has been up CALL_HOLD_MS.
    const stats = () => softphone.evaluate((sp) => sp.stats());
    for (const deadline = confirmedAt + 15_000; Date.now() < deadline; await page.waitForTimeout(250)) {
      const s = await stats();
      if (!s) continue;
      run.samples.push({ atMs: Date.now() - confirmedAt, stats: s });
      if (/connected|completed/.test(s.iceConnectionState)) mark('iceConnected');
      const flowing = s.audio.packetsReceived > MIN_PACKETS && s.audio.packetsSent > MIN_PACKETS;
      if (flowing) mark('rtpFlowing');
      if (flowing && Date.now() - confirmedAt >= CALL_HOLD_MS) break;
    }
    run.final = await stats();
    run.sdp = await softphone.evaluate((sp) => sp.sdp());
    // Chromium sends RTCP (rtcp-mux) too: wait until both ways have reception reports and an RTT.
    run.liveQuality = await expectEventually(async () => {
      const { body } = await daemon!.get('/api/v1/nodes/pbx1/calls');
      const channel = (body.calls as any[])
        .flatMap((c) => c.channels as any[])
        .find((c) => c.endpoint === ENDPOINT.name);
      expect(channel?.quality?.inbound?.reports).toBeGreaterThanOrEqual(1);
      expect(channel?.quality?.outbound?.reports).toBeGreaterThanOrEqual(1);
      expect(channel?.quality?.rttMs).toEqual(expect.any(Number));
      return channel.quality;
    }, QUALITY_WAIT_MS).catch((err: Error) =>
      failure(p, `no RTCP quality on the 1001 channel: ${err.message}`),
    );
    await mkdir(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT });

    await softphone.evaluate((sp) => sp.hangup());
    await waitFor(p, 'call ended after hangup', (sp) => /ended|failed/.test(sp.state.call), 5000);
    mark('hungUp');
    run.endState = await softphone.evaluate((sp) => sp.state.call);
    run.log = await softphone.evaluate((sp) => sp.log);
  }, 55_000);

  afterAll(async () => {
    if (phone) {
      // Unregister (REGISTER Expires: 0) so 1001 is left as we found it; bounded, best effort.
      await phone.softphone.evaluate((sp) => sp.stop()).catch(() => undefined);
      await waitFor(
        phone,
        'unregistered',
        (sp) => sp.log.some((l) => l.event === 'unregistered'),
        3000,
      ).catch(() => undefined);
      await phone.close();
    }
    gateway?.close();
    await daemon?.close();
    // Everything seen, for a post-mortem of a failure (test-output/ is git-ignored).
    await writeFile(
      DIAGNOSTICS,
      JSON.stringify(
        { ...run, gateway: gateway?.messages ?? [], pageConsole: phone?.console ?? [] },
        null,
        2,
      ),
    ).catch(() => undefined);
  }, 20_000);

  it('registers 1001 over WebSocket SIP', () => {
    expect(run.registrationState).toBe('registered');
    expect(run.log.find((l) => l.event === 'registered')?.detail).toMatchObject({ status: 200 });
    expect(run.log.filter((l) => l.event === 'registrationFailed')).toEqual([]);
  });

  it('connects ICE on loopback and takes the call to 600', () => {
    // 600 answers at once (200 OK, no 18x), so there is no 'progress' event.
    expect(run.samples.map((s) => s.stats.iceConnectionState)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^(connected|completed)$/)]),
    );
    expect(run.final?.selectedPair?.state).toBe('succeeded');
    expect(run.final?.selectedPair?.local).toMatch(/^127\.0\.0\.1:\d+\/udp host$/);
    // Asterisk's end: learnt from its checks (peer-reflexive, address hidden by Chromium), in rtp.conf's range.
    const remote = /^(?:127\.0\.0\.1|\(hidden\)):(\d+)\/udp (?:host|prflx)$/.exec(
      run.final?.selectedPair?.remote ?? '',
    );
    expect(remote).not.toBeNull();
    expect(Number(remote![1])).toBeGreaterThanOrEqual(SANDBOX.rtpPortStart);
    expect(Number(remote![1])).toBeLessThanOrEqual(SANDBOX.rtpPortEnd);
    // Only loopback candidates were offered, so no check left 127.0.0.1.
    const offered = (run.sdp?.local ?? '').split('\r\n').filter((l) => l.startsWith('a=candidate:'));
    expect(offered.length).toBeGreaterThan(0);
    for (const c of offered) expect(c).toContain(' 127.0.0.1 ');
    expect(run.log.map((l) => l.event)).toEqual(expect.arrayContaining(['sending', 'accepted', 'confirmed']));
  });

  it('flows RTP both ways (Echo returns the fake microphone)', () => {
    const audio = run.final?.audio;
    console.log(
      `webrtc: ${audio?.codec ?? '?'} packetsSent=${audio?.packetsSent} packetsReceived=${audio?.packetsReceived} ` +
        `over ${run.samples.at(-1)?.atMs ?? '?'} ms; selected pair ${run.final?.selectedPair?.local} -> ` +
        `${run.final?.selectedPair?.remote}; dtls ${run.final?.dtls.state} ${run.final?.dtls.srtpCipher}; ` +
        `timings ${JSON.stringify(run.timings)}; candidates dropped (not 127.0.0.1): ` +
        `${JSON.stringify(run.sdp?.droppedCandidates)}`,
    );
    expect(audio?.packetsSent).toBeGreaterThan(MIN_PACKETS);
    expect(audio?.packetsReceived).toBeGreaterThan(MIN_PACKETS);
  });

  it('uses DTLS-SRTP', () => {
    for (const [side, sdp] of [
      ['offer', run.sdp?.local],
      ['answer', run.sdp?.remote],
    ] as const) {
      expect({ side, fingerprint: /^a=fingerprint:sha-256 [0-9A-F:]+$/im.test(sdp ?? '') }).toEqual({
        side,
        fingerprint: true,
      });
      expect({ side, proto: /^m=audio \d+ UDP\/TLS\/RTP\/SAVPF /m.test(sdp ?? '') }).toEqual({
        side,
        proto: true,
      });
    }
    expect(run.final?.dtls.state).toBe('connected');
    expect(run.final?.dtls.srtpCipher).toMatch(/AES|AEAD/);
  });

  it('ends the call cleanly on hangup', () => {
    expect(run.endState).toBe('ended');
    expect(run.log.find((l) => l.event === 'ended')?.detail).toMatchObject({ originator: 'local' });
  });

  it('streams the call on /ws: call.updated with a 1001 channel, then call.ended', async () => {
    const mentions1001 = (m: GatewayMessage) =>
      Array.isArray(m.data?.channels) && m.data.channels.some((c: any) => c?.endpoint === ENDPOINT.name);
    const updated = await expectEventually(() => {
      const found = gateway!.deltas('call.updated').find((m) => m.node === 'pbx1' && mentions1001(m));
      if (!found)
        throw new Error(`no call.updated with a channel of endpoint 1001; got ${gateway!.summary()}`);
      return found;
    }, 5000);
    const linkedid: unknown = updated.data.linkedid;
    expect(typeof linkedid).toBe('string');
    // While the call was up, 1001's channel was seen answered.
    expect(
      gateway!
        .deltas('call.updated')
        .filter((m) => m.data?.linkedid === linkedid)
        .flatMap((m) => m.data.channels as any[])
        .filter((c) => c?.endpoint === ENDPOINT.name)
        .map((c) => c.state),
    ).toContain('up');
    const ended = await expectEventually(() => {
      const found = gateway!.deltas('call.ended').find((m) => m.data?.linkedid === linkedid);
      if (!found)
        throw new Error(`no call.ended for linkedid ${String(linkedid)}; got ${gateway!.summary()}`);
      return found;
    }, 5000);
    expect(ended.seq).toBeGreaterThan(updated.seq!);
    // Answered, then ended by our BYE: a normal end (Asterisk reports cause 0 or 16 for it).
    expect(ended.data).toMatchObject({ linkedid, classification: 'normal' });
  });

  it('gets RTCP quality figures for the call (real RTCP both ways over rtcp-mux)', async () => {
    const live = run.liveQuality;
    console.log(`webrtc: RTCP quality of the 1001 channel while up: ${JSON.stringify(live)}`);
    // Endpoint → Asterisk from Asterisk's reports, Asterisk → endpoint from Chromium's.
    for (const way of ['inbound', 'outbound'] as const) {
      expect(live[way]).toMatchObject({
        packets: expect.any(Number),
        lostPackets: expect.any(Number),
        lossFraction: expect.any(Number),
        jitterMs: expect.any(Number),
      });
      expect(live[way].lossFraction).toBeLessThan(0.05);
    }
    expect(live.rttMs).toBeGreaterThanOrEqual(0);
    expect(live.rttMs).toBeLessThan(100);
    expect(live.mos).toBeGreaterThanOrEqual(4);

    // The ended call keeps them, on /calls/recent and on /ws (call.ended), and /ws streamed them live.
    const ended = await expectEventually(async () => {
      const { body } = await daemon!.get('/api/v1/nodes/pbx1/calls/recent?limit=200');
      const found = (body.calls as any[]).find((c) =>
        (c.channels as any[]).some((ch) => ch.endpoint === ENDPOINT.name && ch.uniqueid !== undefined),
      );
      expect(found?.quality?.mos).toEqual(expect.any(Number));
      return found;
    }, 5000);
    expect(ended.quality).toMatchObject({
      mos: expect.any(Number),
      jitterMs: expect.any(Number),
      lossFraction: expect.any(Number),
      rttMs: expect.any(Number),
    });
    const streamed = gateway!.deltas('call.quality').filter((m) => m.data?.endpoint === ENDPOINT.name);
    expect(streamed.length).toBeGreaterThanOrEqual(1);
    expect(streamed.at(-1)?.data.quality).toMatchObject({ mos: expect.any(Number) });
    const endedDelta = gateway!.deltas('call.ended').find((m) => m.data?.linkedid === ended.linkedid);
    expect(endedDelta?.data.quality).toEqual(ended.quality);
    // Audio both ways: no one-way alert.
    expect(gateway!.deltas('alert.raised').filter((m) => m.data?.type === 'one_way_audio')).toEqual([]);
  });

  it('shows a ws contact for 1001 in the REST API while it is registered', async () => {
    const body = await expectEventually(async () => {
      const res = await daemon!.get(`/api/v1/nodes/pbx1/endpoints/${ENDPOINT.name}`);
      expect(res.status).toBe(200);
      expect(res.body.contacts).toEqual(
        expect.arrayContaining([expect.objectContaining({ endpoint: ENDPOINT.name, transport: 'ws' })]),
      );
      return res.body;
    }, 5000);
    expect(body.endpoint).toMatchObject({ name: ENDPOINT.name });
  });
});
