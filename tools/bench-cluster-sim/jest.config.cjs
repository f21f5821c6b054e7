module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'bench-cluster-sim',
  rootDir: __dirname,
  // The agreement test streams real traffic for 30 s after starting engine processes.
  testTimeout: 120_000,
};
