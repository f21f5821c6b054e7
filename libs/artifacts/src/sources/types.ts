import { type Clock } from '@brix/clock';
import { type Checksum } from '../checksum';
import { type CredentialProvider } from '../credentials';
import { type GuardedHttp } from '../http-client';
import { type SourcePolicy } from '../policy/policy';

/** A source URI after parsing by its plugin. */
export interface ParsedSource {
  /** Canonical URI: the cache key is derived from it, so equal artifacts spell it the same way. */
  readonly uri: string;
  readonly scheme: string;
  /** Id of the plugin that reads it. */
  readonly plugin: string;
  /** Plugin-specific fields (repo and revision, bucket and key, URL, local path). */
  readonly params: Readonly<Record<string, string>>;
}

/** One file of an artifact as its source lists it. */
export interface RemoteFile {
  /** Relative POSIX path inside the artifact; checked by safeRelativePath before use. */
  readonly path: string;
  /** Bytes, when the listing knows. */
  readonly size?: number;
  /** Digests the listing publishes (more may come from response headers). */
  readonly checksums: readonly Checksum[];
  /** An opaque version tag (ETag, commit) that must not change while the file is downloaded in parts. */
  readonly validator?: string;
  /** Plugin-specific locator (URL, key, absolute path). */
  readonly ref: string;
}

export interface SourceListing {
  readonly files: readonly RemoteFile[];
  /** The immutable version the listing describes (a hub commit), when the source has one. */
  readonly revision?: string;
}

/** Byte range, `end` exclusive; an absent `end` reads to the end of the file. */
export interface ByteRange {
  readonly start: number;
  readonly end?: number;
}

export interface ReadResult {
  readonly body: AsyncIterable<Uint8Array>;
  /** True when the source honoured the range (HTTP 206); false when it sent the whole file. */
  readonly partial: boolean;
  /** Total size of the file, when known. */
  readonly size?: number;
  /** Whether further range requests will be honoured. */
  readonly acceptsRanges: boolean;
  readonly validator?: string;
  /**
   * Digests from the response that describe the whole file (safe to take from a range response);
   * header digests of only the body sent go in `bodyChecksums`.
   */
  readonly checksums: readonly Checksum[];
  /** Digests of this response's body only (Content-MD5); meaningful when `partial` is false. */
  readonly bodyChecksums: readonly Checksum[];
  /** Releases the response early (on abort). */
  cancel(): void;
}

export interface SourceContext {
  readonly policy: SourcePolicy;
  readonly http: GuardedHttp;
  readonly credentials: CredentialProvider;
  readonly clock: Clock;
  /** Aborts when the download is cancelled or the store closes. */
  readonly signal?: AbortSignal;
}

/**
 * One kind of artifact source. Each lives in its own folder under sources/ (id = folder name) with a
 * README, and is registered once in sources/index.ts. A plugin only lists and reads; caching, ranges,
 * resume, checksums and path safety are the store's job.
 */
export interface ArtifactSourcePlugin {
  readonly id: string;
  /** URI schemes this plugin reads (`http`, `https`); a bare absolute path counts as `file`. */
  readonly schemes: readonly string[];
  /** Parses (syntax only) or throws InvalidArtifactSourceError. */
  parse(uri: string): ParsedSource;
  /** Policy checks beyond the scheme (host and bucket allow-lists, DNS, local roots). */
  authorize(source: ParsedSource, context: SourceContext): Promise<void>;
  list(source: ParsedSource, context: SourceContext): Promise<SourceListing>;
  read(source: ParsedSource, file: RemoteFile, range: ByteRange | undefined, context: SourceContext): Promise<ReadResult>;
}
