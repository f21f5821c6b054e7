import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { type Clock, WallClock } from '@brix/clock';
import { BrixError, ConflictError } from '@brix/contracts';
import { type Checksum, dedupeChecksums, digestFile } from './checksum';
import { type CredentialProvider, noCredentials } from './credentials';
import { ArtifactNotFoundError, ChecksumMismatchError, DownloadFailedError, PathEscapeError, redactSource } from './errors';
import { GuardedHttp } from './http-client';
import { prepareInside, safeRelativePath } from './paths';
import { SourcePolicy, type SourcePolicyOptions } from './policy/policy';
import { type ArtifactInfo } from './schemas';
import { createSourceRegistry, type HuggingFaceOptions, type S3Options, type SourceRegistry } from './sources';
import { type ArtifactSourcePlugin, type ParsedSource, type RemoteFile, type SourceContext } from './sources/types';
import { DEFAULT_TRANSFER, type FileState, isRetryable, Semaphore, transferFile, type TransferSettings } from './transfer';

/** Reported while an artifact downloads: often (every write), so listeners must be cheap. */
export interface DownloadProgress {
  readonly key: string;
  readonly source: string;
  /** The file that moved, relative to the artifact directory. */
  readonly file: string;
  readonly fileBytes: number;
  readonly fileSize: number | null;
  readonly bytesDone: number;
  readonly bytesTotal: number | null;
  readonly filesDone: number;
  readonly filesTotal: number;
}

export interface DownloadHandle {
  /** The artifact when the download was started or joined. */
  readonly info: ArtifactInfo;
  /** Resolves with the complete artifact; rejects with a named error. */
  readonly done: Promise<ArtifactInfo>;
}

export interface ArtifactStoreDeps {
  /** Root of the cache. Complete artifacts are `<cacheDir>/<key>/`; bookkeeping lives in `<cacheDir>/.brix/`. */
  cacheDir: string;
  policy: SourcePolicy;
  sources: SourceRegistry;
  http: GuardedHttp;
  credentials?: CredentialProvider;
  clock?: Clock;
  onProgress?: (event: DownloadProgress) => void;
  transfer?: Partial<TransferSettings>;
  /** Most files one artifact may have (a guard against listing a whole bucket by mistake). */
  maxFiles?: number;
  /** Called by close() to release source clients. */
  onClose?: () => void;
}

interface Manifest {
  v: 1;
  key: string;
  source: string;
  revision?: string;
  startedAt?: number;
  completedAt: number;
  files: Array<{ path: string; size: number; checksum: Checksum | null }>;
}

interface PartialState {
  v: 1;
  source: string;
  revision?: string;
  files: Record<string, FileState>;
}

interface Active {
  info: ArtifactInfo;
  done: Promise<ArtifactInfo>;
}

const STATE_VERSION = 1;

/** Cache key of a canonical source URI: a readable slug plus 12 hex digits of its sha256. */
export function cacheKey(uri: string): string {
  const slug = uri
    .replace(/^[a-z][a-z0-9+.-]*:\/\//i, '')
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '')
    .slice(0, 64)
    .replace(/[-.]+$/, '');
  return `${slug || 'artifact'}-${createHash('sha256').update(uri).digest('hex').slice(0, 12)}`;
}

function errorOf(err: unknown): { code: string; message: string } {
  if (err instanceof BrixError) return { code: err.code, message: err.message };
  return { code: 'internal_error', message: (err as Error)?.message ?? String(err) };
}

/**
 * The on-disk artifact cache of one node: downloads models and adapters from file, http(s), s3 and
 * huggingface sources into `<cacheDir>/<key>/`, keyed by the canonical source URI.
 *
 * - Concurrent requests for one artifact share one download.
 * - Large files are fetched in parallel ranges; an interrupted download resumes where it stopped
 *   (state in `<cacheDir>/.brix/partial/<key>/`), also after a restart of the process.
 * - Files are verified against the checksums their source publishes; a mismatch discards the file.
 * - Every path is checked to stay inside the cache; every source against the policy.
 * - A complete artifact appears atomically (a directory rename); until then engines see nothing.
 */
export class ArtifactStore {
  private readonly active = new Map<string, Active>();
  private readonly failed = new Map<string, ArtifactInfo>();
  private readonly clock: Clock;
  private readonly credentials: CredentialProvider;
  private readonly settings: TransferSettings;
  private readonly closing = new AbortController();

