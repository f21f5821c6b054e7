import Type, { type Static } from 'typebox';

/**
 * A decoder-only transformer by its architecture numbers (the checkpoint's `config.json`). Everything the
 * memory and latency models need derives from these: parameter bytes, FLOPs per token, KV bytes per token.
 * Gated-MLP (SwiGLU) and grouped-query attention are assumed, as in every model of the catalogue.
 */
export const ModelSpec = Type.Object({
  id: Type.String({ minLength: 1 }),
  /** The Hugging Face repository the numbers come from. */
  hfRepo: Type.String(),
  layers: Type.Integer({ minimum: 1 }),
  hiddenSize: Type.Integer({ minimum: 1 }),
  attentionHeads: Type.Integer({ minimum: 1 }),
  kvHeads: Type.Integer({ minimum: 1 }),
  headDim: Type.Integer({ minimum: 1 }),
  intermediateSize: Type.Integer({ minimum: 1 }),
  vocabSize: Type.Integer({ minimum: 1 }),
  /** Input embedding and LM head share one matrix. */
  tiedEmbeddings: Type.Boolean(),
  /** The published parameter count (checked against the architecture in tests). */
  params: Type.Number({ exclusiveMinimum: 0 }),
  /** `max_position_embeddings`: vLLM's default `max_model_len`. */
  maxPositionEmbeddings: Type.Integer({ minimum: 1 }),
  dtype: Type.Union([Type.Literal('bfloat16'), Type.Literal('float16')]),
});
export type ModelSpec = Static<typeof ModelSpec>;

/**
 * The model catalogue, from each repository's config.json:
 * - Llama-3-8B (meta-llama/Meta-Llama-3-8B): 32 layers, hidden 4096, 32 heads, 8 KV heads, intermediate 14336,
 *   vocab 128256, 8192 positions. Llama-3.1-8B has the same architecture with 131072 positions.
 * - Llama-3-70B (meta-llama/Meta-Llama-3-70B): 80 layers, hidden 8192, 64 heads, 8 KV heads, intermediate 28672,
 *   vocab 128256 — served with tensor parallelism (bf16 weights are ≈141 GB).
 * - Qwen2.5-7B (Qwen/Qwen2.5-7B-Instruct): 28 layers, hidden 3584, 28 heads, 4 KV heads, intermediate 18944,
 *   vocab 152064, 32768 positions.
 * - Qwen2.5-0.5B (Qwen/Qwen2.5-0.5B-Instruct): 24 layers, hidden 896, 14 heads, 2 KV heads (head dim 64),
 *   intermediate 4864, vocab 151936, tied embeddings. Used by one calibration row.
 * - deepseek-coder-6.7B (deepseek-ai/deepseek-coder-6.7b-instruct): 32 layers, hidden 4096, 32 heads, 32 KV heads
 *   (no GQA: 4× the KV bytes of Llama-3-8B per token), intermediate 11008, vocab 32256, 16384 positions.
 * - Mistral-7B (mistralai/Mistral-7B-Instruct-v0.3): 32 layers, hidden 4096, 32 heads, 8 KV heads, intermediate
 *   14336, vocab 32768, 32768 positions.
 */
