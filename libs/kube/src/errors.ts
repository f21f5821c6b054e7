/**
 * Kubernetes API failures as Brix errors. The adapters translate every client-node failure through
 * {@link fromKubeError}, so callers see the catalogue's classes: a missing object is a NotFoundError
 * (404), a stale write a ConflictError (409), a refused value a BadRequestError (400); anything else
 * (unreachable server, 401/403 from a misconfigured service account, 5xx) is a KubernetesApiError (502),
 * because it is the platform's failure, not the caller's.
 */
import { BadRequestError, BrixError, ConflictError, NotFoundError, UpstreamError } from '@brix/contracts';
import { ApiException } from '@kubernetes/client-node';

export class KubernetesApiError extends UpstreamError {
  override name = 'KubernetesApiError';
  constructor(
    message: string,
    /** HTTP status the API server answered; undefined when it could not be reached. */
    readonly statusCode: number | undefined,
    /** The Status body's `reason` (`Forbidden`, `ServiceUnavailable`), when there was one. */
    readonly reason: string | undefined,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
  }
}

/** Start-up configuration for the Kubernetes client is unusable (not in a cluster, bad URL). */
export class KubeConfigError extends Error {
  override readonly name = 'KubeConfigError';
}

interface StatusLike {
  message?: string;
  reason?: string;
}

function statusOf(body: unknown): StatusLike {
  let parsed = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return { message: body.slice(0, 200) };
    }
  }
  if (typeof parsed === 'object' && parsed !== null) {
    const { message, reason } = parsed as Record<string, unknown>;
    return {
      message: typeof message === 'string' ? message : undefined,
      reason: typeof reason === 'string' ? reason : undefined,
    };
  }
  return {};
}

/**
 * Translates a client-node failure. `what` names the operation for the message
 * (`scale deployments/web in namespace prod`).
 */
export function fromKubeError(err: unknown, what: string): BrixError {
  if (err instanceof BrixError) return err;
  if (err instanceof ApiException) {
    const { message, reason } = statusOf(err.body);
    const detail = message ?? reason ?? `HTTP ${err.code}`;
    switch (err.code) {
      case 404:
        return new NotFoundError(`${what}: ${detail}`, { cause: err });
      case 409:
        return new ConflictError(`${what}: ${detail}`);
      case 400:
      case 422:
        return new BadRequestError(`${what}: ${detail}`, { cause: err });
      default:
        return new KubernetesApiError(`${what}: Kubernetes API answered ${err.code}: ${detail}`, err.code, reason, {
          cause: err,
        });
    }
  }
  const message = err instanceof Error ? err.message : String(err);
  return new KubernetesApiError(`${what}: Kubernetes API unreachable: ${message}`, undefined, undefined, { cause: err });
}