  constructor(private readonly deps: ArtifactStoreDeps) {
    this.clock = deps.clock ?? new WallClock();
    this.credentials = deps.credentials ?? noCredentials;
    this.settings = { ...DEFAULT_TRANSFER, ...deps.transfer };
  }

  get cacheDir(): string {
    return this.deps.cacheDir;
  }

  private get meta() {
    const root = join(this.deps.cacheDir, '.brix');
    return { root, manifests: join(root, 'manifests'), partial: join(root, 'partial'), trash: join(root, 'trash') };
  }

  /** Parses a source URI (syntax and scheme only). Throws InvalidArtifactSourceError or SchemeNotAllowedError. */
  parse(uri: string): ParsedSource {
    const parsed = this.deps.sources.parse(uri);
    this.deps.policy.checkScheme(parsed.scheme);
    return parsed;
  }

  /** The cache key a source URI maps to. */
  keyOf(uri: string): string {
    return cacheKey(redactSource(this.parse(uri).uri));
  }

  /** Where the files of the artifact of `uri` are assembled before they are complete. */
  partialDirOf(uri: string): string {
    return join(this.meta.partial, this.keyOf(uri), 'files');
  }

  private context(signal?: AbortSignal): SourceContext {
    return {
      policy: this.deps.policy,
      http: this.deps.http,
      credentials: this.credentials,
      clock: this.clock,
      signal: signal ?? this.closing.signal,
    };
  }

  /**
   * Checks the source against the policy (scheme, host or bucket, DNS, local roots) and starts its
   * download, joins one in flight, or answers from the cache. Policy refusals reject here, before
   * anything is fetched; download failures reject `done`.
   */
  async start(uri: string, options: { force?: boolean } = {}): Promise<DownloadHandle> {
    const parsed = this.parse(uri);
    const plugin = this.deps.sources.plugin(parsed.plugin);
    await plugin.authorize(parsed, this.context());
    // Signed-URL parameters (X-Amz-Signature, sig, token…) are secrets that change per signing: they are
    // kept out of the key, the listing, the manifest and every message.
    const shown = redactSource(parsed.uri);
    const key = cacheKey(shown);

    const running = this.active.get(key);
    if (running) return { info: { ...running.info }, done: running.done };
    if (!options.force) {
      const cached = await this.readManifest(key);
      if (cached) {
        const info = this.infoFromManifest(cached);
        return { info, done: Promise.resolve(info) };
      }
      // Another request may have started the download while the manifest was read.
      const started = this.active.get(key);
      if (started) return { info: { ...started.info }, done: started.done };
    }

    const info: ArtifactInfo = {
      key,
      source: shown,
      status: 'downloading',
      path: join(this.deps.cacheDir, key),
      files: 0,
      filesDone: 0,
      filesVerified: 0,
      bytesTotal: null,
      bytesDone: 0,
      startedAt: this.clock.now(),
    };
    this.failed.delete(key);
    const done = this.run(parsed, plugin, info)
      .catch((err: unknown) => {
        // Errors from the HTTP stack or the file system become one named error with the cause kept.
        if (err instanceof BrixError) throw err;
        throw new DownloadFailedError(
          `download of ${shown} failed: ${(err as Error)?.message ?? String(err)}`,
          isRetryable(err),
          {
            cause: err,
          },
        );
      })
      .then(
        (complete) => {
          this.active.delete(key);
          return complete;
        },
        (err: unknown) => {
          this.active.delete(key);
          this.failed.set(key, { ...info, status: 'failed', error: errorOf(err) });
          throw err;
        },
      );
    // A caller that only starts (202) may never await `done`; the failure is kept in the listing.
    done.catch(() => undefined);
    this.active.set(key, { info, done });
    return { info: { ...info }, done };
  }

  /**
   * For a local source (`file://` URL or absolute path): checks it against the policy (scheme, local
   * roots, symlinks resolved) and that it exists, and returns its real path, without copying anything.
   * For any other source: undefined. Callers use it to hand a path an engine can read directly.
   * Throws the policy's errors, or ArtifactNotFoundError when the path does not exist.
   */
  async localPath(uri: string): Promise<string | undefined> {
    const parsed = this.parse(uri);
    if (parsed.scheme !== 'file') return undefined;
    const real = await this.deps.policy.checkLocalPath(parsed.params['path']!);
    if (!(await stat(real).catch(() => undefined))) throw new ArtifactNotFoundError(parsed.uri, 'no such file or directory');
    return real;
  }

