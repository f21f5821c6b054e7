import { BrixError } from '@brix/contracts';

/**
 * Errors of artifact downloads. Each is a BrixError, so an HTTP service answers it with its catalogue
 * status and an OpenAI-style body: refusals on security grounds are 403, a malformed source 400, a
 * missing artifact 404, and failures of the remote side 502. Messages name the source and the rule,
 * never a credential.
 */

/** The source URI cannot be parsed, or has a form Brix refuses (credentials in the URL, relative paths). */
export class InvalidArtifactSourceError extends BrixError {
  override name = 'InvalidArtifactSourceError';
  constructor(
    readonly source: string,
    reason: string,
  ) {
    super('invalid_request', `Invalid artifact source ${JSON.stringify(redactSource(source))}: ${reason}.`, { param: 'source' });
  }
}

/** The scheme is not one Brix supports, or not one the allow-list enables. */
export class SchemeNotAllowedError extends BrixError {
  override name = 'SchemeNotAllowedError';
  constructor(
    readonly scheme: string,
    readonly allowed: readonly string[],
  ) {
    super('permission_denied', `Artifact scheme "${scheme}" is not allowed (allowed: ${allowed.join(', ') || 'none'}).`, {
      param: 'source',
    });
  }
}

/** The host (or S3 bucket) is not on the allow-list. */
export class HostNotAllowedError extends BrixError {
  override name = 'HostNotAllowedError';
  constructor(
    readonly host: string,
    readonly kind: 'host' | 'bucket' = 'host',
  ) {
    super(
      'permission_denied',
      kind === 'host'
        ? `Artifact host "${host}" is not on the allow-list (BRIX_ARTIFACT_ALLOWED_HOSTS).`
        : `S3 bucket "${host}" is not on the allow-list (BRIX_ARTIFACT_ALLOWED_BUCKETS).`,
      { param: 'source' },
    );
  }
}

/**
 * The host is, or resolves to, a link-local or cloud-metadata address (169.254.0.0/16, fe80::/10,
 * fd00:ec2::254, metadata.google.internal …). Reaching those from a download would leak the node's
 * cloud credentials, so they are refused whatever the allow-list says.
 */
export class ForbiddenAddressError extends BrixError {
  override name = 'ForbiddenAddressError';
  constructor(
    readonly host: string,
    readonly address: string | undefined,
    reason: string,
  ) {
    super(
      'permission_denied',
      address && address !== host
        ? `Artifact host "${host}" resolves to ${address}, ${reason}; refused.`
        : `Artifact host "${host}" is ${reason}; refused.`,
      { param: 'source' },
    );
  }
}

/** A local source path lies outside every directory the sidecar may read from. */
export class LocalPathNotAllowedError extends BrixError {
  override name = 'LocalPathNotAllowedError';
  constructor(readonly path: string) {
    super('permission_denied', `Local artifact path "${path}" is outside the allowed roots (BRIX_ARTIFACT_LOCAL_ROOTS).`, {
      param: 'source',
    });
  }
}

/** A file name would land outside the cache directory (`..`, an absolute path, or a symlink out). */
export class PathEscapeError extends BrixError {
  override name = 'PathEscapeError';
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super('permission_denied', `Artifact file path ${JSON.stringify(path)} escapes its directory: ${reason}.`);
  }
}

/** The source has no such artifact (404 from the remote, no such object or file). */
export class ArtifactNotFoundError extends BrixError {
  override name = 'ArtifactNotFoundError';
  constructor(
    readonly source: string,
    detail?: string,
  ) {
    super('not_found', `Artifact ${JSON.stringify(redactSource(source))} not found${detail ? `: ${detail}` : ''}.`, {
      param: 'source',
    });
  }
}

/** A downloaded file does not match the checksum its source published. The bad data is discarded. */
export class ChecksumMismatchError extends BrixError {
  override name = 'ChecksumMismatchError';
  constructor(
    readonly file: string,
    readonly algorithm: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(
      'upstream_error',
      `Checksum mismatch for ${file}: ${algorithm} expected ${expected}, got ${actual}; the file was discarded.`,
    );
  }
}

/** The remote side failed (network error, 5xx, refused access, transfer cut short after all retries). */
export class DownloadFailedError extends BrixError {
  override name = 'DownloadFailedError';
  constructor(
    message: string,
    readonly retryable: boolean,
    options: { cause?: unknown; status?: number } = {},
  ) {
    super('upstream_error', message, { cause: options.cause });
    this.upstreamStatus = options.status;
  }
  readonly upstreamStatus: number | undefined;
}

/** Strips anything credential-like from a URI before it goes into a message. */
export function redactSource(source: string): string {
  return source
    .replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1[redacted]@')
    .replace(/([?&](?:token|sig|signature|x-amz-[a-z-]+|x-goog-[a-z-]+)=)[^&]*/gi, '$1[redacted]');
}
