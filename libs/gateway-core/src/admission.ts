import { type FastifyRequest } from 'fastify';

/** What admission control sees of a request before it is routed. */
export interface AdmissionRequest {
  /** Base model, and the adapter when the request addresses one. */
  model: string;
  adapter?: string;
  /** Estimated prompt tokens and the output tokens the request may produce. */
  promptTokens: number;
  maxTokens: number;
}

/** A request that was let in. Exactly one of `settle` is called when the request ends. */
export interface AdmissionTicket {
  /** The user the request is charged to, if known. */
  readonly user?: string;
  /** Headers for every response (x-ratelimit-*). */
  headers(): Record<string, string>;
  /** Settles the reservation to actual usage (undefined usage: nothing was produced). */
  settle(usage: { promptTokens: number; completionTokens: number } | undefined): void;
}

/**
 * Admission control: authentication, quotas, rate limits. Throws a BrixError (401, 403, 429) to refuse.
 * The rate-limit issue plugs the real implementation in; by default everyone is let in and the user
 * is taken from the `user` header (as AIBrix does) or the body's `user` field.
 */
export interface Admission {
  /**
   * Checks who is calling, before anything else about the request is looked at (so an unauthenticated
   * client cannot learn which models exist from 404s). Throws 401 for a missing or wrong key.
   */
  authenticate?(request: FastifyRequest): void | Promise<void>;
  admit(request: FastifyRequest, estimate: AdmissionRequest): AdmissionTicket | Promise<AdmissionTicket>;
}

export const openAdmission: Admission = {
  admit(request) {
    const header = request.headers['user'];
    const bodyUser = (request.body as { user?: unknown } | undefined)?.user;
    const user = typeof header === 'string' && header ? header : typeof bodyUser === 'string' && bodyUser ? bodyUser : undefined;
    return { user, headers: () => ({}), settle: () => undefined };
  },
};
