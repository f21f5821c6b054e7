import { stringKey32 } from '@brix/block-hash';
import { type TokenSource } from '@brix/engine-model';
import { type Tokenizer } from '@brix/tokenizer';

/**
 * The text engine-sim "generates": English prose, tokenized once at start. Generated tokens walk through it
 * from a per-request offset, so answers read as sentences and re-tokenize to the same ids (a client that sends
 * an answer back in its next turn shares a real prefix with what the engine cached).
 */
const PASSAGE =
  'A serving engine keeps many requests in flight at once. Each step it reads the weights from memory, ' +
  'computes one new token for every running sequence, and fills the next chunk of any prompt that is still ' +
  'being read. Blocks of the key and value cache hold what the model has seen, sixteen tokens to a block. ' +
  'When two prompts begin with the same words, the second one finds those blocks already filled and skips ' +
  'straight to the part that differs, which is why a long shared system prompt costs little after the first ' +
  'time. When memory runs short the newest request is sent back to the queue and computed again later. ' +
  'Adapters change a small part of the model for one task, and a batch may mix a few of them. A router in ' +
  'front of many engines tries to send each request where its prefix is cached, where the queue is short, ' +
  'and where the adapter it needs is already loaded. ';

/** Generated token ids and their text, for the Llama-3 tokenizer. */
export class SyntheticText {
  private readonly ids: readonly number[];
  private readonly pieces = new Map<number, string>();
  /** Ends a request that finishes with "stop" (Llama-3 Instruct's end of turn, `<|eot_id|>`). */
  readonly eosId: number;

  constructor(private readonly tokenizer: Tokenizer) {
    this.eosId = tokenizer.stopIds[tokenizer.stopIds.length - 1]!;
    this.ids = tokenizer.encode(PASSAGE);
    // Every piece is ASCII, so decoding token by token equals decoding the whole sequence.
    for (const id of this.ids) this.pieces.set(id, tokenizer.decode([id]));
    for (const id of tokenizer.stopIds) this.pieces.set(id, '');
  }

  /**
   * The engine's token source: the passage from an offset derived from the request id, and the EOS token as
   * the last token of a request that ends with "stop".
   */
  readonly tokenSource: TokenSource = (ctx) => {
    if (ctx.last && ctx.finishReason === 'stop') return this.eosId;
    const offset = stringKey32(ctx.requestId) % this.ids.length;
    return this.ids[(offset + ctx.index) % this.ids.length]!;
  };

  /**
   * Text of one generated token: what vLLM streams for it (special tokens are skipped, as with vLLM's default
   * skip_special_tokens). Ids that are not from the passage are decoded by the tokenizer.
   */
  piece(id: number): string {
    const known = this.pieces.get(id);
    return known ?? this.tokenizer.decode([id]);
  }
}
