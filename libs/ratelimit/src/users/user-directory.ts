import { createHash, randomBytes } from 'node:crypto';
import { type Bus, type KvBucket, type KvChange, KvConflictError, type KvWatch } from '@brix/bus';
import { type Clock } from '@brix/clock';
import { ConflictError, NotFoundError, ServiceUnavailableError } from '@brix/contracts';
import { type Logger } from '@brix/observability';
import { Compile } from 'typebox/compile';
import { type CreateUserBody, KeyRecord, type KeyView, type UpdateUserBody, UserRecord, type UserView } from '../schemas';

/** The KV bucket that holds users (`u.<name>`) and API-key hashes (`k.<name>.<id>`). */
export const USERS_BUCKET = 'brix-users';

/** Every key starts with this, so that leaked keys are easy to recognise and scan for. */
export const API_KEY_PREFIX = 'brix-';
/** Characters of a key shown in listings: the fixed prefix and 7 random characters. */
const SHOWN_PREFIX_CHARS = API_KEY_PREFIX.length + 7;

const checkUser = Compile(UserRecord);
const checkKey = Compile(KeyRecord);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** KV keys allow only [A-Za-z0-9_=/-] tokens: names travel as unpadded base64url. */
export function kvName(name: string): string {
  return Buffer.from(name, 'utf8').toString('base64url');
}

/** Lowercase hex SHA-256 of an API key: what is stored and compared, never the key itself. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** A key as handed out once, at issue time. */
export interface IssuedKey {
  /** The secret; shown once and never stored. */
  apiKey: string;
  view: KeyView;
}

/** Thrown by admin operations when the bucket does not answer: a 503 for the admin client, not a 500. */
function unavailable(cause: unknown): ServiceUnavailableError {
  const err = new ServiceUnavailableError('The user store (NATS KV) is unreachable; retry shortly.', 1, 'not_ready');
  (err as { cause?: unknown }).cause = cause;
  return err;
}

export function userView(u: UserRecord): UserView {
  return { name: u.name, rpm: u.rpm, tpm: u.tpm, models: u.models ?? null, created_at: u.createdAt, updated_at: u.updatedAt };
}

function keyView(k: KeyRecord): KeyView {
  return { id: k.id, prefix: k.prefix, created_at: k.createdAt };
}

export interface UserDirectoryOptions {
  bus: Bus;
  clock: Clock;
  logger: Logger;
  /** Longest wait (ms) for one KV operation of the admin API before it answers 503 (default 2000). */
  kvTimeoutMs?: number;
}

/**
 * Users and API keys, kept in one KV bucket shared by every gateway replica and mirrored in memory.
 *
 * The request path reads only the mirror ({@link user}, {@link userByKey}: synchronous, no network). A KV
 * watch keeps the mirror current, so a key revoked on one replica is refused by every replica as soon as the
 * deletion reaches it (milliseconds on a healthy cluster). Admin operations write the bucket directly.
 */
export class UserDirectory {
  private readonly users = new Map<string, UserRecord>();
  /** hash → key record, for authentication. */
  private readonly byHash = new Map<string, KeyRecord>();
  /** KV key → hash, to apply deletions (a delete carries no value). */
  private readonly hashOfKvKey = new Map<string, string>();
  private watch: KvWatch | undefined;

  private readonly bucket: KvBucket;

  private constructor(
    raw: KvBucket,
    private readonly o: UserDirectoryOptions,
  ) {
    this.bucket = guarded(raw, o);
  }

  /** Opens the bucket and resolves once the mirror holds every user and key. */
  static async open(options: UserDirectoryOptions): Promise<UserDirectory> {
    const raw = await options.bus.kv(USERS_BUCKET, { history: 1 });
    const dir = new UserDirectory(raw, options);
    dir.watch = raw.watch((change) => dir.apply(change));
    await dir.watch.ready;
    return dir;
  }

  /** The user named `name`, from the mirror. */
  user(name: string): UserRecord | undefined {
    return this.users.get(name);
  }

  /** The user an API key belongs to, from the mirror; undefined for an unknown or revoked key. */
  userByKey(apiKey: string): { user: UserRecord; keyId: string } | undefined {
    if (!apiKey.startsWith(API_KEY_PREFIX)) return undefined;
    const record = this.byHash.get(hashApiKey(apiKey));
    if (!record) return undefined;
    const user = this.users.get(record.user);
    return user ? { user, keyId: record.id } : undefined;
  }

  close(): void {
    this.watch?.stop();
  }

  // ---- admin operations (network) ----

