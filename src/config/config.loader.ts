/*
 * Configuration file rules (beyond the shape in config.types.ts):
 * - `${NAME}` (NAME = [A-Za-z_][A-Za-z0-9_]*) in any string value is replaced from the environment, also
 *   inside a longer string and unquoted in flow mappings. `$${` is a literal `${`; any other `$` is kept.
 *   An unset variable is an error; a set but empty one gives an empty string, which is an error for every
 *   key (tokens included: an empty token must not silently switch auth off).
 * - Integer keys also accept a string of digits, which is what `${VAR}` yields.
 * - `secretFile`, `passwordFile`, `adminTokenFile`, `viewerTokenFile`: relative paths are resolved against
 *   the config file's directory; trailing CR/LF is removed; the rest must be one non-empty line.
 * - null (`key:` with nothing after it) means "not given".
 * - YAML merge keys (`<<: *anchor`) are allowed; duplicate keys and several documents are not.
 * - Problems name key paths and quote bad values, except secrets, values that came from the environment
 *   and anything that may hold credentials, which are described without their content.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import {
  type Alias,
  type Document,
  isCollection,
  LineCounter,
  parseDocument,
  visit,
  type YAMLError,
} from 'yaml';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevelName } from '../common/logger';
import { ConfigError, ConfigSourceError, ConfigSyntaxError } from './config.errors';
import type {
  AmiEndpointConfig,
  AriEndpointConfig,
  AuthConfig,
  ClusterConfig,
  ConnectionTuning,
  ControlTuning,
  DetectionTuning,
  GatewayTuning,
  HttpConfig,
  LogConfig,
  MetricsConfig,
  NodeConfig,
  PbxpulseConfig,
  PerEndpointMetricsMode,
  StateTuning,
} from './config.types';

/** Reads a whole file as UTF-8; throws when it cannot. Injected so tests never touch the disk. */
export type ReadFile = (path: string) => string;

export interface LoadConfigOptions {
  /** Command-line arguments (`process.argv` is fine: only `--config` is looked at). */
  argv: string[];
  /** Environment for `PBXPULSE_CONFIG` and `${VAR}` substitution. */
  env: NodeJS.ProcessEnv;
  /** Default: `fs.readFileSync(path, 'utf8')`. */
  readFile?: ReadFile;
}

export interface ParseConfigOptions {
  /** Name of the configuration for messages and `PbxpulseConfig.source`: the file path, or `<embedded>`. */
  source: string;
  env: NodeJS.ProcessEnv;
  readFile?: ReadFile;
  /** Directory that relative `*File` paths are resolved against. Default: the directory of `source`. */
  baseDir?: string;
}

export const CONFIG_ENV_VAR = 'PBXPULSE_CONFIG';

export const CONFIG_DEFAULTS = {
  http: { host: '0.0.0.0', port: 9630 },
  amiPort: 5038,
  connections: {
    reconnectInitialDelayMs: 250,
    // Asterisk accepts logins before it is fully booted: with this cap the daemon is ready at most ~2.5 s
    // after a boot, however long Asterisk was down (5 s made 4.5 s in 100 restarts, next to the 5 s goal).
    reconnectMaxDelayMs: 2000,
    actionTimeoutMs: 10000,
    connectTimeoutMs: 5000,
    keepaliveIntervalMs: 15000,
    maxFrameBytes: 1048576,
  },
  state: { reconcileIntervalMs: 60000 },
  detection: {
    authLoopThreshold: 3,
    authLoopWindowMs: 60000,
    authLoopQuietMs: 120000,
    aorNotFoundWindowMs: 300000,
    outboundRegistrationFailingMs: 120000,
    trunkUnreachableMs: 60000,
    securityEventBuffer: 1000,
    oneWayAudioMs: 15000,
  },
  gateway: { maxBufferedBytes: 1048576, replayBuffer: 10000, heartbeatIntervalMs: 30000 },
  control: { reloadMinIntervalMs: 10000 },
  log: { format: 'auto', level: 'log' },
  metrics: { perEndpoint: { mode: 'active', maxEndpoints: 1000 } },
} as const satisfies {
  http: HttpConfig;
  amiPort: number;
  connections: ConnectionTuning;
  state: StateTuning;
  detection: DetectionTuning;
  gateway: GatewayTuning;
  control: ControlTuning;
  log: LogConfig;
  metrics: MetricsConfig;
};

const defaultReadFile: ReadFile = (path) => readFileSync(path, 'utf8');

/**
 * Finds the configuration file (`--config <path>`, `--config=<path>`, else `PBXPULSE_CONFIG`), reads,
 * parses and validates it. Throws `ConfigSourceError` (nothing named / unreadable), `ConfigSyntaxError`
 * (not YAML) or `ConfigError` (every validation problem at once).
 */
