// Public surface of @brix/tokenizer: real model tokenizers, chat templating and cheap estimates.
export * from './tokenizer';
