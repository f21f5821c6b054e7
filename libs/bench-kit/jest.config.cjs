module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'bench-kit',
  rootDir: __dirname,
};
