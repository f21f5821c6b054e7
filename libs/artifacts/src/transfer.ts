import { type Clock } from '@brix/clock';
import { BrixError } from '@brix/contracts';
import { type Checksum, dedupeChecksums } from './checksum';
import { DownloadFailedError } from './errors';
import { openForWrite } from './paths';
import { type ByteRange, type ReadResult, type RemoteFile } from './sources/types';

/** Tuning of one download; the defaults suit model weights on a data-centre network. */
export interface TransferSettings {
  /** Concurrent requests per artifact (chunks of one file and files together). */
  concurrency: number;
  /** Size of one ranged request of a large file, bytes. */
  chunkBytes: number;
  /** Files at least this large are fetched in parallel ranges, bytes. */
  parallelThresholdBytes: number;
  /** Retries of one chunk after a retryable failure (cut connection, 5xx, timeout). */
  retries: number;
  /** First retry delay, doubled per attempt, ms (on the injected clock). */
  retryDelayMs: number;
  /** Progress is saved to disk at least every this many bytes per file, so a crash loses little. */
  saveEveryBytes: number;
}

export const DEFAULT_TRANSFER: TransferSettings = {
  concurrency: 4,
  chunkBytes: 16 * 1024 * 1024,
  parallelThresholdBytes: 64 * 1024 * 1024,
  retries: 3,
  retryDelayMs: 250,
  saveEveryBytes: 8 * 1024 * 1024,
};

/** Byte range of a file and how much of it is on disk. `end` exclusive; absent while the size is unknown. */
export interface ChunkState {
  start: number;
  end?: number;
  written: number;
}

/** Persisted progress of one file: enough to resume it after a cut or a restart. */
export interface FileState {
  size?: number;
  validator?: string;
  chunks: ChunkState[];
  /** Whole-file digests the source sent in headers while downloading. */
  checksums: Checksum[];
  done: boolean;
  verified?: boolean;
}

/** A counting semaphore: at most `n` holders at once. */
export class Semaphore {
  private waiting: Array<() => void> = [];
  constructor(private available: number) {}
  async acquire(): Promise<void> {
    if (this.available > 0) {
      this.available--;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.available++;
  }
}

/** The file must start over: the source changed under us, or does not honour ranges. */
class RestartFile extends Error {
  override readonly name = 'RestartFile';
  constructor(readonly rangesUnsupported = false) {
    super(rangesUnsupported ? 'the source ignores range requests' : 'the source changed during the download');
  }
}

/** Whether a failure may go away on retry. Refusals, checksum mismatches and 404s do not. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof DownloadFailedError) return err.retryable;
  if (err instanceof BrixError) return false;
  if ((err as { name?: string }).name === 'AbortError') return false;
  return true; // socket resets, body timeouts, premature ends from the HTTP stack
}

const written = (st: FileState) => st.chunks.reduce((a, c) => a + c.written, 0);

function plan(size: number | undefined, settings: TransferSettings, singleStream: boolean): ChunkState[] {
  if (size === undefined) return [{ start: 0, written: 0 }];
  if (size === 0) return [];
  if (singleStream || size < settings.parallelThresholdBytes || settings.concurrency < 2)
    return [{ start: 0, end: size, written: 0 }];
  const chunks: ChunkState[] = [];
  for (let start = 0; start < size; start += settings.chunkBytes)
    chunks.push({ start, end: Math.min(size, start + settings.chunkBytes), written: 0 });
  return chunks;
}

export interface TransferFileOptions {
  file: RemoteFile;
  /** Absolute path of the file being assembled (already checked to be inside the cache). */
  target: string;
  /** Progress saved by an earlier, interrupted attempt. */
  resumeFrom: FileState | undefined;
  read: (range: ByteRange | undefined, signal: AbortSignal) => Promise<ReadResult>;
  saveState: (state: FileState) => Promise<void>;
  slots: Semaphore;
  settings: TransferSettings;
  clock: Clock;
  signal?: AbortSignal;
  /** Bytes of this file on disk so far (may go down when the file starts over). */
  onProgress: (bytesOnDisk: number, size: number | undefined) => void;
}

/**
 * Downloads one file into `target`: in parallel ranges when it is large and the source honours ranges,
 * in one stream otherwise; resuming every range where an earlier attempt left off, retrying cut
 * transfers, and starting over when the source changed (validator mismatch, or a range answered with
 * the whole file). Returns the final state (size known, `done`), with the whole-file digests seen.
 */
