import { ConfigError, ConfigSourceError, ConfigSyntaxError } from './config.errors';
import { findConfigPath, loadConfig, parseConfig } from './config.loader';
import type { PbxpulseConfig } from './config.types';

const CONFIG_PATH = '/etc/pbxpulse/config.yaml';
const ARGV = ['node', 'dist/main.js', '--config', CONFIG_PATH];
const ENV = {
  AMI_SECRET: 'ami-secret-value',
  ARI_PASSWORD: 'ari-password-value',
  PBXPULSE_ADMIN_TOKEN: 'admin-token-value',
};

const MINIMAL = `
nodes:
  - name: pbx1
    ami: { host: 127.0.0.1, username: ops, secret: \${AMI_SECRET} }
    ari: { url: http://127.0.0.1:8088, username: ops, password: \${ARI_PASSWORD} }
`;

interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  argv?: string[];
  /** Extra files readable by path; everything else is ENOENT. */
  files?: Record<string, string>;
}

function fakeFs(files: Record<string, string>): (path: string) => string {
  return (path) => {
    const content = files[path];
    if (content === undefined) {
      throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: 'ENOENT' });
    }
    return content;
  };
}

function load(text: string, options: LoadOptions = {}): PbxpulseConfig {
  return loadConfig({
    argv: options.argv ?? ARGV,
    env: options.env ?? ENV,
    readFile: fakeFs({ [CONFIG_PATH]: text, ...options.files }),
  });
}

function caught(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error, got none');
}

function problemsOf(text: string, options: LoadOptions = {}): string[] {
  const error = caught(() => load(text, options));
  expect(error).toBeInstanceOf(ConfigError);
  return (error as ConfigError).problems;
}

/** A one-node document as an object (serialised as JSON, which is YAML) with parts replaced. */
function doc(parts: { root?: object; node?: object; ami?: object; ari?: object } = {}): string {
  return JSON.stringify({
    nodes: [
      {
        name: 'pbx1',
        ami: { host: '127.0.0.1', username: 'ops', secret: '${AMI_SECRET}', ...parts.ami },
        ari: { url: 'http://127.0.0.1:8088', username: 'ops', password: '${ARI_PASSWORD}', ...parts.ari },
        ...parts.node,
      },
    ],
    ...parts.root,
  });
}

