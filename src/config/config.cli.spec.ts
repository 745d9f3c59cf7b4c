import { loadConfigOrExit } from './config.cli';
import * as loader from './config.loader';

class ExitCalled extends Error {
  constructor(readonly code: number) {
    super(`exit(${code})`);
  }
}

const VALID = `
nodes:
  - name: pbx1
    ami: { host: h, username: u, secret: \${AMI_SECRET} }
    ari: { url: http://h:8088, username: u, password: p }
`;

function run(
  argv: string[],
  files: Record<string, string>,
  env: NodeJS.ProcessEnv = { AMI_SECRET: 's3cret' },
) {
  const lines: string[] = [];
  const exit = jest.fn((code: number): never => {
    throw new ExitCalled(code);
  });
  const readFile = (path: string): string => {
    const content = files[path];
    if (content === undefined) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
    return content;
  };
  let result: unknown;
  try {
    result = loadConfigOrExit(argv, env, { error: (line) => lines.push(line) }, { exit, readFile });
  } catch (error) {
    if (!(error instanceof ExitCalled)) throw error;
  }
  return { result, lines, exit };
}

describe('loadConfigOrExit', () => {
  it('returns the configuration and prints nothing when it is valid', () => {
    const { result, lines, exit } = run(['--config', '/etc/p.yaml'], { '/etc/p.yaml': VALID });
    expect(result).toMatchObject({ source: '/etc/p.yaml', nodes: [{ name: 'pbx1' }] });
    expect(lines).toEqual([]);
    expect(exit).not.toHaveBeenCalled();
  });

  it('prints a header and one line per problem, then exits 2', () => {
    const text = `${VALID}http: { port: 0, prot: 1 }\n`;
    const { lines, exit } = run(['--config=/etc/p.yaml'], { '/etc/p.yaml': text }, { AMI_SECRET: 's3cret' });
    expect(lines).toEqual([
      'pbxpulse: invalid configuration (/etc/p.yaml):',
      '  http.prot: unknown key (did you mean port?)',
      '  http.port: expected an integer 1-65535, got 0',
    ]);
    expect(exit).toHaveBeenCalledWith(2);
  });

  it('never prints a secret', () => {
    const text = VALID.replace('${AMI_SECRET}', '"${AMI_SECRET}"').replace(
      'password: p',
      'password: [hunter2]',
    );
    const { lines, exit } = run(['--config', '/p.yaml'], {
      '/p.yaml': `${text}auth: { adminToken: "hunter2\${" }\n`,
    });
    expect(lines.length).toBeGreaterThan(1);
    expect(lines.join('\n')).not.toContain('hunter2');
    expect(exit).toHaveBeenCalledWith(2);
  });

  it('prints a YAML syntax error with its line and column, without a stack, and exits 2', () => {
    const { lines, exit } = run(['--config', '/p.yaml'], { '/p.yaml': 'nodes:\n  - name: "pbx1\n' });
    expect(lines).toEqual(['pbxpulse: invalid YAML in /p.yaml at line 3, column 1: Missing closing "quote']);
    expect(exit).toHaveBeenCalledWith(2);
  });

  it('explains how to pass a configuration when none is given, and exits 2', () => {
    const { lines, exit } = run(['node', 'main.js'], {}, {});
    expect(lines).toEqual(['pbxpulse: no configuration: pass --config <path> or set PBXPULSE_CONFIG']);
    expect(exit).toHaveBeenCalledWith(2);
  });

  it('names an unreadable configuration file and exits 2', () => {
    const { lines, exit } = run(['--config', '/missing.yaml'], {});
    expect(lines).toEqual(['pbxpulse: cannot read configuration file /missing.yaml (ENOENT: no such file)']);
    expect(exit).toHaveBeenCalledWith(2);
  });

  it('rethrows an unexpected error with its stack instead of hiding a bug behind exit 2', () => {
    const bug = new TypeError('a bug in the loader');
    const spy = jest.spyOn(loader, 'loadConfig').mockImplementation(() => {
      throw bug;
    });
    try {
      const exit = jest.fn((code: number): never => {
        throw new ExitCalled(code);
      });
      const lines: string[] = [];
      expect(() => loadConfigOrExit([], {}, { error: (line) => lines.push(line) }, { exit })).toThrow(bug);
      expect(exit).not.toHaveBeenCalled();
      expect(lines).toEqual([]);
    } finally {
      spy.mockRestore();
    }
  });
});