export function loadConfig(options: LoadConfigOptions): PbxpulseConfig {
  const readFile = options.readFile ?? defaultReadFile;
  const path = findConfigPath(options.argv, options.env);
  let text: string;
  try {
    text = readFile(path);
  } catch (error) {
    throw new ConfigSourceError(`cannot read configuration file ${path} (${describeReadError(error)})`);
  }
  return parseConfig(text, { source: path, env: options.env, readFile });
}

/** The configuration path from argv (which wins) or the environment. */
export function findConfigPath(argv: readonly string[], env: NodeJS.ProcessEnv): string {
  let found: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') break;
    let value: string | undefined;
    if (arg === '--config') {
      value = argv[i + 1];
      i++;
      if (value === undefined || value.startsWith('--')) {
        throw new ConfigSourceError('--config needs a path: --config <path>');
      }
    } else if (arg.startsWith('--config=')) {
      value = arg.slice('--config='.length);
    } else {
      continue;
    }
    if (value === '') throw new ConfigSourceError('--config needs a path: --config <path>');
    if (found !== undefined) throw new ConfigSourceError('--config is given more than once');
    found = value;
  }
  if (found !== undefined) return found;
  const fromEnv = env[CONFIG_ENV_VAR];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  throw new ConfigSourceError(`no configuration: pass --config <path> or set ${CONFIG_ENV_VAR}`);
}

