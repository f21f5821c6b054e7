module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'cluster-sim',
  rootDir: __dirname,
};
