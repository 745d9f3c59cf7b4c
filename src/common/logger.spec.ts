import { createLogger, enabledLevels, type LoggerOptions } from './logger';

// An escape sequence starts with ESC [.
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[`);

/** What a logger built with `options` writes for a few calls, per stream. */
function written(
  options: LoggerOptions,
  isTTY: boolean | undefined,
  use: (logger: ReturnType<typeof createLogger>) => void,
) {
  const out: string[] = [];
  const err: string[] = [];
  const stdout = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out.push(String(chunk));
    return true;
  });
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    err.push(String(chunk));
    return true;
  });
  try {
    use(createLogger(options, { isTTY }));
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
  return { out: out.join(''), err: err.join('') };
}

describe('createLogger', () => {
  it('auto: one JSON object per line with level, context, message and timestamp when stdout is not a TTY', () => {
    const { out, err } = written({ format: 'auto', level: 'log' }, undefined, (logger) => {
      logger.log('control: admin reload res_pjsip.so on pbx1: ok in 12 ms', 'ControlService');
      logger.warn('pbx1: AMI lost (ECONNRESET)\nsecond line', 'AmiService');
      logger.error('failed: boom', 'Error: boom\n    at x (y.ts:1:1)', 'pbxpulse');
    });
    const lines = out.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual([
      expect.objectContaining({
        level: 'log',
        context: 'ControlService',
        message: 'control: admin reload res_pjsip.so on pbx1: ok in 12 ms',
        timestamp: expect.any(Number),
      }),
      expect.objectContaining({
        level: 'warn',
        context: 'AmiService',
        message: 'pbx1: AMI lost (ECONNRESET)\nsecond line',
      }),
    ]);
    // Errors go to stderr, with the stack inside the object rather than on lines of its own.
    expect(err.trimEnd().split('\n')).toHaveLength(1);
    expect(JSON.parse(err)).toMatchObject({
      level: 'error',
      context: 'pbxpulse',
      message: 'failed: boom',
      stack: 'Error: boom\n    at x (y.ts:1:1)',
    });
    expect(out + err).not.toMatch(ANSI);
  });

  it('auto on a TTY: coloured text (unless NO_COLOR is set, which Nest honours)', () => {
    const noColor = process.env.NO_COLOR;
    delete process.env.NO_COLOR;
    try {
      const { out } = written({ format: 'auto', level: 'log' }, true, (logger) => logger.log('hello', 'Ctx'));
      expect(out).toMatch(ANSI);
      expect(out).toContain('hello');
      expect(() => JSON.parse(out) as unknown).toThrow();
    } finally {
      if (noColor !== undefined) process.env.NO_COLOR = noColor;
    }
  });

  it('text when not a TTY: the same text lines, with a timestamp and no escape codes', () => {
    const { out } = written({ format: 'text', level: 'log' }, undefined, (logger) =>
      logger.log('hello', 'Ctx'),
    );
    expect(out).toMatch(/^\[Nest\] \d+ {2}- .*\d{1,2}:\d{2}:\d{2}.* {5}LOG \[Ctx\] hello\n$/);
    expect(out).not.toMatch(ANSI);
  });

  it('json even on a TTY when asked', () => {
    const { out } = written({ format: 'json', level: 'log' }, true, (logger) => logger.log('hello', 'Ctx'));
    expect(JSON.parse(out)).toMatchObject({ level: 'log', context: 'Ctx', message: 'hello' });
  });

  it('writes the configured level and the more severe ones only', () => {
    const { out } = written({ format: 'json', level: 'warn' }, undefined, (logger) => {
      logger.debug('d', 'Ctx');
      logger.log('l', 'Ctx');
      logger.warn('w', 'Ctx');
    });
    expect(
      out
        .trimEnd()
        .split('\n')
        .map((l) => (JSON.parse(l) as { message: string }).message),
    ).toEqual(['w']);
  });

  it('maps each level to the levels it enables (log: what the daemon logged before the setting existed)', () => {
    expect(enabledLevels('error')).toEqual(['fatal', 'error']);
    expect(enabledLevels('log')).toEqual(['fatal', 'error', 'warn', 'log']);
    expect(enabledLevels('verbose')).toEqual(['fatal', 'error', 'warn', 'log', 'debug', 'verbose']);
  });
});
