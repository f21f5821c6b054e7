module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'ai-runtime',
  rootDir: __dirname,
};
