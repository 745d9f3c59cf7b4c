/**
 * Browser code: a tiny JsSIP softphone for the WebRTC integration test. Never imported by Node code:
 * `bundleSoftphone()` (browser.ts) bundles it with esbuild into an IIFE that the test page loads.
 *
 *   window.softphone.register('ws://127.0.0.1:18088/ws', '1001', 'secret')
 *   window.softphone.call('600')          // or a full 'sip:600@host' URI
 *   await window.softphone.stats()        // ICE state, selected pair, audio RTP counters
 *   window.softphone.hangup(); window.softphone.stop()
 *
 * Every registration/call event is appended to `window.softphone.log`; `window.softphone.state` holds
 * the current registration and call states. The project's tsconfig has no DOM lib (it would leak into
 * the Node code), so the few browser APIs used here are reached through `any`.
 */
import { UA, WebSocketInterface } from 'jssip';

export type RegistrationState = 'unregistered' | 'registering' | 'registered' | 'failed' | 'stopped';
export type CallState = 'idle' | 'calling' | 'progress' | 'confirmed' | 'ended' | 'failed';

export interface SoftphoneLogEntry {
  /** ms since the page loaded. */
  t: number;
  event: string;
  detail?: Record<string, unknown>;
}

/** What `window.softphone.stats()` resolves: the call's peer connection, read from getStats(). */
export interface SoftphoneStats {
  iceConnectionState: string;
  connectionState: string;
  /** State of the selected candidate pair ('succeeded' once ICE works), null before there is one. */
  selectedPair: { state: string; local: string; remote: string; nominated: boolean } | null;
  /** The DTLS transport: 'connected' once the DTLS handshake is done; the SRTP cipher it chose. */
  dtls: {
    state: string | null;
    srtpCipher: string | null;
    dtlsCipher: string | null;
    tlsVersion: string | null;
  };
  audio: {
    packetsReceived: number;
    packetsSent: number;
    bytesReceived: number;
    bytesSent: number;
    /** e.g. 'audio/opus' */
    codec: string | null;
  };
}

export interface SoftphoneSdp {
  /** The offer as sent to Asterisk (after dropping non-loopback candidates). */
  local: string | null;
  /** Asterisk's answer. */
  remote: string | null;
  /**
   * Candidates removed so that every ICE check stays on 127.0.0.1: the machine's other addresses, from
   * our offer and from Asterisk's answer (Asterisk advertises its interfaces' addresses, not the
   * 127.0.0.1 its RTP socket is bound to; its checks from 127.0.0.1 then make a peer-reflexive pair).
   */
  droppedCandidates: { local: string[]; remote: string[] };
}

export interface Softphone {
  ready: true;
  /** `window.isSecureContext`: getUserMedia needs it (http://127.0.0.1 qualifies). */
  secureContext: boolean;
  hasGetUserMedia: boolean;
  state: { registration: RegistrationState; call: CallState };
  log: SoftphoneLogEntry[];
  register(wsUrl: string, user: string, password: string, domain?: string): void;
  call(target: string): void;
  hangup(): void;
  /** Unregisters (REGISTER Expires: 0) and closes the WebSocket. */
  stop(): void;
  stats(): Promise<SoftphoneStats | null>;
  sdp(): SoftphoneSdp;
}

const g = globalThis as any;
const started = Date.now();
let ua: UA | undefined;
let session: any;
let domain = '127.0.0.1';
const sdp: SoftphoneSdp = { local: null, remote: null, droppedCandidates: { local: [], remote: [] } };

const softphone: Softphone = {
  ready: true,
  secureContext: g.isSecureContext === true,
  hasGetUserMedia: typeof g.navigator?.mediaDevices?.getUserMedia === 'function',
  state: { registration: 'unregistered', call: 'idle' },
  log: [],
  register,
  call,
  hangup,
  stop,
  stats,
  sdp: () => ({
    ...sdp,
    droppedCandidates: { local: [...sdp.droppedCandidates.local], remote: [...sdp.droppedCandidates.remote] },
  }),
};
g.softphone = softphone;

function record(event: string, detail?: Record<string, unknown>): void {
  softphone.log.push({ t: Date.now() - started, event, ...(detail ? { detail } : {}) });
  render();
}