describe('loadConfig', () => {
  describe('defaults', () => {
    it('fills every optional setting from a minimal file', () => {
      expect(load(MINIMAL)).toEqual({
        http: { host: '0.0.0.0', port: 9630 },
        auth: {},
        connections: {
          reconnectInitialDelayMs: 250,
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
        nodes: [
          {
            name: 'pbx1',
            ami: { host: '127.0.0.1', port: 5038, username: 'ops', secret: 'ami-secret-value' },
            ari: { url: 'http://127.0.0.1:8088', username: 'ops', password: 'ari-password-value' },
          },
        ],
        source: CONFIG_PATH,
      });
    });

    it('treats empty (null) optional sections as all defaults', () => {
      const config = load(`http:\nauth:\nconnections:\n${MINIMAL}`);
      expect(config.http).toEqual({ host: '0.0.0.0', port: 9630 });
      expect(config.auth).toEqual({});
      expect(config.connections.actionTimeoutMs).toBe(10000);
    });

    it('keeps explicit values over defaults, including the full example from the issue', () => {
      const config = load(`
http:
  host: 127.0.0.1
  port: 8080
auth:
  adminToken: \${PBXPULSE_ADMIN_TOKEN}
  viewerToken: viewer-token-value
connections:
  reconnectInitialDelayMs: 100
  reconnectMaxDelayMs: 60000
  actionTimeoutMs: 3000
  connectTimeoutMs: 2000
  keepaliveIntervalMs: 1000
  maxFrameBytes: 65536
nodes:
  - name: pbx1
    ami: { host: 10.0.0.1, port: 15038, username: ops, secret: \${AMI_SECRET} }
    ari: { url: http://10.0.0.1:8088, username: ops, password: \${ARI_PASSWORD} }
  - name: pbx_2-b
    ami: { host: pbx2.example.net, username: ops2, secret: other }
    ari: { url: https://pbx2.example.net/ari/, username: ops2, password: other }
`);
      expect(config.http).toEqual({ host: '127.0.0.1', port: 8080 });
      expect(config.auth).toEqual({ adminToken: 'admin-token-value', viewerToken: 'viewer-token-value' });
      expect(config.connections).toEqual({
        reconnectInitialDelayMs: 100,
        reconnectMaxDelayMs: 60000,
        actionTimeoutMs: 3000,
        connectTimeoutMs: 2000,
        keepaliveIntervalMs: 1000,
        maxFrameBytes: 65536,
      });
      expect(config.nodes.map((node) => [node.name, node.ami.port, node.ari.url])).toEqual([
        ['pbx1', 15038, 'http://10.0.0.1:8088'],
        ['pbx_2-b', 5038, 'https://pbx2.example.net'],
      ]);
    });

    it.each([
      ['http://127.0.0.1:8088/', 'http://127.0.0.1:8088'],
      ['http://127.0.0.1:8088/ari', 'http://127.0.0.1:8088'],
      ['http://127.0.0.1:8088/ari/', 'http://127.0.0.1:8088'],
      ['https://proxy.example.net/asterisk/ari', 'https://proxy.example.net/asterisk'],
      ['http://pbx:8088/arizona', 'http://pbx:8088/arizona'],
    ])('normalises the ARI url %s to %s', (url, expected) => {
      expect(load(doc({ ari: { url } })).nodes[0].ari.url).toBe(expected);
    });

    it('returns a frozen object so nobody can change the configuration after boot', () => {
      const config = load(MINIMAL);
      expect(Object.isFrozen(config)).toBe(true);
      expect(Object.isFrozen(config.nodes[0].ami)).toBe(true);
    });

    it('lets nodes share settings through YAML anchors and merge keys', () => {
      const config = load(`
nodes:
  - name: pbx1
    ami: &ami { host: 10.0.0.1, username: ops, secret: \${AMI_SECRET} }
    ari: &ari { url: http://10.0.0.1:8088, username: ops, password: \${ARI_PASSWORD} }
  - name: pbx2
    ami: { <<: *ami, host: 10.0.0.2 }
    ari: { <<: *ari, url: http://10.0.0.2:8088 }
`);
      expect(config.nodes[1].ami).toEqual({
        host: '10.0.0.2',
        port: 5038,
        username: 'ops',
        secret: 'ami-secret-value',
      });
      expect(config.nodes[1].ari.url).toBe('http://10.0.0.2:8088');
    });
  });

  describe('${VAR} substitution', () => {
    it('substitutes whole and embedded references from the given env, not process.env', () => {
      const env = { ...ENV, PBX_HOST: 'pbx.example.net', AMI_PORT: '15038', USER_PREFIX: 'ops' };
      const config = load(
        doc({
          ami: { host: '${PBX_HOST}', port: '${AMI_PORT}', username: '${USER_PREFIX}-ami' },
          ari: { url: 'http://${PBX_HOST}:8088' },
        }),
        { env },
      );
      expect(config.nodes[0].ami).toMatchObject({
        host: 'pbx.example.net',
        port: 15038,
        username: 'ops-ami',
      });
      expect(config.nodes[0].ari.url).toBe('http://pbx.example.net:8088');
    });

    it('accepts unquoted references inside flow mappings, as in the documented example', () => {
      // Plain YAML would end the scalar at the `}` of `${AMI_SECRET}` and fail to parse.
      const config = load(
        'nodes: [{ name: pbx1, ami: { host: h, username: u, secret: ${AMI_SECRET} }, ari: { url: http://h:8088, username: u, password: ${ARI_PASSWORD} } }]',
      );
      expect(config.nodes[0].ami.secret).toBe('ami-secret-value');
      expect(config.nodes[0].ari.password).toBe('ari-password-value');
    });

    it('substitutes after parsing, so an environment value cannot inject YAML', () => {
      const env = { ...ENV, AMI_SECRET: 'v }, port: 1, x: {', ARI_PASSWORD: 'p # not a comment\nnodes: []' };
      const config = load(MINIMAL, { env: { ...env, ARI_PASSWORD: 'p # not a comment' } });
      expect(config.nodes[0].ami).toMatchObject({ port: 5038, secret: 'v }, port: 1, x: {' });
      expect(config.nodes[0].ari.password).toBe('p # not a comment');
      expect(problemsOf(MINIMAL, { env })).toEqual(['nodes[0].ari.password: must be a single line']);
    });

    it('reads $${ as a literal ${ and keeps any other $ as written', () => {
      const config = load(doc({ ami: { secret: 'a$${B}c' }, ari: { password: 'pa$$word$' } }));
      expect(config.nodes[0].ami.secret).toBe('a${B}c');
      expect(config.nodes[0].ari.password).toBe('pa$$word$');
    });

    it('reports an undefined variable with the key path and the variable name', () => {
      const problems = problemsOf(MINIMAL, { env: { ARI_PASSWORD: 'x' } });
      expect(problems).toEqual([
        'nodes[0].ami.secret: environment variable AMI_SECRET is not set (referenced as ${AMI_SECRET})',
      ]);
    });

    it('reports every undefined variable, also in non-secret values', () => {
      const problems = problemsOf(
        doc({ ami: { host: '${PBX_HOST}' }, ari: { url: 'http://${PBX_HOST}:${P}' } }),
      );
      expect(problems).toEqual([
        'nodes[0].ami.host: environment variable PBX_HOST is not set (referenced as ${PBX_HOST})',
        'nodes[0].ari.url: environment variable PBX_HOST is not set (referenced as ${PBX_HOST})',
        'nodes[0].ari.url: environment variable P is not set (referenced as ${P})',
      ]);
    });

    it.each(['${', '${AMI SECRET}', '${}', 'abc${1X}'])('rejects the malformed reference %j', (secret) => {
      const problems = problemsOf(doc({ ami: { secret } }));
      expect(problems).toEqual([
        'nodes[0].ami.secret: malformed ${...} reference: use ${NAME} with letters, digits and _, or $${ for a literal ${',
      ]);
    });

    it('rejects a token whose variable is defined but empty instead of silently disabling auth', () => {
      const problems = problemsOf(doc({ root: { auth: { adminToken: '${PBXPULSE_ADMIN_TOKEN}' } } }), {
        env: { ...ENV, PBXPULSE_ADMIN_TOKEN: '' },
      });
      expect(problems).toEqual([
        'auth.adminToken: must not be empty (the environment variable in "${PBXPULSE_ADMIN_TOKEN}" is empty)',
      ]);
    });

    it('rejects a literally empty token and an empty secret', () => {
      const problems = problemsOf(doc({ root: { auth: { viewerToken: '' } }, ami: { secret: '  ' } }));
      expect(problems).toEqual([
        'auth.viewerToken: must not be empty',
        'nodes[0].ami.secret: must not be empty',
      ]);
    });

    it('does not substitute inside unknown keys, which are reported as unknown only', () => {
      const problems = problemsOf(doc({ ami: { extra: '${NOPE}' } }));
      expect(problems).toEqual([
        'nodes[0].ami.extra: unknown key (expected one of host, port, username, secret, secretFile)',
      ]);
    });
  });

  describe('secrets from files', () => {
    it('reads secretFile, passwordFile, adminTokenFile and viewerTokenFile, trimming the final newline', () => {
      const config = load(
        doc({
          root: { auth: { adminTokenFile: '/run/secrets/admin', viewerTokenFile: '/run/secrets/viewer' } },
          ami: { secret: undefined, secretFile: '/run/secrets/ami' },
          ari: { password: undefined, passwordFile: '/run/secrets/ari' },
        }),
        {
          files: {
            '/run/secrets/admin': 'admin-from-file\n',
            '/run/secrets/viewer': 'viewer-from-file\r\n',
            '/run/secrets/ami': 'ami from file ',
            '/run/secrets/ari': 'ari-from-file\n\n',
          },
        },
      );
      expect(config.auth).toEqual({ adminToken: 'admin-from-file', viewerToken: 'viewer-from-file' });
      expect(config.nodes[0].ami.secret).toBe('ami from file ');
      expect(config.nodes[0].ari.password).toBe('ari-from-file');
    });

    it('resolves a relative path against the directory of the config file and substitutes ${VAR}', () => {
      const config = load(doc({ ami: { secret: undefined, secretFile: 'secrets/${NODE}.ami' } }), {
        env: { ...ENV, NODE: 'pbx1' },
        files: { '/etc/pbxpulse/secrets/pbx1.ami': 'relative-secret\n' },
      });
      expect(config.nodes[0].ami.secret).toBe('relative-secret');
    });

    it('rejects a value and a file for the same secret', () => {
      const problems = problemsOf(
        doc({
          root: { auth: { adminToken: 'x', adminTokenFile: '/run/secrets/admin' } },
          ari: { passwordFile: '/run/secrets/ari' },
        }),
        { files: { '/run/secrets/admin': 'a', '/run/secrets/ari': 'b' } },
      );
      expect(problems).toEqual([
        'auth.adminToken: adminToken and adminTokenFile are both set; give only one',
        'nodes[0].ari.password: password and passwordFile are both set; give only one',
      ]);
    });

    it('names the key path and the file when a secret file cannot be read', () => {
      const problems = problemsOf(doc({ ami: { secret: undefined, secretFile: '/run/secrets/missing' } }));
      expect(problems).toEqual([
        'nodes[0].ami.secretFile: cannot read /run/secrets/missing (ENOENT: no such file)',
      ]);
    });

    it('shows only the error code of a failed read, never the reader message', () => {
      const readFile = (path: string): string => {
        if (path === CONFIG_PATH)
          return doc({ ari: { password: undefined, passwordFile: '/run/secrets/ari' } });
        throw Object.assign(new Error('reader quoted hunter2'), { code: 'EACCES' });
      };
      const error = caught(() => loadConfig({ argv: ARGV, env: ENV, readFile }));
      expect((error as ConfigError).problems).toEqual([
        'nodes[0].ari.passwordFile: cannot read /run/secrets/ari (EACCES: permission denied)',
      ]);
      expect(String(error)).not.toContain('hunter2');
    });

    it('rejects an empty file and a file of several lines without quoting it', () => {
      const problems = problemsOf(
        doc({
          ami: { secret: undefined, secretFile: '/run/secrets/ami' },
          ari: { password: undefined, passwordFile: '/run/secrets/ari' },
        }),
        { files: { '/run/secrets/ami': '\n', '/run/secrets/ari': 'line-one-secret\nline-two-secret\n' } },
      );
      expect(problems).toEqual([
        'nodes[0].ami.secretFile: /run/secrets/ami is empty',
        'nodes[0].ari.passwordFile: /run/secrets/ari must hold a single line',
      ]);
    });
  });

  describe('nodes', () => {
    it.each([
      ['missing', 'http: {}', 'nodes: expected a list with at least one node'],
      ['an empty list', 'nodes: []', 'nodes: expected a list with at least one node, got a list'],
      ['a mapping', 'nodes: { name: pbx1 }', 'nodes: expected a list with at least one node, got a mapping'],
    ])('rejects nodes when %s', (_case, text, problem) => {
      expect(problemsOf(text)).toEqual([problem]);
    });

    it('reports an empty file as missing nodes rather than a type error', () => {
      expect(problemsOf('')).toEqual(['nodes: expected a list with at least one node']);
    });

    it('rejects a document that is not a mapping', () => {
      expect(problemsOf('- pbx1\n- pbx2\n')).toEqual([
        '(top level): expected a mapping with http, auth, connections, state, detection, gateway, control, log, metrics and nodes, got a list',
      ]);
    });

    it('names every node that reuses a name, once per name', () => {
      const node = (name: string) =>
        `  - name: ${name}\n    ami: { host: h, username: u, secret: s }\n    ari: { url: http://h:8088, username: u, password: p }\n`;
      const problems = problemsOf(
        `nodes:\n${node('pbx1')}${node('pbx2')}${node('pbx1')}${node('pbx1')}${node('pbx2')}`,
      );
      expect(problems).toEqual([
        'nodes[0].name: "pbx1" is used by nodes[2] and nodes[3] too; node names must be unique',
        'nodes[1].name: "pbx2" is used by nodes[4] too; node names must be unique',
      ]);
    });

    it.each(['PBX1', 'pbx 1', 'pbx.1', 'pbx/1'])('rejects the node name %j', (name) => {
      expect(problemsOf(doc({ node: { name } }))).toEqual([
        `nodes[0].name: expected lowercase letters, digits, _ and - only (like pbx1), got ${JSON.stringify(name)}`,
      ]);
    });

    it('rejects a node that is not a mapping', () => {
      expect(problemsOf('nodes: [pbx1]')).toEqual([
        'nodes[0]: expected a mapping with name, ami and ari, got a string',
      ]);
    });

    it('says what each missing required key is for', () => {
      const problems = problemsOf(`
nodes:
  - ami: { port: 5038 }
    ari: {}
  - name: pbx2
`);
      expect(problems).toEqual([
        'nodes[0].name: required (a short id like pbx1: lowercase letters, digits, _ and -)',
        'nodes[0].ami.host: required (the Asterisk host whose manager interface to use)',
        'nodes[0].ami.username: required (the AMI user from manager.conf)',
        "nodes[0].ami.secret: required (the AMI user's secret from manager.conf; or secretFile: a file holding it)",
        'nodes[0].ari.url: required (the Asterisk HTTP server, like http://127.0.0.1:8088)',
        'nodes[0].ari.username: required (the ARI user from ari.conf)',
        "nodes[0].ari.password: required (the ARI user's password from ari.conf; or passwordFile: a file holding it)",
        'nodes[1].ami: required (the AMI endpoint: host, port, username, secret)',
        'nodes[1].ari: required (the ARI endpoint: url, username, password)',
      ]);
    });

    it.each([
      ['127.0.0.1:8088', 'expected an http(s) URL like http://127.0.0.1:8088, got "127.0.0.1:8088"'],
      [
        'ws://127.0.0.1:8088',
        'expected an http(s) URL like http://127.0.0.1:8088, got "ws://127.0.0.1:8088"',
      ],
      ['not a url', 'expected an http(s) URL like http://127.0.0.1:8088, got "not a url"'],
      [
        'http://h:8088/ari?x=1',
        // A query may carry credentials (ari-client's api_key=user:pass): not echoed.
        'expected an http(s) URL like http://127.0.0.1:8088 (no query or fragment)',
      ],
      [
        'http://ops:hunter2@h:8088',
        'must not contain credentials; use nodes[0].ari.username and nodes[0].ari.password',
      ],
    ])('rejects the ARI url %j', (url, problem) => {
      expect(problemsOf(doc({ ari: { url } }))).toEqual([`nodes[0].ari.url: ${problem}`]);
    });

    it('rejects hosts that are empty or look like URLs, and an ARI user name with a colon', () => {
      const problems = problemsOf(
        doc({ root: { http: { host: '' } }, ami: { host: 'tcp://pbx' }, ari: { username: 'a:b' } }),
      );
      expect(problems).toEqual([
        'http.host: expected a host name or address, got an empty string',
        'nodes[0].ami.host: expected a host name or address, got "tcp://pbx"',
        "nodes[0].ari.username: must not contain ':' (HTTP basic auth splits user and password there)",
      ]);
    });

    it('rejects numbers where a string is expected, suggesting quotes', () => {
      expect(problemsOf(doc({ ami: { username: 1001 } }))).toEqual([
        'nodes[0].ami.username: expected a user name (quote it), got 1001',
      ]);
    });
  });

  describe('state and detection tuning', () => {
    it('overrides defaults and validates each key with its path', () => {
      const config = load(
        `state: { reconcileIntervalMs: 5000 }\ndetection: { authLoopThreshold: 5, securityEventBuffer: 50, oneWayAudioMs: 8000 }\n${MINIMAL}`,
      );
      expect(config.state.reconcileIntervalMs).toBe(5000);
      expect(config.detection).toMatchObject({
        authLoopThreshold: 5,
        securityEventBuffer: 50,
        oneWayAudioMs: 8000,
        authLoopWindowMs: 60000,
      });
      const problems = problemsOf(
        `state: { reconcileIntervalMs: 0 }\ndetection: { authLoopThreshold: many, authLoopWindw: 3 }\n${MINIMAL}`,
      );
      expect(problems).toEqual(
        expect.arrayContaining([
          expect.stringContaining('state.reconcileIntervalMs: expected a positive integer (milliseconds'),
          expect.stringContaining(
            'detection.authLoopThreshold: expected a positive integer (at most 1000000)',
          ),
          expect.stringContaining('detection.authLoopWindw: unknown key (expected one of authLoopThreshold'),
        ]),
      );
    });
  });

  describe('metrics', () => {
    it.each([
      ['{}', { mode: 'active', maxEndpoints: 1000 }],
      ['{ perEndpoint: { mode: all } }', { mode: 'all', maxEndpoints: 1000 }],
      ['{ perEndpoint: { maxEndpoints: 0 } }', { mode: 'active', maxEndpoints: 0 }],
      ['{ perEndpoint: { mode: active, maxEndpoints: "250" } }', { mode: 'active', maxEndpoints: 250 }],
    ])('reads metrics: %s', (yaml, expected) => {
      expect(load(`${MINIMAL}metrics: ${yaml}\n`).metrics.perEndpoint).toEqual(expected);
    });

    it.each([
      [
        '{ perEndpoint: { mode: some } }',
        'metrics.perEndpoint.mode: expected one of active, all, got "some"',
      ],
      [
        '{ perEndpoint: { maxEndpoints: -1 } }',
        'metrics.perEndpoint.maxEndpoints: expected an integer 0-1000000 (endpoints per node), got -1',
      ],
      [
        '{ perEndpoint: { maxEndpoints: lots } }',
        'metrics.perEndpoint.maxEndpoints: expected an integer 0-1000000 (endpoints per node), got "lots"',
      ],
      [
        '{ perEndpoint: { mode: all, maxEndpoints: 10 } }',
        'metrics.perEndpoint.maxEndpoints: applies to mode active only (mode all has no cap)',
      ],
      [
        '{ perEndpoint: { cap: 10 } }',
        'metrics.perEndpoint.cap: unknown key (expected one of mode, maxEndpoints)',
      ],
      ['{ perEndpoints: {} }', 'metrics.perEndpoints: unknown key (did you mean perEndpoint?)'],
      ['{ perEndpoint: all }', 'metrics.perEndpoint: expected a mapping of mode, maxEndpoints, got a string'],
    ])('rejects metrics: %s, naming the key', (yaml, problem) => {
      expect(problemsOf(`${MINIMAL}metrics: ${yaml}\n`)).toEqual([problem]);
    });
  });

  describe('log', () => {
    it.each([
      ['format: json', { format: 'json', level: 'log' }],
      ['format: text, level: debug', { format: 'text', level: 'debug' }],
      ['level: error', { format: 'auto', level: 'error' }],
    ])('reads log: { %s }', (yaml, expected) => {
      expect(load(`${MINIMAL}log: { ${yaml} }\n`).log).toEqual(expected);
    });

    it('takes the format from the environment through ${VAR}', () => {
      const env = { ...ENV, PBXPULSE_LOG_FORMAT: 'text' };
      expect(load(`${MINIMAL}log: { format: \${PBXPULSE_LOG_FORMAT} }\n`, { env }).log.format).toBe('text');
    });

    it.each([
      ['format: yaml', 'log.format: expected one of auto, json, text, got "yaml"'],
      ['format: JSON', 'log.format: expected one of auto, json, text, got "JSON"'],
      ['format: 1', 'log.format: expected one of auto, json, text (quote it), got 1'],
      ['level: info', 'log.level: expected one of error, warn, log, debug, verbose, got "info" (use log)'],
      ['level: trace', 'log.level: expected one of error, warn, log, debug, verbose, got "trace"'],
      ['levl: debug', 'log.levl: unknown key (did you mean level?)'],
    ])('rejects log: { %s }, naming the key and what is expected', (yaml, problem) => {
      expect(problemsOf(`${MINIMAL}log: { ${yaml} }\n`)).toEqual([problem]);
    });

    it('does not echo a bad format that came from the environment', () => {
      const env = { ...ENV, PBXPULSE_LOG_FORMAT: 'hunter2-env' };
      expect(problemsOf(`${MINIMAL}log: { format: \${PBXPULSE_LOG_FORMAT} }\n`, { env })).toEqual([
        'log.format: expected one of auto, json, text, got "${PBXPULSE_LOG_FORMAT}" (value from the environment not shown)',
      ]);
    });
  });

  describe('numbers', () => {
    it.each([
      ['"abc"', 'got "abc"'],
      ['0', 'got 0'],
      ['70000', 'got 70000'],
      ['-1', 'got -1'],
      ['1.5', 'got 1.5'],
      ['true', 'got true'],
      ['[5038]', 'got a list'],
      ['"50 38"', 'got "50 38"'],
    ])('rejects the port %s', (port, got) => {
      expect(problemsOf(`${MINIMAL}http: { port: ${port} }\n`)).toEqual([
        `http.port: expected an integer 1-65535, ${got}`,
      ]);
    });

    it('accepts a port given as a digit string (what ${VAR} yields)', () => {
      expect(load(`${MINIMAL}http: { port: "8080" }\n`).http.port).toBe(8080);
    });

    it('does not echo a bad number that came from the environment', () => {
      const problems = problemsOf(doc({ ami: { port: '${AMI_SECRET}' } }));
      expect(problems).toEqual([
        'nodes[0].ami.port: expected an integer 1-65535, got "${AMI_SECRET}" (value from the environment not shown)',
      ]);
    });

    it.each([
      ['0', 'got 0'],
      ['-250', 'got -250'],
      ['"soon"', 'got "soon"'],
      ['2147483648', 'got 2147483648'],
    ])('rejects the duration %s', (value, got) => {
      expect(problemsOf(`${MINIMAL}connections: { actionTimeoutMs: ${value} }\n`)).toEqual([
        `connections.actionTimeoutMs: expected a positive integer (milliseconds, at most 2147483647), ${got}`,
      ]);
    });

    it('rejects a reconnect cap below the initial delay', () => {
      expect(
        problemsOf(`${MINIMAL}connections: { reconnectInitialDelayMs: 1000, reconnectMaxDelayMs: 500 }\n`),
      ).toEqual([
        'connections.reconnectMaxDelayMs: must be at least reconnectInitialDelayMs (1000), got 500',
      ]);
    });

    it('rejects a zero frame limit', () => {
      expect(problemsOf(`${MINIMAL}connections: { maxFrameBytes: 0 }\n`)).toEqual([
        'connections.maxFrameBytes: expected a positive integer (bytes), got 0',
      ]);
    });
  });

  describe('unknown keys', () => {
    it.each([
      ['http: { prot: 1 }', 'http.prot: unknown key (did you mean port?)'],
      ['htpp: {}', 'htpp: unknown key (did you mean http?)'],
      ['node: []', 'node: unknown key (did you mean nodes?)'],
      ['auth: { admin_token: x }', 'auth.admin_token: unknown key (did you mean adminToken?)'],
      [
        'connections: { actionTimeout: 1 }',
        'connections.actionTimeout: unknown key (did you mean actionTimeoutMs?)',
      ],
      ['metric: {}', 'metric: unknown key (did you mean metrics?)'],
    ])('reports %s', (extra, problem) => {
      expect(problemsOf(`${MINIMAL}${extra}\n`)).toEqual([problem]);
    });

    it('suggests keys inside nodes', () => {
      expect(problemsOf(doc({ ami: { secert: 'x' } }))).toEqual([
        'nodes[0].ami.secert: unknown key (did you mean secret?)',
      ]);
    });
  });

  it('reports several problems at once, in document order', () => {
    const problems = problemsOf(`
http: { port: abc, prot: 1 }
connections: { actionTimeoutMs: 0 }
nodes:
  - name: Bad Name
    ami: { host: h, port: 99999, username: u, secret: s }
    ari: { url: ftp://h, username: u, password: p }
  - name: pbx2
    ami: { host: h, username: u }
    ari: { url: http://h:8088, username: u, password: p }
`);
    expect(problems).toEqual([
      'http.prot: unknown key (did you mean port?)',
      'http.port: expected an integer 1-65535, got "abc"',
      'connections.actionTimeoutMs: expected a positive integer (milliseconds, at most 2147483647), got 0',
      'nodes[0].name: expected lowercase letters, digits, _ and - only (like pbx1), got "Bad Name"',
      'nodes[0].ami.port: expected an integer 1-65535, got 99999',
      'nodes[0].ari.url: expected an http(s) URL like http://127.0.0.1:8088, got "ftp://h"',
      "nodes[1].ami.secret: required (the AMI user's secret from manager.conf; or secretFile: a file holding it)",
    ]);
    const error = caught(() => load('nodes: []\nhttp: { port: 0 }'));
    expect(error).toMatchObject({ code: 'CONFIG_INVALID', source: CONFIG_PATH });
    expect((error as Error).message).toBe(
      `invalid configuration (${CONFIG_PATH}):\n  http.port: expected an integer 1-65535, got 0\n  nodes: expected a list with at least one node, got a list`,
    );
  });

  describe('secrets are never echoed', () => {
    const SECRETS = ['hunter2-ami', 'hunter2-ari', 'hunter2-admin', 'hunter2-file', 'hunter2-env'];

    function expectNoSecret(error: unknown): void {
      const text = `${String(error)}\n${JSON.stringify(error)}\n${(error as ConfigError).problems.join('\n')}`;
      for (const secret of SECRETS) expect(text).not.toContain(secret);
      expect(text).not.toContain('hunter2');
    }

    it('keeps bad secret values out of every problem', () => {
      const env = { LEAKY: 'hunter2-env' };
      const text = `
auth:
  adminToken: hunter2-admin
  viewerToken: hunter2-admin
nodes:
  - name: pbx1
    ami: { host: h, port: \${LEAKY}, username: u, secret: "hunter2-ami\${" }
    ari: { url: "http://u:hunter2-ari@h:8088", username: u, password: [hunter2-ari] }
  - name: pbx2
    ami: { host: h, username: u, secret: 12345, secretFile: /run/hunter2-file }
    ari: { url: "http://h:8088", username: u, password: "hunter2-ari\\nmore", bad:hunter2-ari }
`;
      const error = caught(() => load(text, { env }));
      expect(error).toBeInstanceOf(ConfigError);
      const problems = (error as ConfigError).problems;
      // Each bad secret is still reported, only without its value.
      expect(problems).toEqual([
        'auth.viewerToken: must differ from auth.adminToken (viewers would get control)',
        'nodes[0].ami.port: expected an integer 1-65535, got "${LEAKY}" (value from the environment not shown)',
        'nodes[0].ami.secret: malformed ${...} reference: use ${NAME} with letters, digits and _, or $${ for a literal ${',
        'nodes[0].ari.url: must not contain credentials; use nodes[0].ari.username and nodes[0].ari.password',
        'nodes[0].ari.password: expected a string, got a list',
        'nodes[1].ami.secret: secret and secretFile are both set; give only one',
        `nodes[1].ari: unknown key starting with "bad:" (missing a space after ':'? the rest is not shown)`,
        'nodes[1].ari.password: must be a single line',
      ]);
      expectNoSecret(error);
    });

    it('does not quote a token written where a section belongs', () => {
      const error = caught(() => load(`${MINIMAL}auth: hunter2-admin\n`));
      expect((error as ConfigError).problems).toEqual([
        'auth: expected a mapping of adminToken, adminTokenFile, viewerToken, viewerTokenFile, got a string',
      ]);
      expect(String(error)).not.toContain('hunter2');
    });

    it('does not quote a secret given as a number', () => {
      const error = caught(() => load(doc({ ami: { secret: 220477 } })));
      expect((error as ConfigError).problems).toEqual([
        'nodes[0].ami.secret: expected a string (quote it), got a number',
      ]);
      expect(String(error)).not.toContain('220477');
    });

    it('does not quote a bad escape sequence, which may sit inside a secret', () => {
      const error = caught(() => load(`${MINIMAL}auth: { adminToken: "hunter2\\qXYZ" }\n`));
      expect(error).toMatchObject({
        reason: 'invalid escape sequence in a double-quoted string (use single quotes to keep backslashes)',
      });
      expect(String(error)).not.toMatch(/hunter2|qXYZ/);
    });

    it('does not quote an ARI URL carrying an api_key query (how ari-client takes credentials)', () => {
      const error = caught(() =>
        load(
          doc({ ari: { url: 'http://h:8088/ari?api_key=ops:hunter2-ari', username: 'u', password: 'p' } }),
        ),
      );
      expect((error as ConfigError).problems).toEqual([
        'nodes[0].ari.url: expected an http(s) URL like http://127.0.0.1:8088 (no query or fragment)',
      ]);
      expectNoSecret(error);
    });

    it('does not quote an unquoted secret that starts with * (read as a YAML alias)', () => {
      const error = caught(() => load(`${MINIMAL}auth:\n  adminToken: *hunter2-admin\n`));
      expect(error).toBeInstanceOf(ConfigSyntaxError);
      expect(error).toMatchObject({ position: { line: expect.any(Number) as number } });
      expect(String(error)).toContain('quote the value');
      expect(`${String(error)}\n${JSON.stringify(error)}`).not.toContain('hunter2');
    });

    it('does not quote the source line of a YAML syntax error', () => {
      const error = caught(() => load('nodes:\n  - ami: { secret: "hunter2-ami }\n'));
      expect(error).toBeInstanceOf(ConfigSyntaxError);
      expect(String(error)).not.toContain('hunter2');
    });
  });

  describe('file format', () => {
    it('reports a YAML syntax error with the file, line and column', () => {
      const error = caught(() => load('http:\n  port: 9630\n  host: "0.0.0.0\nnodes: []\n'));
      expect(error).toBeInstanceOf(ConfigSyntaxError);
      expect(error).toMatchObject({
        code: 'CONFIG_SYNTAX',
        source: CONFIG_PATH,
        position: { line: 5, column: 1 },
      });
      expect((error as Error).message).toBe(
        `invalid YAML in ${CONFIG_PATH} at line 5, column 1: Missing closing "quote`,
      );
    });

    it('keeps error columns exact on lines with ${VAR} references', () => {
      const line = 'http: { host: ${HTTP_HOST}, port: [ }';
      const error = caught(() => load(`${line}\n`));
      // yaml reports the stray `}` that should have closed the list.
      expect(error).toMatchObject({ position: { line: 1, column: line.lastIndexOf('}') + 1 } });
    });

    it('rejects the private-use characters it reserves for references', () => {
      const error = caught(() => load(`${MINIMAL}# \uE000\n`));
      expect(error).toMatchObject({
        code: 'CONFIG_SYNTAX',
        reason: 'contains reserved characters U+E000-U+E002',
      });
    });

    it('reports a duplicate key as a syntax error at its line', () => {
      const error = caught(() => load(`${MINIMAL}http: {}\nhttp: {}\n`));
      expect(error).toMatchObject({ position: { line: 7, column: 1 }, reason: 'Map keys must be unique' });
    });

    it('reports a list or mapping used as a key as a syntax error at its position', () => {
      const warned = jest.spyOn(process, 'emitWarning');
      try {
        const error = caught(() => load(`${MINIMAL}? [a, b]\n: c\n`));
        expect(error).toMatchObject({
          code: 'CONFIG_SYNTAX',
          position: { line: 6, column: 3 },
          reason: 'a key is a list or a mapping; keys are plain names',
        });
        // The library's stringified key comes with a process warning on stderr: never reached.
        expect(warned).not.toHaveBeenCalled();
      } finally {
        warned.mockRestore();
      }
    });

    it('rejects a file of several YAML documents', () => {
      const error = caught(() => load(`${MINIMAL}---\n${MINIMAL}`));
      expect(error).toMatchObject({ reason: 'the file must hold a single YAML document' });
    });

    it('reads a JSON file', () => {
      const json = JSON.stringify(
        {
          http: { port: 9000 },
          nodes: [
            {
              name: 'pbx1',
              ami: { host: '10.0.0.1', username: 'ops', secret: '${AMI_SECRET}' },
              ari: { url: 'http://10.0.0.1:8088/ari', username: 'ops', password: 'plain' },
            },
          ],
        },
        null,
        '\t',
      );
      const config = load(json, {
        argv: ['--config', '/etc/pbxpulse/config.json'],
        files: { '/etc/pbxpulse/config.json': json },
      });
      expect(config.source).toBe('/etc/pbxpulse/config.json');
      expect(config.http.port).toBe(9000);
      expect(config.nodes[0]).toEqual({
        name: 'pbx1',
        ami: { host: '10.0.0.1', port: 5038, username: 'ops', secret: 'ami-secret-value' },
        ari: { url: 'http://10.0.0.1:8088', username: 'ops', password: 'plain' },
      });
    });
  });

  describe('finding the file', () => {
    const files = { '/a.yaml': MINIMAL, '/b.yaml': MINIMAL, '/c.yaml': MINIMAL };
    const sourceFor = (argv: string[], env: NodeJS.ProcessEnv) =>
      loadConfig({ argv, env: { ...ENV, ...env }, readFile: fakeFs(files) }).source;

    it('takes --config <path>', () => {
      expect(sourceFor(['node', 'main.js', '--config', '/a.yaml'], {})).toBe('/a.yaml');
    });

    it('takes --config=<path>', () => {
      expect(sourceFor(['node', 'main.js', '--config=/b.yaml'], {})).toBe('/b.yaml');
    });

    it('falls back to PBXPULSE_CONFIG', () => {
      expect(sourceFor(['node', 'main.js'], { PBXPULSE_CONFIG: '/c.yaml' })).toBe('/c.yaml');
    });

    it('prefers argv over PBXPULSE_CONFIG', () => {
      expect(sourceFor(['node', 'main.js', '--config=/a.yaml'], { PBXPULSE_CONFIG: '/c.yaml' })).toBe(
        '/a.yaml',
      );
    });

    it('says how to give a configuration when there is none', () => {
      const error = caught(() => findConfigPath(['node', 'main.js'], { PBXPULSE_CONFIG: '' }));
      expect(error).toBeInstanceOf(ConfigSourceError);
      expect(error).toMatchObject({
        code: 'CONFIG_UNAVAILABLE',
        message: 'no configuration: pass --config <path> or set PBXPULSE_CONFIG',
      });
    });

    it.each([
      [['--config'], '--config needs a path: --config <path>'],
      [['--config', '--verbose'], '--config needs a path: --config <path>'],
      [['--config='], '--config needs a path: --config <path>'],
      [['--config', '/a.yaml', '--config=/b.yaml'], '--config is given more than once'],
    ])('rejects the arguments %j', (argv, message) => {
      expect(caught(() => findConfigPath(argv, {}))).toMatchObject({ code: 'CONFIG_UNAVAILABLE', message });
    });

    it('ignores --config after --', () => {
      expect(findConfigPath(['--', '--config', '/a.yaml'], { PBXPULSE_CONFIG: '/c.yaml' })).toBe('/c.yaml');
    });

    it('names the configuration file when it cannot be read', () => {
      const error = caught(() =>
        loadConfig({ argv: ['--config', '/missing.yaml'], env: ENV, readFile: fakeFs({}) }),
      );
      expect(error).toBeInstanceOf(ConfigSourceError);
      expect((error as Error).message).toBe(
        'cannot read configuration file /missing.yaml (ENOENT: no such file)',
      );
    });
  });
});

describe('parseConfig', () => {
  it('builds a config from text with the given source name', () => {
    const config = parseConfig(MINIMAL, { source: '<embedded>', env: ENV });
    expect(config.source).toBe('<embedded>');
    expect(config.nodes[0].ami.secret).toBe('ami-secret-value');
  });
});
