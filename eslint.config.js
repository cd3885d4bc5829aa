// ESLint flat config: typescript-eslint's type-checked rules, no floating promises, no Node built-ins in the
// deterministic sandbox (workflows/ and src/shared/), and imports that point down.
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  { ignores: ['node_modules/', '.temporal/', '.data/', 'bin/', 'eslint.config.js', 'deploy/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite', 'before', 'after'] },
          ],
        },
      ],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    // The deterministic sandbox: workflow code and the shared code it imports. Exactly these two folders.
    files: ['workflows/**/*.ts', 'src/shared/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins,
          patterns: [
            {
              group: ['**/activities/*', '**/activities/**'],
              message: 'sandbox code imports activity types from src/shared/activity-types',
            },
            { group: ['**/src/node/**', '**/node/**'], message: 'src/node is Node-only: the sandbox cannot load it' },
          ],
        },
      ],
    },
  },
  {
    // Imports point down: the CLI and client helpers never reach up into workflows/ or the top-level entries.
    files: ['src/node/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/workflows/**', '**/workflows'], message: 'the client side never imports workflow code' },
            {
              group: ['../../../client', '../../client', '../../../worker'],
              message: 'import src/node/client instead',
            },
          ],
        },
      ],
    },
  },
  {
    // The inbox page's script runs in the browser, as a plain script: no type information, the browser's globals.
    files: ['src/node/inbox/assets/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      sourceType: 'script',
      globals: Object.fromEntries(
        [
          'document',
          'globalThis',
          'fetch',
          'EventSource',
          'Event',
          'CSS',
          'setTimeout',
          'clearTimeout',
          'setInterval',
        ].map((g) => [g, 'readonly']),
      ),
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
