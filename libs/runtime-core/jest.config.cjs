module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'runtime-core',
  rootDir: __dirname,
};
