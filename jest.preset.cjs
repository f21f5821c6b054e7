// Shared jest preset: every project's jest.config.cjs spreads this.
// - @swc/jest compiles TypeScript (type-checking runs apart, in the `typecheck` target).
// - ESM-only packages in node_modules are transformed to CommonJS as well.
// - Path aliases come from tsconfig.base.json so tests import libs exactly as code does.
const path = require('node:path');
const { compilerOptions } = require('./tsconfig.base.json');

const esmOnly = [
  '@kubernetes/client-node',
  'openid-client',
  'oauth4webapi',
  'jose',
  'typebox',
  'jsonpath-plus',
  'rfc4648',
  'cookie',
  'llama3-tokenizer-js',
];

const moduleNameMapper = {};
for (const [alias, targets] of Object.entries(compilerOptions.paths ?? {})) {
  const key = '^' + alias.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace('*', '(.*)') + '$';
  moduleNameMapper[key] = path.join(__dirname, targets[0].replace('*', '$1'));
}

const swc = [
  '@swc/jest',
  {
    jsc: { parser: { syntax: 'typescript', decorators: false }, target: 'es2022' },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  },
];

module.exports = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.(t|j|mj)s$': swc,
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esmOnly.join('|')})/)`],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'json'],
  moduleNameMapper,
  testMatch: ['<rootDir>/**/*.spec.ts'],
  // Integration specs start real servers; give them room on a loaded 2-core machine.
  testTimeout: 30_000,
  // Workers: jest's default would use every core per project while nx also runs projects in parallel.
  maxWorkers: 2,
};
