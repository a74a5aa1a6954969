// One lint config for the whole repo. The workflows override keeps orchestrator code deterministic (design §2); the
// layer rules keep imports running down the stack of docs/decisions.md "Layout" (no file imports a layer above it).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

// shared/'s layers, bottom up: errors < domain < contracts < ports, config < workflows, adapters < activities < api <
// composition < functions/. A layer may import the ones below it; these name what each may NOT import.
const upward = (message, ...layers) => ({
  // Scoped packages are never a layer (`@opentelemetry/api` is not shared/api).
  group: [...layers.flatMap((l) => [`**/${l}`, `**/${l}/**`]), '!@*/**'],
  message,
});
const layers = {
  'shared/domain/**/*.ts': [
    upward(
      'the domain is pure: it imports only the domain and errors',
      'ports',
      'events',
      'config',
      'contracts',
      'workflows',
      'adapters',
      'activities',
      'api',
      'composition',
    ),
  ],
  'shared/contracts/**/*.ts': [
    upward(
      'contracts sit below both doors: only the domain, errors and zod',
      'ports',
      'config',
      'workflows',
      'adapters',
      'activities',
      'api',
      'composition',
    ),
    // shared/events/ (outbox, delivery, formats) sits above; the event registry itself is contracts/events.ts.
    { group: ['**/events/**'], message: 'contracts sit below shared/events/: the registry is contracts/events.ts' },
  ],
  'shared/ports.ts': [
    upward('ports are below every implementation', 'workflows', 'adapters', 'activities', 'api', 'composition'),
  ],
  'shared/workflows/**/*.ts': [
    upward('orchestrators never reach up to activities or the API', 'activities', 'api', 'composition'),
  ],
  'shared/adapters/**/*.ts': [
    upward(
      'adapters implement ports; they never import activities, workflows or the API',
      'workflows',
      'activities',
      'api',
      'composition',
    ),
  ],
  'shared/events/**/*.ts': [
    upward(
      'events (registry, formats, outbox, delivery) work over ports: never adapters, activities or the API',
      'workflows',
      'adapters',
      'activities',
      'api',
      'composition',
    ),
  ],
  'shared/activities/**/*.ts': [
    upward('activities never import the API: share a contract instead', 'api', 'composition'),
  ],
  'shared/api/**/*.ts': [upward('the API is wired by the composition root, not the other way round', 'composition')],
};

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
  ...Object.entries(layers)
    .filter(([files]) => files !== 'shared/workflows/**/*.ts')
    .map(([files, patterns]) => ({ files: [files], rules: { 'no-restricted-imports': ['error', { patterns }] } })),
  {
    // Plain CommonJS that runs before anything is installed or built (scripts/ensure-deps.js).
    files: ['scripts/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      sourceType: 'commonjs',
      globals: { require: 'readonly', process: 'readonly', __dirname: 'readonly', module: 'readonly' },
    },
    rules: { ...tseslint.configs.disableTypeChecked.rules, '@typescript-eslint/no-require-imports': 'off' },
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
            ...layers['shared/workflows/**/*.ts'],
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
