import { ConfigError, ConfigSourceError, ConfigSyntaxError } from './config.errors';
import { loadConfig, type ReadFile } from './config.loader';
import type { PbxpulseConfig } from './config.types';

/** Where `loadConfigOrExit` writes; Nest's `Logger` fits. Default: plain lines on stderr. */
export interface ConfigCliLogger {
  error(message: string): void;
}

export interface ConfigCliOptions {
  /** Default: `process.exit`. A test double should throw to stop the flow. */
  exit?: (code: number) => never;
  readFile?: ReadFile;
}

/** Exit status for an unusable configuration (usage error, like most CLIs). */
export const CONFIG_EXIT_CODE = 2;

const stderrLogger: ConfigCliLogger = {
  error: (message) => {
    process.stderr.write(`${message}\n`);
  },
};

/**
 * `loadConfig` for `main.ts`: on a configuration problem prints what is wrong (one line per problem, no
 * stack, no secret) and exits with status 2. Any other error is a bug and is rethrown with its stack.
 */
export function loadConfigOrExit(
  argv: string[],
  env: NodeJS.ProcessEnv,
  logger: ConfigCliLogger = stderrLogger,
  options: ConfigCliOptions = {},
): PbxpulseConfig {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  try {
    return loadConfig({ argv, env, readFile: options.readFile });
  } catch (error) {
    if (error instanceof ConfigError) {
      logger.error(`pbxpulse: invalid configuration (${error.source}):`);
      for (const problem of error.problems) logger.error(`  ${problem}`);
      return exit(CONFIG_EXIT_CODE);
    }
    if (error instanceof ConfigSyntaxError || error instanceof ConfigSourceError) {
      logger.error(`pbxpulse: ${error.message}`);
      return exit(CONFIG_EXIT_CODE);
    }
    throw error;
  }
}
