module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'block-hash',
  rootDir: __dirname,
};