  /**
   * Deletes a complete artifact (its directory and manifest), and any partial or failed state of it.
   * Returns whether anything was removed. A download in flight is not touched: ConflictError.
   */
  async remove(key: string): Promise<boolean> {
    if (key !== basename(key) || key.startsWith('.') || key === '') throw new PathEscapeError(key, 'not a cache key');
    if (this.active.has(key)) throw new ConflictError(`Artifact ${key} is downloading; it cannot be removed now.`);
    const m = this.meta;
    const manifestPath = join(m.manifests, `${key}.json`);
    const dir = join(this.deps.cacheDir, key);
    const partial = join(m.partial, key);
    const found = await Promise.all(
      [manifestPath, dir, partial].map((p) =>
        stat(p).then(
          () => true,
          () => false,
        ),
      ),
    );
    const failed = this.failed.delete(key);
    // The manifest goes first, so a crash half-way leaves a directory that readManifest ignores.
    await rm(manifestPath, { force: true });
    if (found[1]) {
      await mkdir(m.trash, { recursive: true });
      const trash = join(m.trash, `${key}-${this.clock.now()}-removed`);
      await rename(dir, trash);
      await rm(trash, { recursive: true, force: true });
    }
    await rm(partial, { recursive: true, force: true });
    return found.some(Boolean) || failed;
  }

  /** Downloads (or finds in the cache) the artifact of `uri` and resolves when it is complete. */
  async download(uri: string, options: { force?: boolean } = {}): Promise<ArtifactInfo> {
    return (await this.start(uri, options)).done;
  }

  /** The artifact of a key: complete, downloading, failed or partial; undefined when unknown. */
  async get(key: string): Promise<ArtifactInfo | undefined> {
    return (await this.list()).find((a) => a.key === key);
  }

  /** Every artifact the cache knows: complete ones, downloads in flight, failed and interrupted ones. */
  async list(): Promise<ArtifactInfo[]> {
    const out = new Map<string, ArtifactInfo>();
    for (const name of await readdir(this.meta.manifests).catch(() => [] as string[])) {
      if (!name.endsWith('.json')) continue;
      const m = await this.readManifest(name.slice(0, -'.json'.length));
      if (m) out.set(m.key, this.infoFromManifest(m));
    }
    for (const name of await readdir(this.meta.partial).catch(() => [] as string[])) {
      if (out.has(name) || this.active.has(name)) continue;
      const state = await this.readState(name);
      if (!state) continue;
      const files = Object.values(state.files);
      out.set(name, {
        key: name,
        source: state.source,
        status: 'partial',
        path: join(this.deps.cacheDir, name),
        ...(state.revision ? { revision: state.revision } : {}),
        files: files.length,
        filesDone: files.filter((f) => f.done).length,
        filesVerified: files.filter((f) => f.verified).length,
        bytesTotal: files.every((f) => f.size !== undefined) ? files.reduce((a, f) => a + (f.size ?? 0), 0) : null,
        bytesDone: files.reduce((a, f) => a + f.chunks.reduce((b, c) => b + c.written, 0), 0),
      });
    }
    for (const [key, f] of this.failed) out.set(key, { ...f });
    for (const [key, a] of this.active) out.set(key, { ...a.info });
    return [...out.values()].sort((a, b) => a.key.localeCompare(b.key));
  }

  /** Aborts downloads in flight (their progress stays on disk) and releases connections. */
  async close(): Promise<void> {
    this.closing.abort(new DownloadFailedError('the artifact store is closing', true));
    await Promise.allSettled([...this.active.values()].map((a) => a.done));
    await this.deps.http.close();
    this.deps.onClose?.();
  }

