import Type, { type Static, type TSchema } from 'typebox';

// Request bodies of vLLM's OpenAI-compatible server, as far as engine-sim reads them. Fields it does not read
// (temperature, top_p, stop, seed, logit_bias, …) are accepted and ignored, as OpenAI's API allows extra fields.

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Opt = <T extends TSchema>(t: T) => Type.Optional(Nullable(t));

export const ContentPart = Type.Object({ type: Type.String(), text: Type.Optional(Type.String()) });

export const ChatMessage = Type.Object({
  role: Type.String({ minLength: 1 }),
  content: Opt(Type.Union([Type.String(), Type.Array(ContentPart)])),
});
export type ChatMessage = Static<typeof ChatMessage>;

export const StreamOptions = Type.Object({
  include_usage: Opt(Type.Boolean()),
  continuous_usage_stats: Opt(Type.Boolean()),
});

const generationFields = {
  model: Opt(Type.String()),
  /** vLLM default: max_model_len − prompt length for chat; 16 for completions (OpenAI's default). */
  max_tokens: Opt(Type.Integer()),
  /** vLLM extra: EOS is suppressed until this many tokens. */
  min_tokens: Opt(Type.Integer()),
  /** vLLM extra: generate exactly max_tokens. */
  ignore_eos: Opt(Type.Boolean()),
  n: Opt(Type.Integer()),
  stream: Opt(Type.Boolean()),
  stream_options: Opt(StreamOptions),
  /** vLLM extra (0.10.2+): fill `prompt_token_ids` / `token_ids` in responses. */
  return_token_ids: Opt(Type.Boolean()),
};

export const ChatCompletionRequest = Type.Object({
  ...generationFields,
  messages: Type.Array(ChatMessage),
  max_completion_tokens: Opt(Type.Integer()),
});
export type ChatCompletionRequest = Static<typeof ChatCompletionRequest>;

const TokenIds = Type.Array(Type.Integer(), { minItems: 1 });

/** A string, a list of strings, a list of token ids, or a list of token-id lists (one choice per prompt). */
export const PromptInput = Type.Union([
  Type.String(),
  Type.Array(Type.String(), { minItems: 1 }),
  TokenIds,
  Type.Array(TokenIds, { minItems: 1 }),
]);
export type PromptInput = Static<typeof PromptInput>;

export const CompletionRequest = Type.Object({ ...generationFields, prompt: PromptInput });
export type CompletionRequest = Static<typeof CompletionRequest>;

export const EmbeddingRequest = Type.Object({
  model: Opt(Type.String()),
  input: PromptInput,
  encoding_format: Type.Optional(Type.Union([Type.Literal('float'), Type.Literal('base64')])),
  dimensions: Opt(Type.Integer()),
  add_special_tokens: Opt(Type.Boolean()),
  user: Opt(Type.String()),
});
export type EmbeddingRequest = Static<typeof EmbeddingRequest>;

/** `/tokenize` takes the completion form (`prompt`) or the chat form (`messages`). */
export const TokenizeRequest = Type.Object({
  model: Opt(Type.String()),
  prompt: Type.Optional(Type.String()),
  messages: Type.Optional(Type.Array(ChatMessage)),
  /** Default true for `prompt` (BOS), false for `messages` (the template has its own). */
  add_special_tokens: Opt(Type.Boolean()),
  /** Chat form: end with the assistant header. Default true. */
  add_generation_prompt: Opt(Type.Boolean()),
  return_token_strs: Opt(Type.Boolean()),
});
export type TokenizeRequest = Static<typeof TokenizeRequest>;

export const DetokenizeRequest = Type.Object({ model: Opt(Type.String()), tokens: Type.Array(Type.Integer()) });
export type DetokenizeRequest = Static<typeof DetokenizeRequest>;

export const LoadLoraRequest = Type.Object({
  lora_name: Opt(Type.String()),
  lora_path: Opt(Type.String()),
  load_inplace: Opt(Type.Boolean()),
});
export type LoadLoraRequest = Static<typeof LoadLoraRequest>;

export const UnloadLoraRequest = Type.Object({ lora_name: Opt(Type.String()), lora_int_id: Opt(Type.Integer()) });
export type UnloadLoraRequest = Static<typeof UnloadLoraRequest>;

// ------------------------------------------------------------------------------------------------ responses

/** Shared fields of one response: vLLM's id (`chatcmpl-…`, `cmpl-…`, `embd-…`), Unix seconds, model name. */
export interface ResponseHead {
  id: string;
  created: number;
  model: string;
}

export interface Usage {
  prompt_tokens: number;
  total_tokens: number;
  completion_tokens: number;
  prompt_tokens_details?: { cached_tokens: number } | null;
}

export function usage(promptTokens: number, completionTokens: number, cachedTokens: number | null): Usage {
  return {
    prompt_tokens: promptTokens,
    total_tokens: promptTokens + completionTokens,
    completion_tokens: completionTokens,
    prompt_tokens_details: cachedTokens === null ? null : { cached_tokens: cachedTokens },
  };
}

