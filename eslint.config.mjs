// Lint: typescript-eslint recommended rules plus Nx module boundaries.
// The dependency rules below are the architecture: change them with an ADR.
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

// Packages that tie code to a transport or framework. Contracts and algorithm libs stay free of them
// so that the same logic runs in the gateway, in tests and in the virtual-time cluster simulation.
const frameworkPackages = [
  'fastify',
  '@fastify/*',
  '@nats-io/*',
  'nats',
  '@kubernetes/client-node',
  'undici',
  'prom-client',
  'pino',
  'zeromq',
];

const depConstraints = [
  // type: what a project is
  {
    sourceTag: 'type:contracts',
    onlyDependOnLibsWithTags: ['type:contracts'],
    bannedExternalImports: frameworkPackages,
  },
  {
    sourceTag: 'type:algorithm',
    onlyDependOnLibsWithTags: ['type:contracts', 'type:algorithm'],
    bannedExternalImports: frameworkPackages,
  },
  {
    sourceTag: 'type:infra',
    onlyDependOnLibsWithTags: ['type:contracts', 'type:algorithm', 'type:infra'],
  },
  {
    sourceTag: 'type:testing',
    onlyDependOnLibsWithTags: ['type:contracts', 'type:algorithm', 'type:infra', 'type:testing'],
  },
  {
    sourceTag: 'type:app',
    onlyDependOnLibsWithTags: ['type:contracts', 'type:algorithm', 'type:infra', 'type:testing'],
  },
  {
    sourceTag: 'type:tool',
    onlyDependOnLibsWithTags: ['type:contracts', 'type:algorithm', 'type:infra', 'type:testing', 'type:tool'],
  },
  {
    sourceTag: 'type:e2e',
    onlyDependOnLibsWithTags: ['type:contracts', 'type:algorithm', 'type:infra', 'type:testing', 'type:tool'],
  },
  // scope: which part of the system it serves. Shared code serves everyone and depends on no service scope.
  { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
  { sourceTag: 'scope:engine', onlyDependOnLibsWithTags: ['scope:engine', 'scope:shared'] },
  { sourceTag: 'scope:gateway', onlyDependOnLibsWithTags: ['scope:gateway', 'scope:shared'] },
  { sourceTag: 'scope:runtime', onlyDependOnLibsWithTags: ['scope:runtime', 'scope:shared'] },
  { sourceTag: 'scope:control', onlyDependOnLibsWithTags: ['scope:control', 'scope:shared'] },
  // The simulation composes the engine model with the gateway's real routing code.
  { sourceTag: 'scope:sim', onlyDependOnLibsWithTags: ['scope:sim', 'scope:engine', 'scope:gateway', 'scope:shared'] },
  // The CLI, benchmarks and e2e tests drive the whole system.
  {
    sourceTag: 'scope:tooling',
    onlyDependOnLibsWithTags: [
      'scope:tooling',
      'scope:sim',
      'scope:engine',
      'scope:gateway',
      'scope:runtime',
      'scope:control',
      'scope:shared',
    ],
  },
];

// Tests may also use the test helpers (@brix/testing); production code may not.
const withTesting = (constraints) =>
  constraints.map((c) =>
    c.onlyDependOnLibsWithTags?.some((t) => t.startsWith('type:')) && !c.onlyDependOnLibsWithTags.includes('type:testing')
      ? { ...c, onlyDependOnLibsWithTags: [...c.onlyDependOnLibsWithTags, 'type:testing'] }
      : c,
  );

export default [
  { ignores: ['**/node_modules/**', '**/dist/**', '**/tmp/**', '**/.nx/**', '**/*.cjs', '**/*.mjs'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints,
        },
      ],
    },
  },
  {
    files: ['**/*.spec.ts', '**/*.int.spec.ts'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        { enforceBuildableLibDependency: false, allow: [], depConstraints: withTesting(depConstraints) },
      ],
    },
  },
  {
    files: ['**/*.spec.ts', '**/testing/**/*.ts', 'e2e/**/*.ts', 'tools/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
];
