import Type, { type Static } from 'typebox';

/**
 * REST bodies of the sidecar's artifact API (`POST /v1/model/download`, `GET /v1/model/list`).
 * They describe this lib's objects, so they live beside it; a controller in another scope that calls
 * the API would need them moved to @brix/contracts.
 */

export const ArtifactStatus = Type.Union([
  Type.Literal('complete'),
  Type.Literal('downloading'),
  /** Interrupted (a crash or restart); the next download of the same source resumes it. */
  Type.Literal('partial'),
  /** The last attempt failed; what was fetched is kept and the next attempt resumes it. */
  Type.Literal('failed'),
]);
export type ArtifactStatus = Static<typeof ArtifactStatus>;

export const ArtifactInfo = Type.Object({
  /** Cache key: a readable slug of the source plus a hash of it; the artifact's directory name. */
  key: Type.String(),
  /** Canonical source URI. */
  source: Type.String(),
  status: ArtifactStatus,
  /** Directory holding the artifact's files once complete (what an engine loads from). */
  path: Type.String(),
  /** Immutable version the files came from (a hub commit), when the source has one. */
  revision: Type.Optional(Type.String()),
  /** Files in the artifact; 0 until the source has been listed. */
  files: Type.Integer({ minimum: 0 }),
  filesDone: Type.Integer({ minimum: 0 }),
  /** Files whose content matched a checksum published by the source. */
  filesVerified: Type.Integer({ minimum: 0 }),
  /** Total bytes, or null while a size is unknown. */
  bytesTotal: Type.Union([Type.Number({ minimum: 0 }), Type.Null()]),
  bytesDone: Type.Number({ minimum: 0 }),
  startedAt: Type.Optional(Type.Number({ minimum: 0 })),
  completedAt: Type.Optional(Type.Number({ minimum: 0 })),
  /** Why the last attempt failed (status `failed`). */
  error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
});
export type ArtifactInfo = Static<typeof ArtifactInfo>;

export const DownloadRequest = Type.Object({
  /** `file:///path`, an absolute path, `http(s)://…`, `s3://bucket/key-or-prefix/` or `huggingface://org/repo[@rev]`. */
  source: Type.String({ minLength: 1, maxLength: 4096 }),
  /** Download again even when a complete copy is cached. */
  force: Type.Optional(Type.Boolean()),
  /** Answer when the download has finished (200) instead of once it has started (202). */
  wait: Type.Optional(Type.Boolean()),
});
export type DownloadRequest = Static<typeof DownloadRequest>;

export const ArtifactList = Type.Object({
  object: Type.Literal('list'),
  data: Type.Array(ArtifactInfo),
});
export type ArtifactList = Static<typeof ArtifactList>;
