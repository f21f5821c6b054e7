import Type, { type Static } from 'typebox';

/**
 * Schemas of the users-and-keys admin API and of the values the rate limiter keeps in JetStream KV.
 * KV values carry a version `v`; a replica that cannot decode a value ignores it (and logs once).
 */

/** User names: what `user` headers and URLs carry. Kept to URL- and header-safe characters. */
export const UserName = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9][A-Za-z0-9._@-]*$' });

/** Per-minute (per-window) limit; 0 means "no limit" on that dimension. */
export const Limit = Type.Integer({ minimum: 0, maximum: 1_000_000_000_000 });

const ModelName = Type.String({ minLength: 1, maxLength: 512 });
/** Allow-list of model (or adapter) names; absent or null = every model. */
const Models = Type.Array(ModelName, { maxItems: 1000 });

export const CreateUserBody = Type.Object(
  {
    name: UserName,
    rpm: Limit,
    tpm: Limit,
    models: Type.Optional(Models),
  },
  { additionalProperties: false },
);
export type CreateUserBody = Static<typeof CreateUserBody>;

export const UpdateUserBody = Type.Object(
  {
    rpm: Type.Optional(Limit),
    tpm: Type.Optional(Limit),
    /** null removes the allow-list. */
    models: Type.Optional(Type.Union([Models, Type.Null()])),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateUserBody = Static<typeof UpdateUserBody>;

export const UserParams = Type.Object({ name: UserName });
export const KeyParams = Type.Object({ name: UserName, id: Type.String({ pattern: '^key_[0-9a-f]{16}$' }) });

/** A user as stored (bucket `brix-users`, key `u.<base64url(name)>`). */
export const UserRecord = Type.Object({
  v: Type.Literal(1),
  name: UserName,
  rpm: Limit,
  tpm: Limit,
  models: Type.Optional(Models),
  /** Milliseconds since the epoch. */
  createdAt: Type.Number({ minimum: 0 }),
  updatedAt: Type.Number({ minimum: 0 }),
});
export type UserRecord = Static<typeof UserRecord>;

/**
 * An API key as stored (bucket `brix-users`, key `k.<base64url(user)>.<id>`): only the SHA-256 of the
 * key, never the key. Keys are 256 random bits, so a plain hash cannot be reversed by guessing.
 */
export const KeyRecord = Type.Object({
  v: Type.Literal(1),
  id: Type.String({ pattern: '^key_[0-9a-f]{16}$' }),
  user: UserName,
  /** Lowercase hex SHA-256 of the whole key. */
  hash: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  /** The first characters of the key, to tell keys apart in listings. */
  prefix: Type.String({ minLength: 1, maxLength: 16 }),
  createdAt: Type.Number({ minimum: 0 }),
});
export type KeyRecord = Static<typeof KeyRecord>;

/** What the admin API shows of a key. */
export interface KeyView {
  id: string;
  prefix: string;
  created_at: number;
}

/** What the admin API shows of a user. */
export interface UserView {
  name: string;
  rpm: number;
  tpm: number;
  models: string[] | null;
  created_at: number;
  updated_at: number;
}

/**
 * A shared window counter (bucket `brix-ratelimit`, keys `u.<base64url(user)>` and `m.<base64url(model)>`):
 * `s` holds `[slot, count per dimension…]` rows, `ms` the slot length they were counted with, and `w` the
 * last write of each replica as `[replica id, write sequence, epoch ms]`, so a replica whose write timed out
 * can tell afterwards whether it landed (and never applies the same change twice).
 */
export const CounterValue = Type.Object({
  v: Type.Literal(1),
  ms: Type.Integer({ minimum: 1 }),
  s: Type.Array(Type.Array(Type.Number(), { minItems: 2, maxItems: 8 }), { maxItems: 10_000 }),
  w: Type.Optional(
    Type.Array(Type.Tuple([Type.String(), Type.Integer({ minimum: 0 }), Type.Number({ minimum: 0 })]), { maxItems: 10_000 }),
  ),
});
export type CounterValue = Static<typeof CounterValue>;
