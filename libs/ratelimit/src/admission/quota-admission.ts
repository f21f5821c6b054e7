import { BrixError, RateLimitError, ServiceUnavailableError, UnauthorizedError } from '@brix/contracts';
import { type Admission, type AdmissionRequest, type AdmissionTicket } from '@brix/gateway-core';
import { bearerToken } from '@brix/http';
import { type FastifyRequest } from 'fastify';
import { CounterUnavailableError, type LeasedCounter, LimitExceededError, type Reservation } from '../counter/leased-counter';
import { type TokenRatio } from '../estimate/token-ratio';
import { formatResetDuration } from '../headers/duration';
import { type UserRecord } from '../schemas';
import { kvName, type UserDirectory } from '../users/user-directory';

/** Dimensions of the per-user counter. */
const REQUESTS = 0;
const TOKENS = 1;

export type AdmissionDecision = 'admitted' | 'rate_limited' | 'unauthorized' | 'forbidden' | 'unavailable';

export interface QuotaAdmissionOptions {
  directory: UserDirectory;
  /** Per-user counter: dimensions [requests, tokens] over the user window. */
  users: LeasedCounter;
  /** Per-model counter: dimension [requests] over one second. */
  models: LeasedCounter;
  ratio: TokenRatio | undefined;
  authRequired: boolean;
  /** Length of the user window in ms, for messages and for requests that can never fit. */
  userWindowMs: number;
  modelRps: Readonly<Record<string, number>>;
  modelRpsDefault: number;
  onDecision?: (decision: AdmissionDecision, scope: 'user' | 'model' | 'auth') => void;
}

type MaybePromise<T> = T | Promise<T>;

function isPromise<T>(v: MaybePromise<T>): v is Promise<T> {
  return typeof (v as Promise<T> | undefined)?.then === 'function';
}

const userCounterKey = (name: string) => `u.${kvName(name)}`;
const modelCounterKey = (name: string) => `m.${kvName(name)}`;

/**
 * The gateway's Admission port implemented with users, API keys and shared quotas:
 * authenticate (key, or the `user` header when keys are optional) → model allow-list → reserve the user's
 * request and estimated tokens → reserve one of the model's requests per second. Most requests are decided
 * in memory (see {@link LeasedCounter}); settle() corrects the token reservation to the engine's usage.
 */
export class QuotaAdmission implements Admission {
  constructor(private readonly o: QuotaAdmissionOptions) {}

  authenticate(request: FastifyRequest): void {
    this.identify(request);
  }

  admit(request: FastifyRequest, estimate: AdmissionRequest): MaybePromise<AdmissionTicket> {
    const user = this.identify(request);
    if (!user) return this.reserveModel(estimate, undefined, undefined, 0, anonymousLabel(request));
    this.checkAllowed(user, estimate);
    const prompt = this.o.ratio ? this.o.ratio.refine(estimate.model, estimate.promptTokens) : estimate.promptTokens;
    const tokens = prompt + estimate.maxTokens;
    let reserved: MaybePromise<Reservation>;
    try {
      reserved = this.o.users.reserve(userCounterKey(user.name), [user.rpm, user.tpm], [1, tokens]);
    } catch (err) {
      throw this.refusal(err, user, tokens);
    }
    if (isPromise(reserved)) {
      return reserved.then(
        (r) => this.reserveModel(estimate, user, r, tokens, user.name),
        (err) => {
          throw this.refusal(err, user, tokens);
        },
      );
    }
    return this.reserveModel(estimate, user, reserved, tokens, user.name);
  }

