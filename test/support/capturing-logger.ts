import type { LoggerService } from '@nestjs/common';

/** Every Nest log line at every level (the daemon logs only through Nest's Logger), to grep for secrets. */
export class CapturingLogger implements LoggerService {
  readonly lines: string[] = [];

  private add(level: string, message: unknown, rest: unknown[]): void {
    const text = [message, ...rest].map((x) =>
      typeof x === 'string' ? x : x instanceof Error ? `${x.message}\n${x.stack}` : JSON.stringify(x),
    );
    this.lines.push(`${level} ${text.join(' ')}`);
  }
  log(message: unknown, ...rest: unknown[]): void {
    this.add('log', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.add('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.add('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.add('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.add('verbose', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.add('fatal', message, rest);
  }
  /** A test daemon may ask for errors only; keep every level, debug included. */
  setLogLevels(): void {}
}
