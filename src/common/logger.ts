import { ConsoleLogger, type LogLevel } from '@nestjs/common';

/** `auto`: one JSON object per line when stdout is not a terminal (systemd, Kubernetes), else text. */
export const LOG_FORMATS = ['auto', 'json', 'text'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Most severe first; a level enables itself and every level before it. */
export const LOG_LEVELS = ['error', 'warn', 'log', 'debug', 'verbose'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

export interface LoggerOptions {
  format: LogFormat;
  level: LogLevelName;
}

/** The daemon's one logger (Nest's `ConsoleLogger`), in the format and at the level configured. */
export function createLogger(options: LoggerOptions, stdout: { isTTY?: boolean }): ConsoleLogger {
  const terminal = stdout.isTTY === true;
  const json = options.format === 'json' || (options.format === 'auto' && !terminal);
  return new ConsoleLogger({
    json,
    // Escape codes only for a person at a terminal; a file or a pipe gets plain text.
    colors: !json && terminal,
    logLevels: enabledLevels(options.level),
  });
}

/** `fatal` is always on: it is only used right before the process dies. */
export function enabledLevels(level: LogLevelName): LogLevel[] {
  return ['fatal', ...LOG_LEVELS.slice(0, LOG_LEVELS.indexOf(level) + 1)];
}
