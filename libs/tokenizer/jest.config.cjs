module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'tokenizer',
  rootDir: __dirname,
};
