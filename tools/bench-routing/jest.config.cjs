module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'bench-routing',
  rootDir: __dirname,
};