  private async run(parsed: ParsedSource, plugin: ArtifactSourcePlugin, info: ArtifactInfo): Promise<ArtifactInfo> {
    const { key } = info;
    const ctx = this.context();
    const partialDir = join(this.meta.partial, key);
    const filesDir = join(partialDir, 'files');

    let state = await this.readState(key);
    const shown = info.source;
    if (state && state.source !== shown) state = undefined;
    const listing = await plugin.list(parsed, ctx);
    const maxFiles = this.deps.maxFiles ?? 100_000;
    if (listing.files.length > maxFiles)
      throw new DownloadFailedError(`${shown} lists ${listing.files.length} files, more than the limit of ${maxFiles}`, false);
    if (state && listing.revision && state.revision !== listing.revision) state = undefined;
    if (!state) {
      await rm(partialDir, { recursive: true, force: true });
      state = { v: STATE_VERSION, source: shown, ...(listing.revision ? { revision: listing.revision } : {}), files: {} };
    }

    // Every name is checked before anything is written.
    const seen = new Set<string>();
    const files: RemoteFile[] = listing.files.map((f) => {
      const path = safeRelativePath(f.path);
      if (seen.has(path)) throw new PathEscapeError(path, 'the source lists it twice');
      seen.add(path);
      return { ...f, path };
    });
    for (const p of seen) {
      // A file may not also be a directory of another (`a` and `a/b`).
      const parts = p.split('/');
      for (let i = 1; i < parts.length; i++)
        if (seen.has(parts.slice(0, i).join('/'))) throw new PathEscapeError(p, 'a listed file is also used as its directory');
    }

    info.files = files.length;
    if (listing.revision) info.revision = listing.revision;
    const sizes = new Map<string, number | undefined>(files.map((f) => [f.path, f.size]));
    const onDisk = new Map<string, number>();
    const total = () =>
      [...sizes.values()].every((s) => s !== undefined) ? [...sizes.values()].reduce<number>((a, s) => a + s!, 0) : null;
    info.bytesTotal = total();
    await mkdir(filesDir, { recursive: true });

    let writingState: Promise<void> = Promise.resolve();
    const saveState = () => {
      const snapshot = JSON.stringify(state);
      writingState = writingState.then(() =>
        writeFile(join(partialDir, 'state.json.tmp'), snapshot).then(() =>
          rename(join(partialDir, 'state.json.tmp'), join(partialDir, 'state.json')),
        ),
      );
      return writingState;
    };
    await saveState();

    const slots = new Semaphore(this.settings.concurrency);
    const queue = [...files];
    const manifestFiles: Manifest['files'] = [];
    const worker = async () => {
      for (let file = queue.shift(); file; file = queue.shift()) {
        const f = file;
        const target = await prepareInside(filesDir, f.path);
        const final = await transferFile({
          file: f,
          target,
          resumeFrom: state!.files[f.path],
          read: (range, signal) => plugin.read(parsed, f, range, { ...ctx, signal }),
          saveState: async (s) => {
            state!.files[f.path] = s;
            await saveState();
          },
          slots,
          settings: this.settings,
          clock: this.clock,
          signal: ctx.signal,
          onProgress: (bytes, size) => {
            onDisk.set(f.path, bytes);
            if (size !== undefined && sizes.get(f.path) === undefined) {
              sizes.set(f.path, size);
              info.bytesTotal = total();
            }
            info.bytesDone = [...onDisk.values()].reduce((a, b) => a + b, 0);
            this.emit(info, f.path, bytes, size ?? null);
          },
        });
        const checksum = await this.verify(f, final, target, () => {
          delete state!.files[f.path];
          return saveState();
        });
        final.verified = checksum !== null;
        state!.files[f.path] = final;
        await saveState();
        manifestFiles.push({ path: f.path, size: final.size ?? 0, checksum });
        info.filesDone++;
        if (checksum) info.filesVerified++;
        this.emit(info, f.path, final.size ?? 0, final.size ?? null);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.settings.concurrency, Math.max(1, files.length)) }, worker));
    await writingState;

    // Publish: the manifest goes first under a temporary name, then the directory, then the manifest.
    const completedAt = this.clock.now();
    const manifest: Manifest = {
      v: 1,
      key,
      source: shown,
      ...(listing.revision ? { revision: listing.revision } : {}),
      ...(info.startedAt !== undefined ? { startedAt: info.startedAt } : {}),
      completedAt,
      files: manifestFiles.sort((a, b) => a.path.localeCompare(b.path)),
    };
    const m = this.meta;
    await mkdir(m.manifests, { recursive: true });
    const manifestPath = join(m.manifests, `${key}.json`);
    await writeFile(`${manifestPath}.tmp`, JSON.stringify(manifest, null, 2));
    const dest = join(this.deps.cacheDir, key);
    if (await stat(dest).catch(() => undefined)) {
      await mkdir(m.trash, { recursive: true });
      const trash = join(m.trash, `${key}-${completedAt}`);
      await rename(dest, trash);
      await rm(trash, { recursive: true, force: true });
    }
    await rename(filesDir, dest);
    await rename(`${manifestPath}.tmp`, manifestPath);
    await rm(partialDir, { recursive: true, force: true });
    return this.infoFromManifest(manifest);
  }

  /** Verifies a finished file against every digest known for it; returns the one checked, or null. */
  private async verify(file: RemoteFile, st: FileState, target: string, discard: () => Promise<void>): Promise<Checksum | null> {
    const expected = dedupeChecksums([...file.checksums, ...st.checksums]);
    if (expected.length === 0) return null;
    if (st.verified) return expected[0]!;
    const actual = await digestFile(
      target,
      st.size ?? 0,
      expected.map((c) => c.algorithm),
    );
    for (const c of expected) {
      const got = actual.get(c.algorithm)!;
      if (got !== c.value) {
        await rm(target, { force: true });
        await discard();
        throw new ChecksumMismatchError(file.path, `${c.algorithm} (${c.origin})`, c.value, got);
      }
    }
    return expected[0]!;
  }

  private emit(info: ArtifactInfo, file: string, fileBytes: number, fileSize: number | null): void {
    try {
      this.deps.onProgress?.({
        key: info.key,
        source: info.source,
        file,
        fileBytes,
        fileSize,
        bytesDone: info.bytesDone,
        bytesTotal: info.bytesTotal,
        filesDone: info.filesDone,
        filesTotal: info.files,
      });
    } catch {
      // A listener's bug must not break a download.
    }
  }

  private async readManifest(key: string): Promise<Manifest | undefined> {
    try {
      const m = JSON.parse(await readFile(join(this.meta.manifests, `${key}.json`), 'utf8')) as Manifest;
      if (m.v !== 1 || m.key !== key) return undefined;
      if (!(await stat(join(this.deps.cacheDir, key)).catch(() => undefined))) return undefined;
      return m;
    } catch {
      return undefined;
    }
  }

  private async readState(key: string): Promise<PartialState | undefined> {
    try {
      const s = JSON.parse(await readFile(join(this.meta.partial, key, 'state.json'), 'utf8')) as PartialState;
      return s.v === STATE_VERSION && typeof s.source === 'string' ? s : undefined;
    } catch {
      return undefined;
    }
  }

  private infoFromManifest(m: Manifest): ArtifactInfo {
    const bytes = m.files.reduce((a, f) => a + f.size, 0);
    return {
      key: m.key,
      source: m.source,
      status: 'complete',
      path: join(this.deps.cacheDir, m.key),
      ...(m.revision ? { revision: m.revision } : {}),
      files: m.files.length,
      filesDone: m.files.length,
      filesVerified: m.files.filter((f) => f.checksum).length,
      bytesTotal: bytes,
      bytesDone: bytes,
      ...(m.startedAt !== undefined ? { startedAt: m.startedAt } : {}),
      completedAt: m.completedAt,
    };
  }
}

