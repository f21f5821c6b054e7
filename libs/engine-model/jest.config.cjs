module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'engine-model',
  rootDir: __dirname,
};