export const modelCatalog = {
  'llama-3-8b': {
    id: 'llama-3-8b',
    hfRepo: 'meta-llama/Meta-Llama-3-8B-Instruct',
    layers: 32,
    hiddenSize: 4096,
    attentionHeads: 32,
    kvHeads: 8,
    headDim: 128,
    intermediateSize: 14336,
    vocabSize: 128256,
    tiedEmbeddings: false,
    params: 8.03e9,
    maxPositionEmbeddings: 8192,
    dtype: 'bfloat16',
  },
  'llama-3.1-8b': {
    id: 'llama-3.1-8b',
    hfRepo: 'meta-llama/Llama-3.1-8B-Instruct',
    layers: 32,
    hiddenSize: 4096,
    attentionHeads: 32,
    kvHeads: 8,
    headDim: 128,
    intermediateSize: 14336,
    vocabSize: 128256,
    tiedEmbeddings: false,
    params: 8.03e9,
    maxPositionEmbeddings: 131072,
    dtype: 'bfloat16',
  },
  'llama-3-70b': {
    id: 'llama-3-70b',
    hfRepo: 'meta-llama/Meta-Llama-3-70B-Instruct',
    layers: 80,
    hiddenSize: 8192,
    attentionHeads: 64,
    kvHeads: 8,
    headDim: 128,
    intermediateSize: 28672,
    vocabSize: 128256,
    tiedEmbeddings: false,
    params: 70.55e9,
    maxPositionEmbeddings: 8192,
    dtype: 'bfloat16',
  },
  'qwen2.5-7b': {
    id: 'qwen2.5-7b',
    hfRepo: 'Qwen/Qwen2.5-7B-Instruct',
    layers: 28,
    hiddenSize: 3584,
    attentionHeads: 28,
    kvHeads: 4,
    headDim: 128,
    intermediateSize: 18944,
    vocabSize: 152064,
    tiedEmbeddings: false,
    params: 7.62e9,
    maxPositionEmbeddings: 32768,
    dtype: 'bfloat16',
  },
  'qwen2.5-0.5b': {
    id: 'qwen2.5-0.5b',
    hfRepo: 'Qwen/Qwen2.5-0.5B-Instruct',
    layers: 24,
    hiddenSize: 896,
    attentionHeads: 14,
    kvHeads: 2,
    headDim: 64,
    intermediateSize: 4864,
    vocabSize: 151936,
    tiedEmbeddings: true,
    params: 0.494e9,
    maxPositionEmbeddings: 32768,
    dtype: 'bfloat16',
  },
  'deepseek-coder-6.7b': {
    id: 'deepseek-coder-6.7b',
    hfRepo: 'deepseek-ai/deepseek-coder-6.7b-instruct',
    layers: 32,
    hiddenSize: 4096,
    attentionHeads: 32,
    kvHeads: 32,
    headDim: 128,
    intermediateSize: 11008,
    vocabSize: 32256,
    tiedEmbeddings: false,
    params: 6.74e9,
    maxPositionEmbeddings: 16384,
    dtype: 'bfloat16',
  },
  'mistral-7b': {
    id: 'mistral-7b',
    hfRepo: 'mistralai/Mistral-7B-Instruct-v0.3',
    layers: 32,
    hiddenSize: 4096,
    attentionHeads: 32,
    kvHeads: 8,
    headDim: 128,
    intermediateSize: 14336,
    vocabSize: 32768,
    tiedEmbeddings: false,
    params: 7.25e9,
    maxPositionEmbeddings: 32768,
    dtype: 'bfloat16',
  },
} as const satisfies Record<string, ModelSpec>;

export type ModelId = keyof typeof modelCatalog;

/** Weights of one transformer layer's linear maps (attention q/k/v/o and the gated MLP); norms are negligible. */
export function layerLinearParams(m: ModelSpec): number {
  const q = m.hiddenSize * m.attentionHeads * m.headDim;
  const kv = 2 * m.hiddenSize * m.kvHeads * m.headDim;
  const o = m.attentionHeads * m.headDim * m.hiddenSize;
  const mlp = 3 * m.hiddenSize * m.intermediateSize;
  return q + kv + o + mlp;
}

/** Parameters of the LM head (vocab × hidden); zero extra when tied to the input embedding. */
export function lmHeadParams(m: ModelSpec): number {
  return m.vocabSize * m.hiddenSize;
}

/** Parameter count implied by the architecture: layers + embedding (+ a separate LM head unless tied). */
export function architectureParams(m: ModelSpec): number {
  const embedding = m.vocabSize * m.hiddenSize;
  return m.layers * layerLinearParams(m) + embedding + (m.tiedEmbeddings ? 0 : lmHeadParams(m));
}

/** Bytes per element of the model's compute dtype (both BF16 and FP16 are 2). */
export function dtypeBytes(_dtype: ModelSpec['dtype']): number {
  return 2;
}