export interface CreateArtifactStoreOptions {
  cacheDir: string;
  policy: SourcePolicyOptions;
  huggingface?: HuggingFaceOptions;
  s3?: S3Options;
  credentials?: CredentialProvider;
  clock?: Clock;
  onProgress?: (event: DownloadProgress) => void;
  transfer?: Partial<TransferSettings>;
  maxFiles?: number;
  http?: { headersTimeoutMs?: number; bodyTimeoutMs?: number; maxRedirects?: number };
}

/** Builds a store with the built-in sources, a policy and a guarded HTTP client. */
export function createArtifactStore(options: CreateArtifactStoreOptions): ArtifactStore {
  const policy = new SourcePolicy(options.policy);
  const credentials = options.credentials ?? noCredentials;
  const http = new GuardedHttp({ policy, ...options.http });
  const { registry, close } = createSourceRegistry({
    policy,
    credentials,
    huggingface: options.huggingface ?? { endpoint: 'https://huggingface.co' },
    s3: options.s3 ?? { region: 'us-east-1' },
  });
  return new ArtifactStore({
    cacheDir: options.cacheDir,
    policy,
    sources: registry,
    http,
    credentials,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.transfer ? { transfer: options.transfer } : {}),
    ...(options.maxFiles !== undefined ? { maxFiles: options.maxFiles } : {}),
    onClose: close,
  });
}