  /** OpenAI-style x-ratelimit-* headers for a user with limits; empty for users without. */
  headersFor(user: UserRecord): Record<string, string> {
    if (user.rpm <= 0 && user.tpm <= 0) return {};
    const s = this.o.users.status(userCounterKey(user.name), [user.rpm, user.tpm]);
    const h: Record<string, string> = {};
    if (user.rpm > 0) {
      h['x-ratelimit-limit-requests'] = String(user.rpm);
      h['x-ratelimit-remaining-requests'] = String(s.remaining[REQUESTS]);
      h['x-ratelimit-reset-requests'] = formatResetDuration(s.resetMs[REQUESTS]!);
    }
    if (user.tpm > 0) {
      h['x-ratelimit-limit-tokens'] = String(user.tpm);
      h['x-ratelimit-remaining-tokens'] = String(s.remaining[TOKENS]);
      h['x-ratelimit-reset-tokens'] = formatResetDuration(s.resetMs[TOKENS]!);
    }
    return h;
  }

  private identify(request: FastifyRequest): UserRecord | undefined {
    const token = bearerToken(request);
    if (token) {
      const found = this.o.directory.userByKey(token);
      if (found) return found.user;
      if (this.o.authRequired) {
        this.o.onDecision?.('unauthorized', 'auth');
        // The key itself is never echoed: it may be a real key of another service.
        throw new UnauthorizedError('Incorrect API key provided.', 'invalid_api_key');
      }
      // Keys optional: clients often send a placeholder key ("EMPTY"); it does not identify anyone.
    } else if (this.o.authRequired) {
      this.o.onDecision?.('unauthorized', 'auth');
      throw new UnauthorizedError('Missing API key: send it as `Authorization: Bearer <key>`.', 'missing_api_key');
    }
    const header = request.headers['user'];
    if (typeof header !== 'string' || header === '') return undefined;
    const user = this.o.directory.user(header);
    if (!user) {
      this.o.onDecision?.('unauthorized', 'auth');
      throw new UnauthorizedError(`Unknown user \`${header.slice(0, 128)}\` in the \`user\` header.`, 'invalid_api_key');
    }
    return user;
  }

  private checkAllowed(user: UserRecord, estimate: AdmissionRequest): void {
    if (!user.models) return;
    const asked = estimate.adapter ?? estimate.model;
    // An adapter is allowed by its own name or by its base model's.
    if (user.models.includes(asked) || user.models.includes(estimate.model)) return;
    this.o.onDecision?.('forbidden', 'user');
    // 404, as OpenAI answers: a user is not told which models exist beyond their own.
    throw new BrixError('model_not_found', `The model \`${asked}\` does not exist or you do not have access to it.`, {
      param: 'model',
    });
  }

  private modelLimit(estimate: AdmissionRequest): { key: string; rps: number } | undefined {
    if (estimate.adapter !== undefined && this.o.modelRps[estimate.adapter] !== undefined) {
      const rps = this.o.modelRps[estimate.adapter]!;
      return rps > 0 ? { key: modelCounterKey(estimate.adapter), rps } : undefined;
    }
    const rps = this.o.modelRps[estimate.model] ?? this.o.modelRpsDefault;
    return rps > 0 ? { key: modelCounterKey(estimate.model), rps } : undefined;
  }

  private reserveModel(
    estimate: AdmissionRequest,
    user: UserRecord | undefined,
    userReservation: Reservation | undefined,
    tokens: number,
    label: string | undefined,
  ): MaybePromise<AdmissionTicket> {
    const limit = this.modelLimit(estimate);
    const ticket = (modelReservation: Reservation | undefined) => {
      this.o.onDecision?.('admitted', user ? 'user' : 'model');
      return new QuotaTicket(this, estimate, user, userReservation, modelReservation, tokens, label);
    };
    if (!limit) return ticket(undefined);
    const release = (err: unknown): never => {
      if (userReservation) this.o.users.adjust(userReservation, [-1, -tokens]);
      throw this.modelRefusal(err, estimate, limit.rps, user);
    };
    let reserved: MaybePromise<Reservation>;
    try {
      reserved = this.o.models.reserve(limit.key, [limit.rps], [1]);
    } catch (err) {
      return release(err);
    }
    if (isPromise(reserved)) return reserved.then(ticket, release);
    return ticket(reserved);
  }