/** Parses YAML (or JSON) text and validates it; see `loadConfig` for the errors thrown. */
export function parseConfig(text: string, options: ParseConfigOptions): PbxpulseConfig {
  if (/[\uE000-\uE002]/.test(text)) {
    throw new ConfigSyntaxError(options.source, 'contains reserved characters U+E000-U+E002');
  }
  const lineCounter = new LineCounter();
  // merge: lets several nodes share settings through `<<: *anchor`.
  const doc = parseDocument(protectReferences(text), {
    prettyErrors: false,
    lineCounter,
    merge: true,
    uniqueKeys: true,
  });
  const first = doc.errors[0];
  if (first !== undefined) {
    const { line, col } = lineCounter.linePos(first.pos[0]);
    throw new ConfigSyntaxError(options.source, syntaxReason(first), { line, column: col });
  }
  // A list or mapping as a key (`? [a, b]`) has no name to report; the library would also stringify it
  // with a process warning on stderr.
  let complexKey: number | undefined;
  visit(doc, {
    Pair(_, pair) {
      if (!isCollection(pair.key)) return undefined;
      complexKey = pair.key.range?.[0] ?? 0;
      return visit.BREAK;
    },
  });
  if (complexKey !== undefined) {
    const { line, col } = lineCounter.linePos(complexKey);
    throw new ConfigSyntaxError(options.source, 'a key is a list or a mapping; keys are plain names', {
      line,
      column: col,
    });
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch {
    // The library's message names the alias, and an unquoted secret starting with `*` is parsed as
    // one: never repeat it, point at it.
    const alias = firstUnresolvedAlias(doc);
    const reason =
      'a value starts with * (read as a YAML alias to an anchor that does not exist) or an alias is ' +
      'used too often; quote the value, e.g. secret: "*abc"';
    if (alias?.range) {
      const { line, col } = lineCounter.linePos(alias.range[0]);
      throw new ConfigSyntaxError(options.source, reason, { line, column: col });
    }
    throw new ConfigSyntaxError(options.source, reason);
  }
  return validateDocument(raw, options);
}

/** Validates the parsed document (strings still carry the `protectReferences` marks). */
function validateDocument(raw: unknown, options: ParseConfigOptions): PbxpulseConfig {
  const validator = new Validator(
    options.env,
    options.readFile ?? defaultReadFile,
    options.baseDir ?? dirname(resolve(options.source)),
  );
  const config = validator.root(raw, options.source);
  if (validator.problems.length > 0 || config === undefined) {
    throw new ConfigError(options.source, validator.problems);
  }
  return deepFreeze(config);
}

const ROOT_KEYS = [
  'http',
  'auth',
  'connections',
  'state',
  'detection',
  'gateway',
  'control',
  'log',
  'metrics',
  'nodes',
  'cluster',
] as const;
const CLUSTER_KEYS = ['redis', 'advertiseUrl'] as const;
const HTTP_KEYS = ['host', 'port'] as const;
const AUTH_KEYS = ['adminToken', 'adminTokenFile', 'viewerToken', 'viewerTokenFile'] as const;
const CONNECTION_KEYS = Object.keys(CONFIG_DEFAULTS.connections) as (keyof ConnectionTuning)[];
const STATE_KEYS = Object.keys(CONFIG_DEFAULTS.state) as (keyof StateTuning)[];
const DETECTION_KEYS = Object.keys(CONFIG_DEFAULTS.detection) as (keyof DetectionTuning)[];
const GATEWAY_KEYS = Object.keys(CONFIG_DEFAULTS.gateway) as (keyof GatewayTuning)[];
const CONTROL_KEYS = Object.keys(CONFIG_DEFAULTS.control) as (keyof ControlTuning)[];
const LOG_KEYS = ['format', 'level'] as const;
const METRICS_KEYS = ['perEndpoint'] as const;
const PER_ENDPOINT_KEYS = ['mode', 'maxEndpoints'] as const;
const PER_ENDPOINT_MODES: readonly PerEndpointMetricsMode[] = ['active', 'all'];
// 0 sends every endpoint with an event to <other>; the upper bound only catches a typo.
const MAX_ENDPOINTS = { min: 0, max: 1_000_000, expected: 'an integer 0-1000000 (endpoints per node)' };
const NODE_KEYS = ['name', 'ami', 'ari'] as const;
const AMI_KEYS = ['host', 'port', 'username', 'secret', 'secretFile'] as const;
const ARI_KEYS = ['url', 'username', 'password', 'passwordFile'] as const;

const NODE_NAME = /^[a-z0-9_-]+$/;
// setTimeout silently fires at once for anything larger.
const MAX_DELAY_MS = 2147483647;
const PORT = { min: 1, max: 65535, expected: 'an integer 1-65535' };
const DURATION = {
  min: 1,
  max: MAX_DELAY_MS,
  expected: `a positive integer (milliseconds, at most ${MAX_DELAY_MS})`,
};
const BYTES = { min: 1, max: Number.MAX_SAFE_INTEGER, expected: 'a positive integer (bytes)' };
const COUNT = { min: 1, max: 1_000_000, expected: 'a positive integer (at most 1000000)' };

type Mapping = Record<string, unknown>;

interface TextOptions {
  /** When set, a missing value is a problem and this explains what belongs there. */
  required?: string;
  /** Never echo the value, in any message. */
  secret?: boolean;
  /** What is expected, for type problems: "a host name or address". */
  expected: string;
}

/** A string value after `${VAR}` substitution; `template` is what the file said. */
interface Expanded {
  value: string;
  template: string;
  fromEnv: boolean;
}

/** Walks the raw document once, building typed sections and collecting every problem. */
class Validator {
  readonly problems: string[] = [];

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly readFile: ReadFile,
    private readonly baseDir: string,
  ) {}

  root(raw: unknown, source: string): PbxpulseConfig | undefined {
    // An empty file parses to null: report what is missing rather than a type error.
    const root = raw === null || raw === undefined ? {} : raw;
    const map = this.mapping(
      root,
      '',
      ROOT_KEYS,
      'a mapping with http, auth, connections, state, detection, gateway, control, log, metrics and nodes',
    );
    if (map === undefined) return undefined;
    const http = this.http(map.http);
    const auth = this.auth(map.auth);
    const connections = this.connections(map.connections);
    const state = this.tuning(map.state, 'state', STATE_KEYS, CONFIG_DEFAULTS.state);
    const detection = this.tuning(map.detection, 'detection', DETECTION_KEYS, CONFIG_DEFAULTS.detection);
    const gateway = this.tuning(map.gateway, 'gateway', GATEWAY_KEYS, CONFIG_DEFAULTS.gateway);
    const control = this.tuning(map.control, 'control', CONTROL_KEYS, CONFIG_DEFAULTS.control);
    const log = this.log(map.log);
    const metrics = this.metrics(map.metrics);
    const nodes = this.nodes(map.nodes);
    const cluster = this.cluster(map.cluster);
    if (
      http === undefined ||
      auth === undefined ||
      connections === undefined ||
      state === undefined ||
      detection === undefined ||
      gateway === undefined ||
      control === undefined ||
      log === undefined ||
      metrics === undefined ||
      nodes === undefined ||
      cluster === null
    ) {
      return undefined;
    }
    const config: PbxpulseConfig = {
      http,
      auth,
      connections,
      state,
      detection,
      gateway,
      control,
      log,
      metrics,
      nodes,
      source,
    };
    if (cluster !== undefined) config.cluster = cluster;
    return config;
  }

  /** `cluster:`; undefined when absent (single daemon), null when invalid. */
  private cluster(raw: unknown): ClusterConfig | undefined | null {
    if (raw === undefined || raw === null) return undefined;
    const map = this.mapping(raw, 'cluster', CLUSTER_KEYS, 'a mapping with redis');
    if (map === undefined) return null;
    // Never echoed: the URL may hold the Redis password.
    const url = this.text(map, 'redis', 'cluster', {
      required: 'the Redis shared by the daemons, like redis://127.0.0.1:6379',
      expected: 'a redis:// or rediss:// URL like redis://127.0.0.1:6379',
      secret: true,
    });
    if (url === undefined) return null;
    const reason = redisUrlProblem(url.value);
    if (reason !== undefined) {
      this.problem('cluster.redis', `${reason} (the value is not shown: it may hold a password)`);
      return null;
    }
    const advertiseUrl = this.advertiseUrl(map);
    if (advertiseUrl === null) return null;
    return advertiseUrl === undefined ? { redis: url.value } : { redis: url.value, advertiseUrl };
  }

  /** `cluster.advertiseUrl`: an http(s) base URL without credentials, query or path; null when invalid. */
  private advertiseUrl(map: Mapping): string | undefined | null {
    const shape = 'an http(s) base URL like http://pbxpulse-1.internal:9630';
    const expected = `expected ${shape}`;
    const url = this.text(map, 'advertiseUrl', 'cluster', { expected: shape });
    if (url === undefined)
      return map.advertiseUrl === undefined || map.advertiseUrl === null ? undefined : null;
    const got = /[@?#]/.test(url.value) ? '' : `, got ${describeText(url)}`;
    let parsed: URL;
    try {
      parsed = new URL(url.value);
    } catch {
      this.problem('cluster.advertiseUrl', `${expected}${got}`);
      return null;
    }
    if ((parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.hostname === '') {
      this.problem('cluster.advertiseUrl', `${expected}${got}`);
      return null;
    }
    if (parsed.username !== '' || parsed.password !== '') {
      this.problem('cluster.advertiseUrl', "must not contain credentials (daemons pass the caller's token)");
      return null;
    }
    if (parsed.search !== '' || parsed.hash !== '' || parsed.pathname.replace(/\/+$/, '') !== '') {
      this.problem('cluster.advertiseUrl', `${expected} (no path, query or fragment)${got}`);
      return null;
    }
    return `${parsed.protocol}//${parsed.host}`;
  }

  private metrics(raw: unknown): MetricsConfig | undefined {
    const map = this.section(raw, 'metrics', METRICS_KEYS);
    if (map === undefined) return undefined;
    const per = this.section(map.perEndpoint, 'metrics.perEndpoint', PER_ENDPOINT_KEYS);
    if (per === undefined) return undefined;
    const defaults = CONFIG_DEFAULTS.metrics.perEndpoint;
    const mode = this.choice(per, 'mode', 'metrics.perEndpoint', PER_ENDPOINT_MODES);
    const maxEndpoints = this.integer(per, 'maxEndpoints', 'metrics.perEndpoint', MAX_ENDPOINTS);
    if (mode === 'all' && maxEndpoints !== undefined) {
      this.problem('metrics.perEndpoint.maxEndpoints', 'applies to mode active only (mode all has no cap)');
    }
    return {
      perEndpoint: { mode: mode ?? defaults.mode, maxEndpoints: maxEndpoints ?? defaults.maxEndpoints },
    };
  }

  private log(raw: unknown): LogConfig | undefined {
    const map = this.section(raw, 'log', LOG_KEYS);
    if (map === undefined) return undefined;
    const format = this.choice<LogFormat>(map, 'format', 'log', LOG_FORMATS);
    // Other loggers (pino, winston, syslog) call Nest's `log` level `info`.
    const level = this.choice<LogLevelName>(map, 'level', 'log', LOG_LEVELS, { info: 'log' });
    return { format: format ?? CONFIG_DEFAULTS.log.format, level: level ?? CONFIG_DEFAULTS.log.level };
  }

  private http(raw: unknown): HttpConfig | undefined {
    const map = this.section(raw, 'http', HTTP_KEYS);
    if (map === undefined) return undefined;
    const host = this.host(map, 'host', 'http', undefined) ?? CONFIG_DEFAULTS.http.host;
    const port = this.integer(map, 'port', 'http', PORT) ?? CONFIG_DEFAULTS.http.port;
    return { host, port };
  }

  private auth(raw: unknown): AuthConfig | undefined {
    const map = this.section(raw, 'auth', AUTH_KEYS);
    if (map === undefined) return undefined;
    const adminToken = this.secret(map, 'auth', 'adminToken', 'adminTokenFile', undefined);
    const viewerToken = this.secret(map, 'auth', 'viewerToken', 'viewerTokenFile', undefined);
    if (adminToken !== undefined && adminToken === viewerToken) {
      this.problem('auth.viewerToken', 'must differ from auth.adminToken (viewers would get control)');
    }
    const auth: AuthConfig = {};
    if (adminToken !== undefined) auth.adminToken = adminToken;
    if (viewerToken !== undefined) auth.viewerToken = viewerToken;
    return auth;
  }

  private connections(raw: unknown): ConnectionTuning | undefined {
    const map = this.section(raw, 'connections', CONNECTION_KEYS);
    if (map === undefined) return undefined;
    const tuning: ConnectionTuning = { ...CONFIG_DEFAULTS.connections };
    const before = this.problems.length;
    for (const key of CONNECTION_KEYS) {
      const limits = key === 'maxFrameBytes' ? BYTES : DURATION;
      const value = this.integer(map, key, 'connections', limits);
      if (value !== undefined) tuning[key] = value;
    }
    // Comparing against a default that replaced an invalid value would only add noise.
    const allValid = this.problems.length === before;
    if (allValid && tuning.reconnectMaxDelayMs < tuning.reconnectInitialDelayMs) {
      this.problem(
        'connections.reconnectMaxDelayMs',
        `must be at least reconnectInitialDelayMs (${tuning.reconnectInitialDelayMs}), got ${tuning.reconnectMaxDelayMs}`,
      );
    }
    return tuning;
  }

  /** A section of positive integers with defaults (`state`, `detection`). */
  private tuning<T extends object>(
    raw: unknown,
    section: string,
    keys: readonly (keyof T & string)[],
    defaults: Readonly<T>,
  ): T | undefined {
    const map = this.section(raw, section, keys);
    if (map === undefined) return undefined;
    const out = { ...defaults } as Record<string, number>;
    for (const key of keys) {
      const value = this.integer(
        map,
        key,
        section,
        key.endsWith('Ms') ? DURATION : key.endsWith('Bytes') ? BYTES : COUNT,
      );
      if (value !== undefined) out[key] = value;
    }
    return out as T;
  }

  private nodes(raw: unknown): NodeConfig[] | undefined {
    if (!Array.isArray(raw) || raw.length === 0) {
      const got = raw === undefined || raw === null ? '' : `, got ${describeKind(raw)}`;
      this.problem('nodes', `expected a list with at least one node${got}`);
      return undefined;
    }
    const nodes = (raw as unknown[]).map((item, index) => this.node(item, `nodes[${index}]`));
    this.checkUniqueNames(nodes.map((node) => node.name));
    const complete: NodeConfig[] = [];
    for (const node of nodes) {
      if (node.name === undefined || node.ami === undefined || node.ari === undefined) return undefined;
      complete.push({ name: node.name, ami: node.ami, ari: node.ari });
    }
    return complete;
  }

  private node(raw: unknown, path: string): Partial<NodeConfig> {
    const map = this.mapping(raw, path, NODE_KEYS, 'a mapping with name, ami and ari');
    if (map === undefined) return {};
    const name = this.nodeName(map, path);
    const ami = this.ami(map.ami, `${path}.ami`);
    const ari = this.ari(map.ari, `${path}.ari`);
    return { name, ami, ari };
  }

  private nodeName(map: Mapping, path: string): string | undefined {
    const name = this.text(map, 'name', path, {
      required: 'a short id like pbx1: lowercase letters, digits, _ and -',
      expected: 'a node name like pbx1',
    });
    if (name === undefined) return undefined;
    if (!NODE_NAME.test(name.value)) {
      this.problem(
        `${path}.name`,
        `expected lowercase letters, digits, _ and - only (like pbx1), got ${describeText(name)}`,
      );
      return undefined;
    }
    return name.value;
  }

  private ami(raw: unknown, path: string): AmiEndpointConfig | undefined {
    if (raw === undefined || raw === null) {
      this.problem(path, 'required (the AMI endpoint: host, port, username, secret)');
      return undefined;
    }
    const map = this.mapping(raw, path, AMI_KEYS, 'a mapping with host, port, username and secret');
    if (map === undefined) return undefined;
    const host = this.host(map, 'host', path, 'the Asterisk host whose manager interface to use');
    const port = this.integer(map, 'port', path, PORT) ?? CONFIG_DEFAULTS.amiPort;
    const username = this.text(map, 'username', path, {
      required: 'the AMI user from manager.conf',
      expected: 'a user name',
    });
    const secret = this.secret(map, path, 'secret', 'secretFile', "the AMI user's secret from manager.conf");
    if (host === undefined || username === undefined || secret === undefined) return undefined;
    return { host, port, username: username.value, secret };
  }

  private ari(raw: unknown, path: string): AriEndpointConfig | undefined {
    if (raw === undefined || raw === null) {
      this.problem(path, 'required (the ARI endpoint: url, username, password)');
      return undefined;
    }
    const map = this.mapping(raw, path, ARI_KEYS, 'a mapping with url, username and password');
    if (map === undefined) return undefined;
    const url = this.ariUrl(map, path);
    const username = this.text(map, 'username', path, {
      required: 'the ARI user from ari.conf',
      expected: 'a user name',
    });
    if (username !== undefined && username.value.includes(':')) {
      // Not quoted: `user:password` here is a likely mistake.
      this.problem(
        `${path}.username`,
        "must not contain ':' (HTTP basic auth splits user and password there)",
      );
    }
    const password = this.secret(
      map,
      path,
      'password',
      'passwordFile',
      "the ARI user's password from ari.conf",
    );
    if (url === undefined || username === undefined || username.value.includes(':')) return undefined;
    if (password === undefined) return undefined;
    return { url, username: username.value, password };
  }

  private ariUrl(map: Mapping, path: string): string | undefined {
    const url = this.text(map, 'url', path, {
      required: 'the Asterisk HTTP server, like http://127.0.0.1:8088',
      expected: 'an http(s) URL like http://127.0.0.1:8088',
    });
    if (url === undefined) return undefined;
    const expected = 'expected an http(s) URL like http://127.0.0.1:8088';
    // Credentials can hide in a URL (`user:pass@`, `?api_key=user:pass` as ari-client takes them, a
    // fragment): echo the value only when it has none of these.
    const got = /[@?#]/.test(url.value) ? '' : `, got ${describeText(url)}`;
    let parsed: URL;
    try {
      parsed = new URL(url.value);
    } catch {
      this.problem(`${path}.url`, `${expected}${got}`);
      return undefined;
    }
    if ((parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.hostname === '') {
      this.problem(`${path}.url`, `${expected}${got}`);
      return undefined;
    }
    if (parsed.username !== '' || parsed.password !== '') {
      this.problem(`${path}.url`, `must not contain credentials; use ${path}.username and ${path}.password`);
      return undefined;
    }
    if (parsed.search !== '' || parsed.hash !== '') {
      this.problem(`${path}.url`, `${expected} (no query or fragment)${got}`);
      return undefined;
    }
    // Adapters append `/ari/...` themselves; a path prefix (reverse proxy) is kept.
    const base = parsed.pathname
      .replace(/\/+$/, '')
      .replace(/\/ari$/, '')
      .replace(/\/+$/, '');
    return `${parsed.protocol}//${parsed.host}${base}`;
  }

  private host(map: Mapping, key: string, path: string, required: string | undefined): string | undefined {
    const host = this.text(map, key, path, { required, expected: 'a host name or address' });
    if (host === undefined) return undefined;
    if (/[\s/]/.test(host.value)) {
      this.problem(`${path}.${key}`, `expected a host name or address, got ${describeText(host)}`);
      return undefined;
    }
    return host.value;
  }

  /**
   * A secret given inline (`valueKey`) or as a file (`fileKey`); exactly one when `required` is set, at
   * most one otherwise. Neither the value nor the file content ever appears in a problem.
   */
  private secret(
    map: Mapping,
    path: string,
    valueKey: string,
    fileKey: string,
    required: string | undefined,
  ): string | undefined {
    const hasValue = map[valueKey] !== undefined && map[valueKey] !== null;
    const hasFile = map[fileKey] !== undefined && map[fileKey] !== null;
    if (hasValue && hasFile) {
      this.problem(`${path}.${valueKey}`, `${valueKey} and ${fileKey} are both set; give only one`);
      return undefined;
    }
    if (!hasValue && !hasFile) {
      if (required !== undefined) {
        this.problem(`${path}.${valueKey}`, `required (${required}; or ${fileKey}: a file holding it)`);
      }
      return undefined;
    }
    if (hasValue) {
      const value = this.text(map, valueKey, path, { secret: true, expected: 'a string' });
      return value?.value;
    }
    const file = this.text(map, fileKey, path, { expected: 'a file path' });
    if (file === undefined) return undefined;
    const filePath = resolve(this.baseDir, file.value);
    // The path may come from the environment; it is not a secret, so it is named in problems.
    let content: string;
    try {
      content = this.readFile(filePath);
    } catch (error) {
      this.problem(`${path}.${fileKey}`, `cannot read ${filePath} (${describeReadError(error)})`);
      return undefined;
    }
    // Editors and `echo` add a final newline that is not part of the secret.
    const secret = content.replace(/[\r\n]+$/, '');
    if (secret === '') {
      this.problem(`${path}.${fileKey}`, `${filePath} is empty`);
      return undefined;
    }
    if (/[\r\n]/.test(secret)) {
      this.problem(`${path}.${fileKey}`, `${filePath} must hold a single line`);
      return undefined;
    }
    return secret;
  }

  /** A non-empty single-line string, after `${VAR}` substitution. */
  private text(map: Mapping, key: string, path: string, options: TextOptions): Expanded | undefined {
    const keyPath = `${path}.${key}`;
    const raw = map[key];
    if (raw === undefined || raw === null) {
      if (options.required !== undefined) this.problem(keyPath, `required (${options.required})`);
      return undefined;
    }
    if (typeof raw !== 'string') {
      const got = options.secret ? describeKind(raw) : describeType(raw);
      const hint = typeof raw === 'number' || typeof raw === 'boolean' ? ' (quote it)' : '';
      this.problem(keyPath, `expected ${options.expected}${hint}, got ${got}`);
      return undefined;
    }
    const expanded = this.expand(raw, keyPath);
    if (expanded === undefined) return undefined;
    if (expanded.value.trim() === '') {
      const from = expanded.fromEnv
        ? ` (the environment variable in ${quote(expanded.template)} is empty)`
        : '';
      const what = options.secret ? 'must not be empty' : `expected ${options.expected}, got an empty string`;
      this.problem(keyPath, `${what}${from}`);
      return undefined;
    }
    if (/[\r\n]/.test(expanded.value)) {
      // Line breaks would split an AMI frame or an HTTP header.
      this.problem(keyPath, 'must be a single line');
      return undefined;
    }
    return expanded;
  }

  /**
   * Substitutes the `${VAR}` references that `protectReferences` marked, from the environment. Every
   * undefined variable is reported; a `${` left unmarked is a malformed reference.
   */
  private expand(raw: string, keyPath: string): Expanded | undefined {
    let value = '';
    let fromEnv = false;
    let ok = true;
    let i = 0;
    while (i < raw.length) {
      if (raw.startsWith(MARK.literal, i)) {
        value += '${';
        i += MARK.literal.length;
      } else if (raw.startsWith(MARK.open, i)) {
        const end = raw.indexOf(MARK.close, i);
        const name = raw.slice(i + MARK.open.length, end);
        const variable = this.env[name];
        if (variable === undefined) {
          this.problem(keyPath, `environment variable ${name} is not set (referenced as \${${name}})`);
          ok = false;
        } else {
          value += variable;
          fromEnv = true;
        }
        i = end + MARK.close.length;
      } else if (raw.startsWith('${', i)) {
        // Part of a secret could sit inside a malformed reference, so the text is never quoted.
        this.problem(
          keyPath,
          'malformed ${...} reference: use ${NAME} with letters, digits and _, or $${ for a literal ${',
        );
        return undefined;
      } else {
        value += raw[i];
        i++;
      }
    }
    return ok ? { value, template: restoreReferences(raw), fromEnv } : undefined;
  }

  /** One of a fixed set of words; `aliases` maps a common other name to a hint (`info` → use `log`). */
  private choice<T extends string>(
    map: Mapping,
    key: string,
    path: string,
    allowed: readonly T[],
    aliases: Record<string, T> = {},
  ): T | undefined {
    const expected = `one of ${allowed.join(', ')}`;
    const value = this.text(map, key, path, { expected });
    if (value === undefined) return undefined;
    if ((allowed as readonly string[]).includes(value.value)) return value.value as T;
    const alias = Object.hasOwn(aliases, value.value) ? aliases[value.value] : undefined;
    const hint = alias === undefined ? '' : ` (use ${alias})`;
    this.problem(`${path}.${key}`, `expected ${expected}, got ${describeText(value)}${hint}`);
    return undefined;
  }

  private integer(
    map: Mapping,
    key: string,
    path: string,
    limits: { min: number; max: number; expected: string },
  ): number | undefined {
    const keyPath = `${path}.${key}`;
    const raw = map[key];
    if (raw === undefined || raw === null) return undefined;
    let value: number;
    let got: string;
    if (typeof raw === 'number') {
      value = raw;
      got = String(raw);
    } else if (typeof raw === 'string') {
      // `${VAR}` always yields a string, so "5038" must be accepted.
      const expanded = this.expand(raw, keyPath);
      if (expanded === undefined) return undefined;
      value = /^\s*\d+\s*$/.test(expanded.value) ? Number(expanded.value) : NaN;
      got = describeText(expanded);
    } else {
      this.problem(keyPath, `expected ${limits.expected}, got ${describeType(raw)}`);
      return undefined;
    }
    if (!Number.isInteger(value) || value < limits.min || value > limits.max) {
      this.problem(keyPath, `expected ${limits.expected}, got ${got}`);
      return undefined;
    }
    return value;
  }

  /** An optional section: absent or null means all defaults. */
  private section(raw: unknown, path: string, known: readonly string[]): Mapping | undefined {
    if (raw === undefined || raw === null) return {};
    return this.mapping(raw, path, known, `a mapping of ${known.join(', ')}`);
  }

  private mapping(
    raw: unknown,
    path: string,
    known: readonly string[],
    expected: string,
  ): Mapping | undefined {
    if (!isMapping(raw)) {
      // Not quoted: `auth: <token>` is an easy mistake.
      this.problem(path || '(top level)', `expected ${expected}, got ${describeKind(raw)}`);
      return undefined;
    }
    for (const key of Object.keys(raw)) {
      if (!known.includes(key)) this.unknownKey(path, key, known);
    }
    return raw;
  }

  private unknownKey(path: string, rawKey: string, known: readonly string[]): void {
    const key = restoreReferences(rawKey);
    const colon = key.indexOf(':');
    if (colon >= 0) {
      // `{ secret:hunter2 }` parses as the key "secret:hunter2": show only what precedes the colon.
      const head = key.slice(0, colon + 1);
      this.problem(
        path || '(top level)',
        `unknown key starting with ${JSON.stringify(head)} (missing a space after ':'? the rest is not shown)`,
      );
      return;
    }
    const suggestion = closest(key, known);
    const hint =
      suggestion === undefined ? `expected one of ${known.join(', ')}` : `did you mean ${suggestion}?`;
    this.problem(path ? `${path}.${key}` : key, `unknown key (${hint})`);
  }

  private checkUniqueNames(names: (string | undefined)[]): void {
    const reported = new Set<string>();
    names.forEach((name, index) => {
      if (name === undefined || reported.has(name)) return;
      const others = names.flatMap((other, j) => (other === name && j !== index ? [`nodes[${j}]`] : []));
      if (others.length === 0) return;
      reported.add(name);
      this.problem(
        `nodes[${index}].name`,
        `${JSON.stringify(name)} is used by ${others.join(' and ')} too; node names must be unique`,
      );
    });
  }

  private problem(path: string, text: string): void {
    this.problems.push(`${path}: ${text}`);
  }
}

const REDIS_URL_EXPECTED = 'expected a redis:// or rediss:// URL like redis://127.0.0.1:6379';

/** Why `value` is not a usable Redis URL, or undefined when it is. Never includes the value. */
function redisUrlProblem(value: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    return REDIS_URL_EXPECTED;
  }
  if ((parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') || parsed.hostname === '') {
    return REDIS_URL_EXPECTED;
  }
  if (parsed.search !== '' || parsed.hash !== '') return `${REDIS_URL_EXPECTED} (no query or fragment)`;
  if (!/^\/?(\d{1,2})?$/.test(parsed.pathname)) {
    return `${REDIS_URL_EXPECTED}; the path can only be a database number, like /0`;
  }
  return undefined;
}

/**
 * Placeholders for `${NAME}` and `$${`, from the Unicode private use area, of the same length as what
 * they replace so YAML error columns stay right.
 */
const MARK = { open: '\uE000\uE000', close: '\uE001', literal: '\uE002\uE002\uE002' };
const REFERENCE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
const MARKED = /\uE000\uE000([^\uE001]*)\uE001|\uE002\uE002\uE002/g;

/**
 * Marks `${NAME}` references in the raw text before YAML parsing. Unquoted `{ secret: ${AMI_SECRET} }`
 * (the documented form) is otherwise a YAML syntax error, since `{` and `}` end a plain scalar inside a
 * flow mapping. Values are still substituted only after parsing, so an environment value can never
 * inject YAML.
 */
function protectReferences(text: string): string {
  return text.replace(REFERENCE, (_match, name: string | undefined) =>
    name === undefined ? MARK.literal : `${MARK.open}${name}${MARK.close}`,
  );
}

/** The text as the file wrote it, for messages. */
function restoreReferences(text: string): string {
  return text.replace(MARKED, (_match, name: string | undefined) =>
    name === undefined ? '$${' : `\${${name}}`,
  );
}

function isMapping(value: unknown): value is Mapping {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** A non-string, non-secret value: numbers and booleans as written, anything else by kind. */
function describeType(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return describeKind(value);
}

/** What kind of value it is, without its content (safe for secrets). */
function describeKind(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (isMapping(value)) return 'a mapping';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number') return 'a number';
  if (typeof value === 'boolean') return 'a boolean';
  return 'an unsupported value';
}

/**
 * Quotes a non-secret string. A value that came from the environment is shown as written in the file,
 * not expanded: the variable might hold a secret put there by mistake.
 */
function describeText(text: Expanded): string {
  if (text.fromEnv) return `${quote(text.template)} (value from the environment not shown)`;
  return quote(text.value);
}

function quote(value: string): string {
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
}

/** fs errors carry a code (ENOENT, EACCES); other messages could quote content, so they are not shown. */
function describeReadError(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return 'unreadable';
  const meaning: Record<string, string> = {
    ENOENT: 'no such file',
    EACCES: 'permission denied',
    EISDIR: 'is a directory',
  };
  return meaning[code] === undefined ? code : `${code}: ${meaning[code]}`;
}

/** yaml's message, minus the few that quote source text (a bad escape could sit inside a secret). */
/** The first alias whose anchor does not exist (`secret: *abc` unquoted). */
function firstUnresolvedAlias(doc: Document): Alias | undefined {
  let found: Alias | undefined;
  visit(doc, {
    Alias(_key, node) {
      if (node.resolve(doc) !== undefined) return undefined;
      found = node;
      return visit.BREAK;
    },
  });
  return found;
}

function syntaxReason(error: YAMLError): string {
  if (error.code === 'MULTIPLE_DOCS') return 'the file must hold a single YAML document';
  if (error.code === 'BAD_DQ_ESCAPE') {
    return 'invalid escape sequence in a double-quoted string (use single quotes to keep backslashes)';
  }
  const quoting = 'Block scalar header includes extra characters';
  if (error.message.startsWith(quoting)) return quoting;
  return error.message;
}

/** The known key closest to `key`, if close enough to be a likely typo. */
function closest(key: string, known: readonly string[]): string | undefined {
  const normalise = (text: string) => text.toLowerCase().replace(/[-_]/g, '');
  let best: { key: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(normalise(key), normalise(candidate));
    const allowed = candidate.length <= 4 ? 1 : 2;
    if (distance <= allowed && (best === undefined || distance < best.distance)) {
      best = { key: candidate, distance };
    }
  }
  return best?.key;
}

/** Levenshtein distance where swapping two neighbours counts as one edit (`prot` → `port`). */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