  async createUser(body: CreateUserBody): Promise<{ user: UserRecord; key: IssuedKey }> {
    const now = this.o.clock.now();
    const user: UserRecord = {
      v: 1,
      name: body.name,
      rpm: body.rpm,
      tpm: body.tpm,
      ...(body.models ? { models: [...new Set(body.models)] } : {}),
      createdAt: now,
      updatedAt: now,
    };
    try {
      await this.bucket.create(userKey(body.name), encode(user));
    } catch (err) {
      if (err instanceof KvConflictError) throw new ConflictError(`User \`${body.name}\` already exists.`);
      throw unavailable(err);
    }
    this.users.set(user.name, user);
    this.o.logger.info({ user: user.name, rpm: user.rpm, tpm: user.tpm }, 'user created');
    const key = await this.issueKey(user.name);
    return { user, key };
  }

  async getUser(name: string): Promise<UserRecord> {
    const found = await this.read(name);
    if (!found) throw new NotFoundError(`User \`${name}\` does not exist.`);
    return found.user;
  }

  async listUsers(): Promise<UserRecord[]> {
    let keys: string[];
    try {
      keys = await this.bucket.keys('u.*');
    } catch (err) {
      throw unavailable(err);
    }
    const out: UserRecord[] = [];
    for (const k of keys) {
      const u = await this.readKv(k, checkUser.Check.bind(checkUser));
      if (u) out.push(u.value as UserRecord);
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  async updateUser(name: string, patch: UpdateUserBody): Promise<UserRecord> {
    for (let attempt = 0; attempt < 8; attempt++) {
      const found = await this.read(name);
      if (!found) throw new NotFoundError(`User \`${name}\` does not exist.`);
      const { models: _drop, ...rest } = found.user;
      const models =
        patch.models === undefined ? found.user.models : patch.models === null ? undefined : [...new Set(patch.models)];
      const next: UserRecord = {
        ...rest,
        rpm: patch.rpm ?? found.user.rpm,
        tpm: patch.tpm ?? found.user.tpm,
        ...(models ? { models } : {}),
        updatedAt: this.o.clock.now(),
      };
      try {
        await this.bucket.update(userKey(name), encode(next), found.revision);
      } catch (err) {
        if (err instanceof KvConflictError) continue;
        throw unavailable(err);
      }
      this.users.set(name, next);
      this.o.logger.info({ user: name, rpm: next.rpm, tpm: next.tpm }, 'user updated');
      return next;
    }
    throw new ConflictError(`User \`${name}\` is being changed concurrently; retry.`);
  }

  /** Deletes the user and every key of theirs. */
  async deleteUser(name: string): Promise<void> {
    if (!(await this.read(name))) throw new NotFoundError(`User \`${name}\` does not exist.`);
    try {
      // Keys first: a user without keys is harmless, a key without a user is refused anyway.
      for (const k of await this.bucket.keys(`k.${kvName(name)}.*`)) await this.bucket.delete(k);
      await this.bucket.delete(userKey(name));
    } catch (err) {
      throw unavailable(err);
    }
    this.users.delete(name);
    this.o.logger.info({ user: name }, 'user deleted');
  }

  async issueKey(name: string): Promise<IssuedKey> {
    if (!(await this.read(name))) throw new NotFoundError(`User \`${name}\` does not exist.`);
    const apiKey = API_KEY_PREFIX + randomBytes(32).toString('base64url');
    const record: KeyRecord = {
      v: 1,
      id: `key_${randomBytes(8).toString('hex')}`,
      user: name,
      hash: hashApiKey(apiKey),
      prefix: apiKey.slice(0, SHOWN_PREFIX_CHARS),
      createdAt: this.o.clock.now(),
    };
    const kvKey = keyKey(name, record.id);
    try {
      await this.bucket.create(kvKey, encode(record));
    } catch (err) {
      throw unavailable(err);
    }
    this.addKey(kvKey, record);
    // The id only: neither the key nor its hash may reach a log.
    this.o.logger.info({ user: name, keyId: record.id }, 'api key issued');
    return { apiKey, view: keyView(record) };
  }

  async listKeys(name: string): Promise<KeyView[]> {
    if (!(await this.read(name))) throw new NotFoundError(`User \`${name}\` does not exist.`);
    let keys: string[];
    try {
      keys = await this.bucket.keys(`k.${kvName(name)}.*`);
    } catch (err) {
      throw unavailable(err);
    }
    const out: KeyView[] = [];
    for (const k of keys) {
      const found = await this.readKv(k, checkKey.Check.bind(checkKey));
      if (found) out.push(keyView(found.value as KeyRecord));
    }
    return out.sort((a, b) => a.created_at - b.created_at || a.id.localeCompare(b.id));
  }

  async revokeKey(name: string, id: string): Promise<void> {
    const kvKey = keyKey(name, id);
    const found = await this.readKv(kvKey, checkKey.Check.bind(checkKey));
    if (!found) throw new NotFoundError(`User \`${name}\` has no key \`${id}\`.`);
    try {
      await this.bucket.delete(kvKey);
    } catch (err) {
      throw unavailable(err);
    }
    this.removeKey(kvKey);
    this.o.logger.info({ user: name, keyId: id }, 'api key revoked');
  }

  // ---- mirror ----

  private apply(change: KvChange): void {
    if (change.key.startsWith('u.')) {
      if (change.operation === 'delete') {
        this.users.delete(Buffer.from(change.key.slice(2), 'base64url').toString('utf8'));
        return;
      }
      const u = decodeValue(change.value, checkUser.Check.bind(checkUser)) as UserRecord | undefined;
      if (u && userKey(u.name) === change.key) this.users.set(u.name, u);
      else this.o.logger.warn({ kvKey: change.key }, 'ignoring an undecodable user record');
      return;
    }
    if (change.key.startsWith('k.')) {
      if (change.operation === 'delete') {
        this.removeKey(change.key);
        return;
      }
      const k = decodeValue(change.value, checkKey.Check.bind(checkKey)) as KeyRecord | undefined;
      if (k && keyKey(k.user, k.id) === change.key) this.addKey(change.key, k);
      else this.o.logger.warn({ kvKey: change.key }, 'ignoring an undecodable key record');
    }
  }

  private addKey(kvKey: string, record: KeyRecord): void {
    const previous = this.hashOfKvKey.get(kvKey);
    if (previous && previous !== record.hash) this.byHash.delete(previous);
    this.hashOfKvKey.set(kvKey, record.hash);
    this.byHash.set(record.hash, record);
  }

  private removeKey(kvKey: string): void {
    const hash = this.hashOfKvKey.get(kvKey);
    if (hash === undefined) return;
    this.hashOfKvKey.delete(kvKey);
    this.byHash.delete(hash);
  }

  private async read(name: string): Promise<{ user: UserRecord; revision: number } | undefined> {
    const found = await this.readKv(userKey(name), checkUser.Check.bind(checkUser));
    return found ? { user: found.value as UserRecord, revision: found.revision } : undefined;
  }

  private async readKv(kvKey: string, check: (v: unknown) => boolean): Promise<{ value: unknown; revision: number } | undefined> {
    let entry;
    try {
      entry = await this.bucket.get(kvKey);
    } catch (err) {
      throw unavailable(err);
    }
    if (!entry) return undefined;
    const value = decodeValue(entry.value, check);
    return value === undefined ? undefined : { value, revision: entry.revision };
  }
}

class StoreUnreachableError extends Error {
  override readonly name = 'StoreUnreachableError';
}

/**
 * The bucket as the admin API uses it: refused at once while the bus is not connected, and bounded in time
 * otherwise, so an admin call during an outage answers 503 promptly instead of waiting on the client.
 */
function guarded(bucket: KvBucket, o: UserDirectoryOptions): KvBucket {
  const timeoutMs = o.kvTimeoutMs ?? 2000;
  const run = <T>(op: () => Promise<T>): Promise<T> => {
    if (o.bus.state() !== 'connected') return Promise.reject(new StoreUnreachableError(`bus ${o.bus.state()}`));
    const pending = op();
    pending.catch(() => undefined);
    return new Promise<T>((resolve, reject) => {
      const timer = o.clock.setTimer(timeoutMs, () => reject(new StoreUnreachableError(`no answer within ${timeoutMs} ms`)));
      pending.then(
        (v) => {
          o.clock.clearTimer(timer);
          resolve(v);
        },
        (err) => {
          o.clock.clearTimer(timer);
          reject(err);
        },
      );
    });
  };
  return {
    name: bucket.name,
    get: (k) => run(() => bucket.get(k)),
    put: (k, v) => run(() => bucket.put(k, v)),
    create: (k, v) => run(() => bucket.create(k, v)),
    update: (k, v, r) => run(() => bucket.update(k, v, r)),
    delete: (k) => run(() => bucket.delete(k)),
    keys: (f) => run(() => bucket.keys(f)),
    watch: (h, opts) => bucket.watch(h, opts),
  };
}

function userKey(name: string): string {
  return `u.${kvName(name)}`;
}

function keyKey(user: string, id: string): string {
  return `k.${kvName(user)}.${id}`;
}

function encode(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

function decodeValue(data: Uint8Array, check: (v: unknown) => boolean): unknown {
  try {
    const value: unknown = JSON.parse(decoder.decode(data));
    return check(value) ? value : undefined;
  } catch {
    return undefined;
  }
}
