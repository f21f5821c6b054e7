module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'ratelimit',
  rootDir: __dirname,
};
