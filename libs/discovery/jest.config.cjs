module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'discovery',
  rootDir: __dirname,
};
