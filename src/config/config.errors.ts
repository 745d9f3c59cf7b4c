import { PbxpulseError } from '../common/errors';

/**
 * The configuration file was read and parsed but is not valid. `problems` holds every problem found,
 * one line each, starting with the key path (`nodes[1].ami.port: expected ...`). No line ever contains
 * a secret value.
 */
export class ConfigError extends PbxpulseError {
  readonly code = 'CONFIG_INVALID';
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`invalid configuration (${source}):\n${problems.map((problem) => `  ${problem}`).join('\n')}`);
  }
}

/** No configuration file was named, or the named file cannot be read. */
export class ConfigSourceError extends PbxpulseError {
  readonly code = 'CONFIG_UNAVAILABLE';
}

/**
 * The configuration file is not well-formed YAML. `position` (1-based) is the first error's, when known.
 * The message names the file, line and column but never quotes the source text, which may hold a secret.
 */
export class ConfigSyntaxError extends PbxpulseError {
  readonly code = 'CONFIG_SYNTAX';
  constructor(
    readonly source: string,
    readonly reason: string,
    readonly position?: { line: number; column: number },
  ) {
    const at = position === undefined ? '' : ` at line ${position.line}, column ${position.column}`;
    super(`invalid YAML in ${source}${at}: ${reason}`);
  }
}
