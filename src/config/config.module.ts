import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { PbxpulseConfig } from './config.types';

/** Injection token for the validated `PbxpulseConfig`: `@Inject(PBXPULSE_CONFIG) config: PbxpulseConfig`. */
export const PBXPULSE_CONFIG = 'PBXPULSE_CONFIG';

/**
 * Makes the configuration loaded at boot (see `loadConfigOrExit`) injectable everywhere. Loading happens
 * before Nest starts so that a bad file exits with a readable message instead of a bootstrap stack.
 */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: PbxpulseConfig): DynamicModule {
    return {
      module: ConfigModule,
      global: true,
      providers: [{ provide: PBXPULSE_CONFIG, useValue: config }],
      exports: [PBXPULSE_CONFIG],
    };
  }
}
