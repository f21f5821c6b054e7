import Type from 'typebox';

/** Milliseconds since the Unix epoch. */
export const EpochMs = Type.Number({ minimum: 0, description: 'milliseconds since the Unix epoch' });
export const Name = Type.String({ minLength: 1, maxLength: 253 });
export const Fraction = Type.Number({ minimum: 0, maximum: 1 });
export const Count = Type.Integer({ minimum: 0 });
export const NonNegative = Type.Number({ minimum: 0 });
/**
 * A KV-cache block hash as lowercase hex. vLLM sends 64-bit unsigned ints (16 hex digits) or raw digest
 * bytes; JSON numbers cannot hold either exactly, so both travel as hex.
 */
export const BlockHash = Type.String({ pattern: '^[0-9a-f]{1,128}$' });
