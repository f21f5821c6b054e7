module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'artifacts',
  rootDir: __dirname,
};
