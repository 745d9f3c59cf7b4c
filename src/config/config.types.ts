import type { LogFormat, LogLevelName } from '../common/logger';

/**
 * The validated configuration. Built once at boot by `loadConfig`; nobody else reads `process.env`.
 * Secrets are plain strings here and must never be logged or returned by the API.
 */
export interface PbxpulseConfig {
  http: HttpConfig;
  auth: AuthConfig;
  connections: ConnectionTuning;
  state: StateTuning;
  detection: DetectionTuning;
  gateway: GatewayTuning;
  control: ControlTuning;
  log: LogConfig;
  metrics: MetricsConfig;
  nodes: NodeConfig[];
  /** Several daemons sharing the fleet through Redis; absent: one daemon watches every node (default). */
  cluster?: ClusterConfig;
  /** Path of the file the config was read from (for messages), or `<embedded>`. */
  source: string;
}

export interface HttpConfig {
  /** Default `0.0.0.0`. */
  host: string;
  /** Default `9630`. */
  port: number;
}

/** Tokens come from `adminToken:`/`viewerToken:` or `adminTokenFile:`/`viewerTokenFile:`; never empty. */
export interface AuthConfig {
  /** Required for control routes; when absent, control routes answer 401. */
  adminToken?: string;
  /** When set, `/api` and `/ws` reads need the viewer or admin token. Differs from `adminToken`. */
  viewerToken?: string;
}

/** Timings shared by every node's AMI and ARI links. */
export interface ConnectionTuning {
  /** First reconnect delay ceiling. Default 250 ms. */
  reconnectInitialDelayMs: number;
  /** Reconnect delay cap. Default 2000 ms. */
  reconnectMaxDelayMs: number;
  /** Time allowed for an AMI action / ARI request before a typed timeout error. Default 10000 ms. */
  actionTimeoutMs: number;
  /** Time allowed for TCP/WebSocket connect plus login. Default 5000 ms. */
  connectTimeoutMs: number;
  /**
   * Liveness budget of each AMI session and ARI events socket: after this long without a byte from
   * Asterisk the link is dropped, reconnected and resynced. A probe (AMI `Ping`, WebSocket ping) goes out
   * after a third of it in silence. Default 15000 ms.
   */
  keepaliveIntervalMs: number;
  /** Largest AMI frame accepted; a larger one is counted as malformed and skipped. Default 1 MiB. */
  maxFrameBytes: number;
}

/** How the live state is kept honest. */
export interface StateTuning {
  /** Reconciliation poll: refresh RTT and repair what a lost event left stale. Default 60000 ms. */
  reconcileIntervalMs: number;
}

/** Thresholds of the detectors (401 loops, AOR-not-found) and the security-event buffer. */
export interface DetectionTuning {
  /** A 401 loop is active once this many digest failures from one source … Default 3. */
  authLoopThreshold: number;
  /** … fall within this window, with no SuccessfulAuth in between. Default 60000 ms. */
  authLoopWindowMs: number;
  /** An active loop clears after this long without a failure from its source. Default 120000 ms. */
  authLoopQuietMs: number;
  /** An `aor_not_found` alert stays active this long after the last occurrence. Default 300000 ms. */
  aorNotFoundWindowMs: number;
  /**
   * An outbound registration (trunk) that is not registered for this long (failed and retrying, or never
   * answered) raises an `outbound_registration` alert; a rejection Asterisk gave up on raises it at once.
   * Default 120000 ms.
   */
  outboundRegistrationFailingMs: number;
  /**
   * A trunk that does not register (permanent `contact=` with `qualify_frequency`) whose contacts all
   * fail to answer OPTIONS for this long raises a `trunk_unreachable` alert. Default 60000 ms.
   */
  trunkUnreachableMs: number;
  /** Size of each node's ring buffer of security events. Default 1000. */
  securityEventBuffer: number;
  /**
   * A live call's leg whose one way carries RTP while the other carries none for this long raises a
   * `one_way_audio` alert. At least two RTCP intervals (rtp.conf `rtcpinterval`, 5 s by default).
   * Default 15000 ms.
   */
  oneWayAudioMs: number;
}

/** The WebSocket gateway (`/ws`). */
export interface GatewayTuning {
  /** A client whose unsent data exceeds this is closed with 1013 (it stopped reading). Default 1 MiB. */
  maxBufferedBytes: number;
  /** Deltas kept for `?since=<seq>` resume. Default 10000. */
  replayBuffer: number;
  /** Ping interval; a client that did not answer the previous ping is dropped. Default 30000 ms. */
  heartbeatIntervalMs: number;
}

/** The control routes (`POST …/reload`, `…/qualify`). */
export interface ControlTuning {
  /** A second reload of the same node within this window is refused with 429. Default 10000 ms. */
  reloadMinIntervalMs: number;
}

/** The daemon's log output (stdout; errors on stderr). */
export interface LogConfig {
  /** `auto` (default): JSON lines when stdout is not a terminal, coloured text on a terminal. */
  format: LogFormat;
  /** The least severe level written. Default `log` (error, warn and log). */
  level: LogLevelName;
}

/** What `/metrics` exposes (README, "Metrics"). */
export interface MetricsConfig {
  perEndpoint: PerEndpointMetricsConfig;
}

/**
 * `active` (default): per-endpoint counters only for endpoints that have had an event, at most
 * `maxEndpoints` of them per node and family, the rest summed into `endpoint="<other>"`. `all`: every
 * configured endpoint at 0 from the start, no cap (small PBXs). `pbxpulse_endpoint_registered` lists
 * every configured endpoint in both modes.
 */
export type PerEndpointMetricsMode = 'active' | 'all';

export interface PerEndpointMetricsConfig {
  mode: PerEndpointMetricsMode;
  /** `active` mode: endpoint label values per node and counter family before `<other>`. Default 1000. */
  maxEndpoints: number;
}

/** `cluster:`: the daemons of one fleet coordinate through one Redis (README, "Running several daemons"). */
export interface ClusterConfig {
  /**
   * `redis://[user:password@]host[:port][/db]` or `rediss://…` (TLS). May hold a password: never log it,
   * show `redactRedisUrl(redis)` instead.
   */
  redis: string;
  /**
   * The base URL at which the other daemons reach this daemon's HTTP server (per-node reads of a node
   * watched elsewhere are forwarded there). Absent: `http://<os.hostname()>:<http.port>`.
   */
  advertiseUrl?: string;
}

export interface NodeConfig {
  /** `[a-z0-9_-]+`, unique. */
  name: string;
  ami: AmiEndpointConfig;
  ari: AriEndpointConfig;
}

export interface AmiEndpointConfig {
  host: string;
  /** Default 5038. */
  port: number;
  username: string;
  /** From `secret:` or `secretFile:`. */
  secret: string;
}

export interface AriEndpointConfig {
  /**
   * Base URL of the Asterisk HTTP server, e.g. `http://127.0.0.1:8088`: no trailing `/` nor `/ari` (the
   * loader strips them), no credentials, query or fragment; a path prefix (reverse proxy) is kept.
   */
  url: string;
  username: string;
  /** From `password:` or `passwordFile:`. */
  password: string;
}
