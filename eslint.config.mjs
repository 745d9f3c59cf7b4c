import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      'test-output/**',
      '**/*.mjs',
      '**/*.cjs',
      '**/*.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    files: ['**/*.spec.ts', 'test/**/*.ts', 'scripts/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      'no-console': 'off',
    },
  },
  {
    // Layer boundaries (docs/decisions.md). Protocol stays in the adapters: the rest of the daemon uses
    // their services and query surfaces (ami.service, ami.pjsip, ami.errors; ari.service, ari.queries,
    // ari.errors) and the shared vocabulary and records in src/common. Specs may build their inputs from
    // recorded frames with the adapters' parsers, so the rule covers app code only.
    files: ['src/**/*.ts'],
    ignores: ['src/ami/**', 'src/ari/**', '**/*.spec.ts', '**/testing/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex:
                '/(ami|ari)/(ami|ari)\\.(connection|message|messages|normaliser|parser|pjsip-parse|pjsip-records)$',
              allowTypeImports: false,
              message:
                'Adapter internals: use AmiService.pjsip(node) / AriService.queries(node) and the records in src/common.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/ami/**/*.ts', 'src/ari/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '/(state|detectors|health|gateway|api|control|metrics|board)/',
              message:
                'Adapters never depend on the layers above them: offer a hook (see LinkServiceBase.onConnected).',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/state/**/*.ts', 'src/detectors/**/*.ts', 'src/gateway/**/*.ts'],
    ignores: ['**/*.spec.ts', '**/testing/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '/api/',
              message: 'The REST layer sits on top: state, detectors and the gateway never import it.',
            },
            {
              regex:
                '/(ami|ari)/(ami|ari)\\.(connection|message|messages|normaliser|parser|pjsip-parse|pjsip-records)$',
              message:
                'Adapter internals: use AmiService.pjsip(node) / AriService.queries(node) and the records in src/common.',
            },
          ],
        },
      ],
    },
  },
  {
    // The board's browser code (src/board/client/tsconfig.json gives it the DOM): daemon data reaches
    // the page as text only, nothing of Node is there, and only types come from the server's code.
    files: ['src/board/client/**/*.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        ...['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'write', 'writeln'].map((property) => ({
          property,
          message: 'Daemon data is attacker-influenced: build nodes with h() and toDom() (board.dom.ts).',
        })),
      ],
      'no-restricted-globals': [
        'error',
        ...['process', 'require', 'module', 'Buffer', '__dirname', '__filename', 'global'].map((name) => ({
          name,
          message: 'The board runs in a browser.',
        })),
      ],
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['../*'],
              allowTypeImports: true,
              message: 'The bundle holds the client only: import types from the server, never code.',
            },
          ],
        },
      ],
    },
  },
  prettier,
);
