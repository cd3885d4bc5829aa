// ESLint flat config: typescript-eslint's type-checked rules, no floating promises, and no Node built-ins in
// workflow code (workflows run in Temporal's deterministic sandbox).
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
    // Workflow code and everything it imports from src/ run in the deterministic sandbox.
    files: [
      'workflows/**/*.ts',
      'src/policy/{schema,evaluate,authority,default-policy}.ts',
      'src/{decision,hash,messages,run-input,run-state,activity-types,errors}.ts',
      'src/{model,render,tools}/**/*.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins,
          patterns: [
            {
              group: ['../activities/*', '../activities/**'],
              message: 'workflows import activity types from src/activity-types',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
