/** Two projects: fast unit/component tests next to the code, and integration tests on the real sandbox Asterisk. */
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.jest.json' }];
module.exports = {
  // Per-project testTimeout is ignored by Jest; integration tests wait on a real Asterisk.
  testTimeout: 60000,
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform: { '^.+\\.ts$': tsJest },
      testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/component/**/*.spec.ts'],
      setupFiles: ['<rootDir>/test/support/quiet-logger.ts'],
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      transform: { '^.+\\.ts$': tsJest },
      testMatch: ['<rootDir>/test/integration/**/*.int-spec.ts'],
      setupFiles: ['<rootDir>/test/support/quiet-logger.ts'],
      setupFilesAfterEnv: ['<rootDir>/test/support/sandbox-guard.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.js',
    },
  ],
};