  private refusal(err: unknown, user: UserRecord, tokens: number): Error {
    if (err instanceof LimitExceededError) {
      this.o.onDecision?.('rate_limited', 'user');
      const what = err.dim === REQUESTS ? 'requests' : 'tokens';
      const unit = err.dim === REQUESTS ? `requests per ${this.windowText()} (RPM)` : `tokens per ${this.windowText()} (TPM)`;
      const headers = this.headersFor(user);
      if (err.retryAfterMs === undefined) {
        return new RateLimitError(
          `Request too large for user \`${user.name}\` on ${unit}: limit ${err.limit}, requested ${tokens} ${what}. ` +
            'Lower max_tokens or the prompt size.',
          this.o.userWindowMs / 1000,
          headers,
        );
      }
      return new RateLimitError(
        `Rate limit reached for user \`${user.name}\` on ${unit}: limit ${err.limit}, used ${err.used}, requested ${err.need}. ` +
          `Please try again in ${formatResetDuration(err.retryAfterMs)}.`,
        err.retryAfterMs / 1000,
        headers,
      );
    }
    return this.unavailable(err);
  }

  private modelRefusal(err: unknown, estimate: AdmissionRequest, rps: number, user: UserRecord | undefined): Error {
    if (err instanceof LimitExceededError) {
      this.o.onDecision?.('rate_limited', 'model');
      const name = estimate.adapter ?? estimate.model;
      return new RateLimitError(
        `Model \`${name}\` is at its limit of ${rps} requests per second across the gateway. ` +
          `Please try again in ${formatResetDuration(err.retryAfterMs ?? 1000)}.`,
        (err.retryAfterMs ?? 1000) / 1000,
        user ? this.headersFor(user) : {},
      );
    }
    return this.unavailable(err);
  }

  private unavailable(err: unknown): Error {
    if (err instanceof CounterUnavailableError) {
      this.o.onDecision?.('unavailable', 'user');
      return new ServiceUnavailableError(
        'Rate limits cannot be checked right now (shared state unreachable); retry shortly.',
        1,
        'not_ready',
      );
    }
    return err instanceof Error ? err : new Error(String(err));
  }

  private windowText(): string {
    const ms = this.o.userWindowMs;
    return ms === 60_000 ? 'min' : `${formatResetDuration(ms)}`;
  }

  /** Called by tickets when a request ends. */
  settle(
    estimate: AdmissionRequest,
    userReservation: Reservation | undefined,
    modelReservation: Reservation | undefined,
    tokens: number,
    usage: { promptTokens: number; completionTokens: number } | undefined,
  ): void {
    if (usage) {
      if (userReservation) this.o.users.adjust(userReservation, [0, usage.promptTokens + usage.completionTokens - tokens]);
      this.o.ratio?.learn(estimate.model, estimate.promptTokens, usage.promptTokens);
      return;
    }
    // Nothing was produced: the request and its tokens are given back.
    if (userReservation) this.o.users.adjust(userReservation, [-1, -tokens]);
    if (modelReservation) this.o.models.adjust(modelReservation, [-1]);
  }
}

/** With keys optional and no user named, the request is not limited; stats still see OpenAI's `user` field. */
function anonymousLabel(request: FastifyRequest): string | undefined {
  const bodyUser = (request.body as { user?: unknown } | undefined)?.user;
  return typeof bodyUser === 'string' && bodyUser ? bodyUser : undefined;
}

class QuotaTicket implements AdmissionTicket {
  private settled = false;

  constructor(
    private readonly admission: QuotaAdmission,
    private readonly estimate: AdmissionRequest,
    private readonly userRecord: UserRecord | undefined,
    private readonly userReservation: Reservation | undefined,
    private readonly modelReservation: Reservation | undefined,
    private readonly tokens: number,
    readonly user: string | undefined,
  ) {}

  headers(): Record<string, string> {
    return this.userRecord ? this.admission.headersFor(this.userRecord) : {};
  }

  settle(usage: { promptTokens: number; completionTokens: number } | undefined): void {
    if (this.settled) return;
    this.settled = true;
    this.admission.settle(this.estimate, this.userReservation, this.modelReservation, this.tokens, usage);
  }
}
