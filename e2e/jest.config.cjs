module.exports = {
  ...require('../jest.preset.cjs'),
  displayName: 'e2e',
  rootDir: __dirname,
  // Black-box tests start whole stacks; one at a time.
  maxWorkers: 1,
  testTimeout: 120_000,
};
