/**
 * `Status` bodies shaped like the API server's (kind Status, apiVersion v1, status Failure, reason,
 * code, details), so that clients parse the fake's failures as they parse a real cluster's.
 */
import { type FakeResourceDefinition, qualifiedName } from './resources';

export interface StatusCause {
  reason: string;
  message: string;
  field?: string;
}

export interface KubeStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message: string;
  reason: string;
  details?: { name?: string; group?: string; kind?: string; causes?: StatusCause[] };
  code: number;
}

/** A failure the fake answers with: an HTTP status and the Status body. */
export class StatusError extends Error {
  override readonly name = 'StatusError';
  constructor(readonly status: KubeStatus) {
    super(status.message);
  }
  get code(): number {
    return this.status.code;
  }
}

function failure(code: number, reason: string, message: string, details?: KubeStatus['details']): StatusError {
  return new StatusError({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  });
}

const detailsOf = (def: FakeResourceDefinition, name: string) => ({
  name,
  ...(def.group ? { group: def.group } : {}),
  kind: def.plural,
});

export const notFound = (def: FakeResourceDefinition, name: string) =>
  failure(404, 'NotFound', `${qualifiedName(def)} "${name}" not found`, detailsOf(def, name));

export const alreadyExists = (def: FakeResourceDefinition, name: string) =>
  failure(409, 'AlreadyExists', `${qualifiedName(def)} "${name}" already exists`, detailsOf(def, name));

export const conflict = (def: FakeResourceDefinition, name: string) =>
  failure(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualifiedName(def)} "${name}": the object has been modified; ` +
      'please apply your changes to the latest version and try again',
    detailsOf(def, name),
  );

export const invalid = (def: FakeResourceDefinition, name: string, causes: StatusCause[]) =>
  failure(
    422,
    'Invalid',
    `${def.kind} "${name}" is invalid: ${causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message)).join(', ')}`,
    { name, ...(def.group ? { group: def.group } : {}), kind: def.kind, causes },
  );

export const badRequest = (message: string) => failure(400, 'BadRequest', message);

export const resourceNotFound = () => failure(404, 'NotFound', 'the server could not find the requested resource');

export const methodNotAllowed = (method: string) =>
  failure(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource (${method})`);

export const unsupportedMediaType = (contentType: string) =>
  failure(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format (${contentType || 'none'}) - accepted media types include: ` +
      'application/json-patch+json, application/merge-patch+json',
  );

export const tooLarge = () => failure(413, 'RequestEntityTooLarge', 'the request entity is too large');

export const unauthorized = () => failure(401, 'Unauthorized', 'Unauthorized');

export const unavailable = () => failure(503, 'ServiceUnavailable', 'the server is currently unable to handle the request');

/** Sent as a watch ERROR event when a watch starts from a resourceVersion older than the kept history. */
export const expired = (requested: number, oldest: number) =>
  failure(410, 'Expired', `too old resource version: ${requested} (${oldest})`);