/** Streamed usage omits nulls (vLLM dumps the final usage chunk with exclude_none). */
function streamedUsage(u: Usage): Usage {
  const { prompt_tokens_details, ...rest } = u;
  return prompt_tokens_details ? { ...rest, prompt_tokens_details } : rest;
}

/** The first chat chunk of a choice: the assistant role with empty content (vLLM 0.10.2+ adds prompt_token_ids). */
export function chatRoleChunk(h: ResponseHead, index: number, promptTokenIds: number[] | null, u: Usage | null) {
  return {
    id: h.id,
    object: 'chat.completion.chunk',
    created: h.created,
    model: h.model,
    choices: [{ index, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null, token_ids: null }],
    ...(u ? { usage: streamedUsage(u) } : {}),
    prompt_token_ids: promptTokenIds,
  };
}

/** A chat content chunk; the last one of a choice carries finish_reason and stop_reason. */
export function chatDeltaChunk(
  h: ResponseHead,
  index: number,
  text: string,
  finishReason: string | null,
  tokenIds: number[] | null,
  u: Usage | null,
) {
  const choice =
    finishReason === null
      ? { index, delta: { content: text }, logprobs: null, finish_reason: null, token_ids: tokenIds }
      : { index, delta: { content: text }, logprobs: null, finish_reason: finishReason, stop_reason: null, token_ids: tokenIds };
  return {
    id: h.id,
    object: 'chat.completion.chunk',
    created: h.created,
    model: h.model,
    choices: [choice],
    ...(u ? { usage: streamedUsage(u) } : {}),
  };
}

/** A completion chunk: every field present (vLLM dumps these without exclude_unset). */
export function completionChunk(
  h: ResponseHead,
  index: number,
  text: string,
  finishReason: string | null,
  promptTokenIds: number[] | null,
  tokenIds: number[] | null,
  u: Usage | null,
) {
  return {
    id: h.id,
    object: 'text_completion',
    created: h.created,
    model: h.model,
    choices: [
      {
        index,
        text,
        logprobs: null,
        finish_reason: finishReason,
        stop_reason: null,
        prompt_token_ids: promptTokenIds,
        token_ids: tokenIds,
      },
    ],
    usage: u ? streamedUsage(u) : null,
  };
}

/** The final chunk of `stream_options.include_usage`: no choices, the request's usage. */
export function usageChunk(h: ResponseHead, object: 'chat.completion.chunk' | 'text_completion', u: Usage) {
  return { id: h.id, object, created: h.created, model: h.model, choices: [], usage: streamedUsage(u) };
}

export interface ChoiceResult {
  index: number;
  text: string;
  finishReason: string;
  promptTokenIds: number[];
  tokenIds: number[];
}

export function chatCompletionResponse(h: ResponseHead, choices: ChoiceResult[], u: Usage, returnTokenIds: boolean) {
  return {
    id: h.id,
    object: 'chat.completion',
    created: h.created,
    model: h.model,
    choices: choices.map((c) => ({
      index: c.index,
      message: {
        role: 'assistant',
        content: c.text,
        refusal: null,
        annotations: null,
        audio: null,
        function_call: null,
        tool_calls: [],
        reasoning_content: null,
      },
      logprobs: null,
      finish_reason: c.finishReason,
      stop_reason: null,
      token_ids: returnTokenIds ? c.tokenIds : null,
    })),
    service_tier: null,
    system_fingerprint: null,
    usage: u,
    prompt_logprobs: null,
    prompt_token_ids: returnTokenIds ? (choices[0]?.promptTokenIds ?? null) : null,
    kv_transfer_params: null,
  };
}

export function completionResponse(h: ResponseHead, choices: ChoiceResult[], u: Usage, returnTokenIds: boolean) {
  return {
    id: h.id,
    object: 'text_completion',
    created: h.created,
    model: h.model,
    choices: choices.map((c) => ({
      index: c.index,
      text: c.text,
      logprobs: null,
      finish_reason: c.finishReason,
      stop_reason: null,
      prompt_logprobs: null,
      prompt_token_ids: returnTokenIds ? c.promptTokenIds : null,
      token_ids: returnTokenIds ? c.tokenIds : null,
    })),
    service_tier: null,
    system_fingerprint: null,
    usage: u,
    kv_transfer_params: null,
  };
}

/** One model card of `GET /v1/models`. */
export function modelCard(
  id: string,
  created: number,
  root: string,
  parent: string | null,
  maxModelLen: number | null,
  permissionId: string,
) {
  return {
    id,
    object: 'model',
    created,
    owned_by: 'vllm',
    root,
    parent,
    max_model_len: maxModelLen,
    permission: [
      {
        id: permissionId,
        object: 'model_permission',
        created,
        allow_create_engine: false,
        allow_sampling: true,
        allow_logprobs: true,
        allow_search_indices: false,
        allow_view: true,
        allow_fine_tuning: false,
        organization: '*',
        group: null,
        is_blocking: false,
      },
    ],
  };
}
