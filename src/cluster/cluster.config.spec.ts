import { ConfigError } from '../config/config.errors';
import { parseConfig } from '../config/config.loader';
import { redactRedisUrl } from './redis.link';

const NODES = `
nodes:
  - name: pbx1
    ami: { host: 127.0.0.1, username: ops, secret: s }
    ari: { url: http://127.0.0.1:8088, username: ops, password: p }
`;
const PASSWORD = 'Redis-Pa55-word-7c1';

function parse(clusterYaml: string, env: NodeJS.ProcessEnv = {}): ReturnType<typeof parseConfig> {
  return parseConfig(`${clusterYaml}\n${NODES}`, { source: '<test>', env });
}

function problemsOf(clusterYaml: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parse(clusterYaml, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('cluster.redis (config)', () => {
  it('is absent by default: a single daemon', () => {
    expect(parse('').cluster).toBeUndefined();
    expect(parse('cluster:').cluster).toBeUndefined();
  });

  it.each([
    'redis://127.0.0.1:6379',
    'redis://redis.internal',
    `redis://:${PASSWORD}@127.0.0.1:6379/2`,
    `rediss://pbxpulse:${PASSWORD}@redis.example.net:6380`,
    'redis://[::1]:6379/0',
  ])('accepts %s', (url) => {
    expect(parse(`cluster: { redis: "${url}" }`).cluster).toEqual({ redis: url });
  });

  it('takes the URL from the environment', () => {
    const url = `rediss://:${PASSWORD}@10.0.0.5:6380`;
    expect(parse('cluster: { redis: ${PBXPULSE_REDIS_URL} }', { PBXPULSE_REDIS_URL: url }).cluster).toEqual({
      redis: url,
    });
  });

  it.each([
    ['http://127.0.0.1:6379', 'expected a redis:// or rediss:// URL'],
    ['127.0.0.1:6379', 'expected a redis:// or rediss:// URL'],
    [`redis://:${PASSWORD}@127.0.0.1:6379/?tls=1`, 'no query or fragment'],
    [`redis://:${PASSWORD}@127.0.0.1:6379/db`, 'the path can only be a database number'],
    [`redis://:${PASSWORD}@:6379`, 'expected a redis:// or rediss:// URL'],
  ])('refuses %s naming the key, never the value', (url, reason) => {
    const problems = problemsOf(`cluster: { redis: "${url}" }`);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^cluster\.redis: /);
    expect(problems[0]).toContain(reason);
    expect(problems[0]).not.toContain(PASSWORD);
  });

  it('refuses a missing URL, an unset variable and unknown keys', () => {
    expect(problemsOf('cluster: { prefix: x }')).toEqual([
      expect.stringMatching(/^cluster\.prefix: /),
      expect.stringMatching(/^cluster\.redis: required/),
    ]);
    expect(problemsOf('cluster: { redis: ${UNSET_REDIS_URL} }')).toEqual([
      expect.stringContaining('UNSET_REDIS_URL'),
    ]);
    expect(problemsOf('cluster: redis://127.0.0.1')).toEqual([
      expect.stringMatching(/^cluster: expected a mapping with redis/),
    ]);
  });
});

describe('redactRedisUrl', () => {
  it.each([
    ['redis://127.0.0.1:6379', 'redis://127.0.0.1:6379'],
    [`redis://:${PASSWORD}@127.0.0.1:6379/2`, 'redis://***@127.0.0.1:6379/2'],
    [`rediss://user:${PASSWORD}@redis.example.net`, 'rediss://***@redis.example.net'],
    ['redis://[::1]:6379', 'redis://[::1]:6379'],
    [`not a url ${PASSWORD}`, '<redis url>'],
  ])('%s → %s', (url, shown) => {
    expect(redactRedisUrl(url)).toBe(shown);
    expect(redactRedisUrl(url)).not.toContain(PASSWORD);
  });
});

describe('cluster.advertiseUrl (config)', () => {
  it('is optional (the cluster service defaults it to http://<hostname>:<http.port>)', () => {
    expect(parse('cluster: { redis: "redis://127.0.0.1" }').cluster).toEqual({ redis: 'redis://127.0.0.1' });
  });

  it.each([
    ['http://pbxpulse-1.internal:9630', 'http://pbxpulse-1.internal:9630'],
    ['https://10.0.0.7:9630/', 'https://10.0.0.7:9630'],
    ['http://[fd00::7]:9630', 'http://[fd00::7]:9630'],
  ])('accepts %s as %s', (given, kept) => {
    expect(parse(`cluster: { redis: "redis://127.0.0.1", advertiseUrl: "${given}" }`).cluster).toEqual({
      redis: 'redis://127.0.0.1',
      advertiseUrl: kept,
    });
  });

  it('takes it from the environment', () => {
    const c = parse('cluster: { redis: "redis://127.0.0.1", advertiseUrl: "http://${POD_IP}:9630" }', {
      POD_IP: '10.1.2.3',
    }).cluster;
    expect(c?.advertiseUrl).toBe('http://10.1.2.3:9630');
  });

  it.each([
    ['pbxpulse-1:9630', 'expected an http(s) base URL'],
    ['ftp://pbxpulse-1', 'expected an http(s) base URL'],
    ['http://pbxpulse-1:9630/api', 'no path, query or fragment'],
    ['http://pbxpulse-1:9630?x=1', 'no path, query or fragment'],
    [`http://ops:${PASSWORD}@pbxpulse-1:9630`, 'must not contain credentials'],
  ])('refuses %s naming the key', (url, reason) => {
    const problems = problemsOf(`cluster: { redis: "redis://127.0.0.1", advertiseUrl: "${url}" }`);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^cluster\.advertiseUrl: /);
    expect(problems[0]).toContain(reason);
    expect(problems[0]).not.toContain(PASSWORD);
  });

  it('refuses a number and an empty value', () => {
    expect(problemsOf('cluster: { redis: "redis://127.0.0.1", advertiseUrl: 9630 }')).toEqual([
      expect.stringMatching(/^cluster\.advertiseUrl: expected an http\(s\) base URL/),
    ]);
    expect(problemsOf('cluster: { redis: "redis://127.0.0.1", advertiseUrl: "" }')).toEqual([
      expect.stringMatching(/^cluster\.advertiseUrl: expected an http\(s\) base URL.*empty string/),
    ]);
  });
});
