// One lint config for the whole repo. The workflows override keeps orchestrator code deterministic (design §2).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.devhost-data/**', '.bench-data/**', '*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['vitest.config.ts'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
    },
  },
  {
    files: ['shared/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'orchestrators are deterministic: no Node built-ins' })),
          patterns: [
            { group: ['**/adapters/**', '**/adapters'], message: 'orchestrators never touch adapters' },
            {
              group: ['@azure/storage-*', '@azure/data-tables', '@azure/keyvault-*', 'pg'],
              message: 'no I/O in orchestrators',
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'Date', message: 'use context.df.currentUtcDateTime' },
        { name: 'setTimeout', message: 'use context.df.createTimer' },
        { name: 'setInterval', message: 'use context.df.createTimer' },
        { name: 'process', message: 'settings arrive as orchestration input' },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'use context.df.newGuid' },
        { object: 'crypto', property: 'randomUUID', message: 'use context.df.newGuid' },
      ],
    },
  },
);
