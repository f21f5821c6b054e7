module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'engine-metrics',
  rootDir: __dirname,
};
