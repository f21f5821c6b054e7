import Type, { type Static } from 'typebox';

/**
 * REST bodies of the sidecar's adapter API (`POST /v1/lora_adapter/load`, `/unload`, `GET
 * /v1/lora_adapter/list`). They describe this lib's objects, so they live beside it; the lora-controller
 * (scope:control) that calls the API needs them moved to @brix/contracts.
 */

/** An adapter name as the engine serves it (the `model` of requests for it): no whitespace. */
export const AdapterName = Type.String({ minLength: 1, maxLength: 253, pattern: '^\\S+$' });

export const LoadAdapterRequest = Type.Object({
  lora_name: AdapterName,
  /**
   * Where the adapter's files are: a local path the engine reads directly (`/models/x`, `file:///models/x`),
   * or a remote source the sidecar downloads first (`https://…`, `s3://…`, `huggingface://org/repo[@rev]`).
   */
  artifact_url: Type.String({ minLength: 1, maxLength: 4096 }),
  /** Download the artifact again even when a complete copy is cached (remote sources only). */
  force_download: Type.Optional(Type.Boolean()),
});
export type LoadAdapterRequest = Static<typeof LoadAdapterRequest>;

export const UnloadAdapterRequest = Type.Object({
  lora_name: AdapterName,
  /** Also delete the adapter's downloaded files from the sidecar's cache (never a local path it was loaded from). */
  delete_files: Type.Optional(Type.Boolean()),
});
export type UnloadAdapterRequest = Static<typeof UnloadAdapterRequest>;

export const AdapterResult = Type.Object({
  object: Type.Literal('lora_adapter'),
  lora_name: Type.String(),
  status: Type.Union([Type.Literal('loaded'), Type.Literal('unloaded')]),
  /** False when the request found the adapter already in the asked state (nothing was sent to the engine). */
  changed: Type.Boolean(),
  /** The `lora_path` the engine loaded from, when known. */
  path: Type.Optional(Type.String()),
  /** The artifact the adapter came from, when this sidecar loaded it. */
  source: Type.Optional(Type.String()),
  /** Unload only: whether downloaded files were deleted. */
  files_deleted: Type.Optional(Type.Boolean()),
});
export type AdapterResult = Static<typeof AdapterResult>;

export const AdapterInfo = Type.Object({
  lora_name: Type.String(),
  /** The engine's `root` of the adapter's card: the path it was loaded from. */
  path: Type.Union([Type.String(), Type.Null()]),
  source: Type.Union([Type.String(), Type.Null()]),
});
export type AdapterInfo = Static<typeof AdapterInfo>;

export const AdapterList = Type.Object({ object: Type.Literal('list'), data: Type.Array(AdapterInfo) });
export type AdapterList = Static<typeof AdapterList>;