export async function transferFile(options: TransferFileOptions): Promise<FileState> {
  const { file, settings } = options;
  let st = options.resumeFrom;
  const stale = st && file.validator !== undefined && st.validator !== undefined && st.validator !== file.validator;
  if (st?.done && !stale) return st;
  let fresh = !st || stale;
  let singleStream = false;
  for (let restarts = 0; ; restarts++) {
    if (fresh || !st)
      st = {
        ...(file.size !== undefined ? { size: file.size } : {}),
        ...(file.validator ? { validator: file.validator } : {}),
        chunks: plan(file.size, settings, singleStream),
        checksums: [],
        done: false,
      };
    try {
      await runFile(st, fresh ?? false, options);
      return st;
    } catch (err) {
      if (!(err instanceof RestartFile)) throw err;
      if (err.rangesUnsupported && !singleStream) singleStream = true;
      else if (restarts >= 2)
        throw new DownloadFailedError(`${file.path} keeps changing at the source while it downloads`, false);
      fresh = true;
    }
  }
}

async function runFile(st: FileState, truncate: boolean, options: TransferFileOptions): Promise<void> {
  const { settings, clock } = options;
  const fh = await openForWrite(options.target, options.file.path);
  const abort = new AbortController();
  const onOuterAbort = () => abort.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onOuterAbort, { once: true });
  let sinceSave = 0;
  let saving: Promise<void> = Promise.resolve();
  const save = () => (saving = saving.then(() => options.saveState(st)));
  const report = () => options.onProgress(written(st), st.size);

  const runChunk = async (chunk: ChunkState, single: boolean): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      const from = chunk.start + chunk.written;
      if (chunk.end !== undefined && from >= chunk.end) return;
      let error: unknown;
      await options.slots.acquire();
      try {
        if (abort.signal.aborted) throw abort.signal.reason;
        const whole = single && from === 0;
        const res = await options.read(
          whole ? undefined : { start: from, ...(chunk.end !== undefined ? { end: chunk.end } : {}) },
          abort.signal,
        );
        if (!whole && !res.partial) {
          // The whole file came back: ranges are unsupported (nothing on disk yet) or, with If-Range,
          // the file changed since the part on disk was written.
          res.cancel();
          throw new RestartFile(from === 0 && (!st.validator || res.validator === st.validator));
        }
        if (st.validator && res.validator && res.validator !== st.validator) {
          res.cancel();
          throw new RestartFile();
        }
        if (!st.validator && res.validator) st.validator = res.validator;
        if (st.size === undefined && res.size !== undefined) {
          st.size = res.size;
          if (single) chunk.end = res.size;
        }
        st.checksums = dedupeChecksums([...st.checksums, ...res.checksums, ...(whole ? res.bodyChecksums : [])]);
        for await (const buf of res.body) {
          if (abort.signal.aborted) {
            res.cancel();
            throw abort.signal.reason;
          }
          let data = buf as Uint8Array;
          if (chunk.end !== undefined) {
            const room = chunk.end - (chunk.start + chunk.written);
            if (data.length > room) data = data.subarray(0, room);
          }
          if (data.length === 0) continue;
          await fh.write(data, 0, data.length, chunk.start + chunk.written);
          chunk.written += data.length;
          sinceSave += data.length;
          report();
          if (sinceSave >= settings.saveEveryBytes) {
            sinceSave = 0;
            void save();
          }
        }
        if (chunk.end === undefined) chunk.end = chunk.start + chunk.written;
        if (chunk.start + chunk.written < chunk.end)
          throw new DownloadFailedError(
            `transfer of ${options.file.path} ended at byte ${chunk.start + chunk.written} of ${chunk.end}`,
            true,
          );
        return;
      } catch (err) {
        error = err;
      } finally {
        options.slots.release();
      }
      if (error instanceof RestartFile || !isRetryable(error) || attempt >= settings.retries || abort.signal.aborted) throw error;
      await save();
      await clock.sleep(settings.retryDelayMs * 2 ** attempt);
    }
  };

  try {
    if (truncate) await fh.truncate(0);
    report();
    const chunks = st.chunks;
    const single = chunks.length === 1 && chunks[0]!.start === 0 && (chunks[0]!.end === undefined || chunks[0]!.end === st.size);
    if (chunks.length > 1 && chunks[0]!.written === 0 && chunks.every((c) => c.written === 0)) {
      // Probe with the first range alone: a source that ignores ranges fails it before the rest start.
      await runChunk(chunks[0]!, false);
    }
    let firstError: unknown;
    const results = await Promise.allSettled(
      chunks.map((c) =>
        runChunk(c, single).catch((err: unknown) => {
          // The first failure stops the sibling ranges; it is the one reported.
          if (firstError === undefined) {
            firstError = err;
            abort.abort(err);
          }
          throw err;
        }),
      ),
    );
    if (results.some((r) => r.status === 'rejected')) throw firstError;
    if (st.size === undefined) st.size = written(st);
    if (written(st) !== st.size)
      throw new DownloadFailedError(`${options.file.path}: got ${written(st)} of ${st.size} bytes`, true);
    st.done = true;
  } finally {
    options.signal?.removeEventListener('abort', onOuterAbort);
    await save().catch(() => undefined);
    await saving.catch(() => undefined);
    await fh.close();
  }
}