function causeOf(e: any): Record<string, unknown> {
  return {
    cause: e?.cause ?? null,
    status: e?.response?.status_code ?? e?.message?.status_code ?? null,
    reason: e?.response?.reason_phrase ?? e?.message?.reason_phrase ?? null,
    originator: e?.originator ?? null,
  };
}

function register(wsUrl: string, user: string, password: string, sipDomain?: string): void {
  if (ua) throw new Error('softphone: already started; call stop() first');
  domain = sipDomain ?? new URL(wsUrl).hostname;
  softphone.state.registration = 'registering';
  record('register', { wsUrl, user, domain });
  const socket = new WebSocketInterface(wsUrl);
  ua = new UA({
    sockets: [socket],
    uri: `sip:${user}@${domain}`,
    password,
    register: true,
    register_expires: 300,
    session_timers: false,
    user_agent: 'pbxpulse-test-softphone (JsSIP)',
    // No reconnection storm if Asterisk goes away mid-test.
    connection_recovery_min_interval: 2,
    connection_recovery_max_interval: 10,
  });
  ua.on('connected', () => record('connected'));
  ua.on('disconnected', (e: any) =>
    record('disconnected', { error: e?.error ?? false, code: e?.code ?? null }),
  );
  ua.on('registered', (e: any) => {
    softphone.state.registration = 'registered';
    record('registered', {
      status: e?.response?.status_code ?? null,
      contact: e?.response?.getHeader?.('Contact') ?? null,
    });
  });
  ua.on('unregistered', (e: any) => {
    if (softphone.state.registration !== 'stopped') softphone.state.registration = 'unregistered';
    record('unregistered', causeOf(e));
  });
  ua.on('registrationFailed', (e: any) => {
    softphone.state.registration = 'failed';
    record('registrationFailed', causeOf(e));
  });
  ua.on('newRTCSession', (e: any) => {
    if (e.originator === 'remote') {
      record('incomingCall', { from: String(e.request?.from?.uri ?? '') });
      e.session.terminate({ status_code: 486 });
    }
  });
  ua.start();
}

/** Keeps only 127.0.0.1 candidates, so every ICE check stays on loopback. */
function loopbackOnly(text: string, dropped: string[]): string {
  const lines = text.split('\r\n');
  const kept = lines.filter((line) => {
    const m = /^a=candidate:\S+ \d+ \S+ \d+ (\S+) /i.exec(line);
    if (!m || m[1] === '127.0.0.1') return true;
    dropped.push(line.slice(2));
    return false;
  });
  return kept.join('\r\n');
}

