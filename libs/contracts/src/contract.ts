import { type Static, type TSchema } from 'typebox';
import { Compile } from 'typebox/compile';

/** Why a message failed to decode. */
export type DecodeFailure = 'json' | 'schema' | 'version';

/**
 * A message that could not be decoded into its contract. Consumers count it and drop the message;
 * it never propagates out of a subscription.
 */
export class ContractDecodeError extends Error {
  override readonly name = 'ContractDecodeError';
  readonly code = 'BRIX_CONTRACT_INVALID';
  constructor(
    readonly contract: string,
    readonly reason: DecodeFailure,
    readonly details: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(`invalid ${contract} message (${reason}): ${details.join('; ')}`, options);
  }
}

export type DecodeResult<T> = { ok: true; value: T } | { ok: false; error: ContractDecodeError };

/** One NATS message type: its subject layout, schema and version, with validating codecs. */
export interface Contract<S extends TSchema = TSchema, P extends object = object> {
  /** Stable kebab-case name, used in metric labels and errors. */
  readonly name: string;
  /** Schema version carried in every payload as `v`; bumped only for breaking changes. */
  readonly version: number;
  readonly schema: S;
  /** A subscription pattern that covers every subject of this contract. */
  readonly pattern: string;
  /** The concrete subject a message is published on. */
  subject(params: P): string;
  /** Validates and serializes; throws ContractDecodeError on a producer bug rather than emitting garbage. */
  encode(message: Static<S>): Uint8Array;
  decode(data: Uint8Array | string): Static<S>;
  tryDecode(data: Uint8Array | string): DecodeResult<Static<S>>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const MAX_DETAILS = 5;

export function defineContract<S extends TSchema, P extends object>(def: {
  name: string;
  version: number;
  schema: S;
  pattern: string;
  subject: (params: P) => string;
}): Contract<S, P> {
  const validator = Compile(def.schema);
  const explain = (value: unknown): string[] =>
    validator
      .Errors(value)
      .slice(0, MAX_DETAILS)
      .map((e) => `${e.instancePath || '/'} ${e.message}`);

  const tryDecode = (data: Uint8Array | string): DecodeResult<Static<S>> => {
    let value: unknown;
    try {
      value = JSON.parse(typeof data === 'string' ? data : decoder.decode(data));
    } catch (cause) {
      return { ok: false, error: new ContractDecodeError(def.name, 'json', [(cause as Error).message], { cause }) };
    }
    const v = (value as { v?: unknown } | null)?.v;
    if (typeof v === 'number' && v !== def.version) {
      return {
        ok: false,
        error: new ContractDecodeError(def.name, 'version', [`version ${v} is not supported (this build speaks ${def.version})`]),
      };
    }
    if (!validator.Check(value)) {
      return { ok: false, error: new ContractDecodeError(def.name, 'schema', explain(value)) };
    }
    return { ok: true, value: value as Static<S> };
  };

  return {
    name: def.name,
    version: def.version,
    schema: def.schema,
    pattern: def.pattern,
    subject: def.subject,
    encode(message) {
      if (!validator.Check(message)) throw new ContractDecodeError(def.name, 'schema', explain(message));
      return encoder.encode(JSON.stringify(message));
    },
    decode(data) {
      const result = tryDecode(data);
      if (!result.ok) throw result.error;
      return result.value;
    },
    tryDecode,
  };
}
