module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'engine-sim',
  rootDir: __dirname,
};