function call(target: string): void {
  if (!ua) throw new Error('softphone: register() first');
  if (session && !session.isEnded()) throw new Error('softphone: a call is already up');
  const uri = target.startsWith('sip:') ? target : `sip:${target}@${domain}`;
  softphone.state.call = 'calling';
  sdp.local = null;
  sdp.remote = null;
  sdp.droppedCandidates = { local: [], remote: [] };
  record('call', { uri });
  session = ua.call(uri, {
    mediaConstraints: { audio: true, video: false },
    // No STUN/TURN: the machine has no internet, and everything is on 127.0.0.1.
    pcConfig: { iceServers: [], bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' },
    rtcOfferConstraints: { offerToReceiveAudio: true, offerToReceiveVideo: false },
    eventHandlers: {
      peerconnection: (e: any) => {
        const pc = e.peerconnection;
        pc.addEventListener('iceconnectionstatechange', () =>
          record('iceConnectionState', { state: pc.iceConnectionState }),
        );
        pc.addEventListener('connectionstatechange', () =>
          record('connectionState', { state: pc.connectionState }),
        );
      },
      sdp: (e: any) => {
        // JsSIP sends (local) or applies (remote) e.sdp after this handler: the place to edit it.
        if (e.originator === 'local') {
          e.sdp = loopbackOnly(e.sdp, sdp.droppedCandidates.local);
          sdp.local = e.sdp;
        } else {
          sdp.remote = e.sdp;
          e.sdp = loopbackOnly(e.sdp, sdp.droppedCandidates.remote);
        }
        record('sdp', { originator: e.originator, type: e.type });
      },
      sending: () => record('sending'),
      progress: (e: any) => {
        softphone.state.call = 'progress';
        record('progress', { status: e?.response?.status_code ?? null, originator: e?.originator ?? null });
      },
      accepted: () => record('accepted'),
      confirmed: () => {
        softphone.state.call = 'confirmed';
        record('confirmed');
      },
      ended: (e: any) => {
        softphone.state.call = 'ended';
        record('ended', causeOf(e));
      },
      failed: (e: any) => {
        softphone.state.call = 'failed';
        record('failed', causeOf(e));
      },
      getusermediafailed: (e: any) => record('getUserMediaFailed', { error: String(e) }),
      'peerconnection:setremotedescriptionfailed': (e: any) =>
        record('setRemoteDescriptionFailed', { error: String(e) }),
    },
  });
}

function hangup(): void {
  if (session && !session.isEnded()) {
    record('hangup');
    session.terminate();
  }
}

function stop(): void {
  if (!ua) return;
  hangup();
  record('stop');
  softphone.state.registration = 'stopped';
  ua.stop();
  ua = undefined;
}

async function stats(): Promise<SoftphoneStats | null> {
  const pc = session?.connection;
  if (!pc) return null;
  const byId = new Map<string, any>();
  (await pc.getStats()).forEach((s: any) => byId.set(s.id, s));
  const all = [...byId.values()];
  const transport = all.find((s) => s.type === 'transport');
  const pair =
    (transport?.selectedCandidatePairId && byId.get(transport.selectedCandidatePairId)) ||
    all.find((s) => s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') ||
    null;
  const describe = (c: any): string =>
    // Chromium hides the address of peer-reflexive candidates in getStats.
    c ? `${c.address || c.ip || '(hidden)'}:${c.port}/${c.protocol} ${c.candidateType}` : 'unknown';
  const inbound = all.find((s) => s.type === 'inbound-rtp' && (s.kind ?? s.mediaType) === 'audio');
  const outbound = all.find((s) => s.type === 'outbound-rtp' && (s.kind ?? s.mediaType) === 'audio');
  const codec = byId.get(inbound?.codecId ?? outbound?.codecId ?? '');
  return {
    iceConnectionState: pc.iceConnectionState,
    connectionState: pc.connectionState,
    selectedPair: pair
      ? {
          state: pair.state,
          local: describe(byId.get(pair.localCandidateId)),
          remote: describe(byId.get(pair.remoteCandidateId)),
          nominated: pair.nominated === true,
        }
      : null,
    dtls: {
      state: transport?.dtlsState ?? null,
      srtpCipher: transport?.srtpCipher ?? null,
      dtlsCipher: transport?.dtlsCipher ?? null,
      tlsVersion: transport?.tlsVersion ?? null,
    },
    audio: {
      packetsReceived: inbound?.packetsReceived ?? 0,
      packetsSent: outbound?.packetsSent ?? 0,
      bytesReceived: inbound?.bytesReceived ?? 0,
      bytesSent: outbound?.bytesSent ?? 0,
      codec: codec?.mimeType ?? null,
    },
  };
}

// ------------------------------------------------------------------ on-page status (for screenshots)
let lastStats: SoftphoneStats | null = null;

function render(): void {
  const el = g.document?.getElementById('status');
  if (!el) return;
  const a = lastStats?.audio;
  el.textContent = [
    `secure context: ${softphone.secureContext}   getUserMedia: ${softphone.hasGetUserMedia}`,
    `registration:   ${softphone.state.registration}`,
    `call:           ${softphone.state.call}`,
    `ICE:            ${lastStats ? `${lastStats.iceConnectionState} (pair ${lastStats.selectedPair?.state ?? '-'}: ${lastStats.selectedPair?.local ?? ''} -> ${lastStats.selectedPair?.remote ?? ''})` : '-'}`,
    `DTLS:           ${lastStats ? `${lastStats.dtls.state} ${lastStats.dtls.srtpCipher ?? ''}` : '-'}`,
    `audio RTP:      ${a ? `${a.codec ?? '?'}  received ${a.packetsReceived}  sent ${a.packetsSent}` : '-'}`,
  ].join('\n');
  const logEl = g.document?.getElementById('log');
  if (logEl) {
    logEl.textContent = softphone.log
      .slice(-25)
      .map(
        (l) => `${String(l.t).padStart(6)} ms  ${l.event}${l.detail ? ' ' + JSON.stringify(l.detail) : ''}`,
      )
      .join('\n');
  }
}

g.setInterval(() => {
  stats().then(
    (s) => {
      lastStats = s ?? lastStats;
      render();
    },
    () => undefined,
  );
}, 250);
render();
