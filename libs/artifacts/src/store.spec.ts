import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConflictError } from '@brix/contracts';
import { Compile } from 'typebox/compile';
import { ArtifactNotFoundError, InvalidArtifactSourceError, LocalPathNotAllowedError, PathEscapeError } from './errors';
import { SUPPORTED_SCHEMES } from './policy/policy';
import { ArtifactInfo } from './schemas';
import { cacheKey, createArtifactStore, type DownloadProgress } from './store';
import { bytes, serveBytes, startServer, type TestServer } from './testing/servers';

const KiB = 1024;
const isInfo = Compile(ArtifactInfo);

describe('ArtifactStore', () => {
  const data = bytes(300 * KiB, 21);
  let server: TestServer;
  let release: (() => void) | undefined;
  let gate: Promise<void> | undefined;

  beforeEach(async () => {
    gate = undefined;
    server = await startServer(async (req, res) => {
      // Tests that need a download to stay in flight close the gate; HEAD answers at once.
      if (req.method === 'GET' && gate) await gate;
      serveBytes(req, res, data, { etag: '"v1"' });
    });
  });
  afterEach(() => server.close());

  const store = (onProgress?: (p: DownloadProgress) => void, cacheDir = mkdtempSync(join(tmpdir(), 'brix-store-'))) =>
    createArtifactStore({
      cacheDir,
      policy: { allowedSchemes: [...SUPPORTED_SCHEMES], allowedHosts: ['127.0.0.1'], allowedBuckets: [], localRoots: [] },
      transfer: { chunkBytes: 64 * KiB, parallelThresholdBytes: 128 * KiB, retryDelayMs: 1 },
      ...(onProgress ? { onProgress } : {}),
    });
  const hold = () => {
    gate = new Promise<void>((r) => (release = r));
  };
  const gets = () => server.requests.filter((r) => r.method === 'GET').length;

  it('shares one download between concurrent requests for the same artifact', async () => {
    const s = store();
    hold();
    const source = `${server.url}/shared.bin`;
    const [a, b] = await Promise.all([s.start(source), s.start(source)]);
    const c = await s.start(`${server.url}/shared.bin#fragment-is-dropped`);
    expect(a.done).toBe(b.done);
    expect(c.done).toBe(a.done);
    release!();
    const [x, y] = await Promise.all([a.done, b.done]);
    expect(x).toEqual(y);
    expect(gets()).toBe(5); // 300 KiB in 64 KiB ranges: one download, five requests
    await s.close();
  });

  it('answers from the cache afterwards, and downloads again only when forced', async () => {
    const s = store();
    const source = `${server.url}/cached.bin`;
    const first = await s.download(source);
    const before = server.requests.length;
    const again = await s.download(source);
    expect(again).toEqual(first);
    expect(server.requests.length).toBe(before); // not even a HEAD
    const forced = await s.download(source, { force: true });
    expect(forced.completedAt).toBeGreaterThanOrEqual(first.completedAt!);
    expect(gets()).toBe(10);
    expect(readFileSync(join(forced.path, 'cached.bin')).equals(data)).toBe(true);
    await s.close();
  });

  it('keeps its cache across instances (keyed by the source)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'brix-store-'));
    const source = `${server.url}/persist.bin`;
    const a = store(undefined, dir);
    const info = await a.download(source);
    await a.close();
    const b = store(undefined, dir);
    expect(await b.list()).toEqual([info]);
    expect(info.key).toBe(cacheKey(source));
    expect(info.key).toMatch(/^127\.0\.0\.1-\d+-persist\.bin-[0-9a-f]{12}$/);
    await b.close();
  });

  it('reports progress up to the full size, and lists downloads in flight', async () => {
    const events: DownloadProgress[] = [];
    const s = store((p) => events.push(p));
    hold();
    const source = `${server.url}/progress.bin`;
    const handle = await s.start(source);
    expect(handle.info).toMatchObject({ status: 'downloading', bytesDone: 0 });
    const listed = await s.list();
    expect(listed).toHaveLength(1);
    expect(listed[0]!.status).toBe('downloading');
    release!();
    const info = await handle.done;
    const done = events.map((e) => e.bytesDone);
    expect(done).toEqual([...done].sort((x, y) => x - y)); // never goes back
    expect(events.at(-1)).toMatchObject({ bytesDone: 300 * KiB, bytesTotal: 300 * KiB, filesDone: 1, filesTotal: 1 });
    expect(info).toMatchObject({ status: 'complete', bytesDone: 300 * KiB });
    for (const a of await s.list()) expect(isInfo.Check(a)).toBe(true);
    await s.close();
  });

  it('shows only complete artifacts in the cache directory; bookkeeping stays in .brix', async () => {
    const s = store();
    const info = await s.download(`${server.url}/tidy.bin`);
    expect(readdirSync(s.cacheDir).sort()).toEqual(['.brix', info.key]);
    expect(readdirSync(info.path)).toEqual(['tidy.bin']);
    await s.close();
  });

  it('refuses to remove an artifact while it downloads, and removes it once complete', async () => {
    const s = store();
    hold();
    const handle = await s.start(`${server.url}/busy.bin`);
    await expect(s.remove(handle.info.key)).rejects.toBeInstanceOf(ConflictError);
    release!();
    await handle.done;
    await expect(s.remove(handle.info.key)).resolves.toBe(true);
    await s.close();
  });

  it('keeps a listener that throws from breaking the download', async () => {
    const s = store(() => {
      throw new Error('listener bug');
    });
    await expect(s.download(`${server.url}/listener.bin`)).resolves.toMatchObject({ status: 'complete' });
    await s.close();
  });
});

describe('ArtifactStore.localPath and remove', () => {
  const root = mkdtempSync(join(tmpdir(), 'brix-store-local-'));
  const models = join(root, 'models');
  mkdirSync(join(models, 'sql-lora'), { recursive: true });
  writeFileSync(join(models, 'sql-lora', 'adapter_config.json'), '{"r":8}');
  mkdirSync(join(root, 'elsewhere'));
  symlinkSync(join(root, 'elsewhere'), join(models, 'escape'));

  const store = () =>
    createArtifactStore({
      cacheDir: mkdtempSync(join(tmpdir(), 'brix-store-rm-')),
      policy: { allowedSchemes: [...SUPPORTED_SCHEMES], allowedHosts: ['127.0.0.1'], allowedBuckets: [], localRoots: [models] },
    });

  it.each([
    ['an absolute path', join(models, 'sql-lora'), join(models, 'sql-lora')],
    ['a file URL', `file://${join(models, 'sql-lora')}/`, join(models, 'sql-lora')],
    ['an http URL (not local)', 'http://127.0.0.1:9/a.bin', undefined],
    ['a hub repository (not local)', 'huggingface://acme/sql-lora', undefined],
  ])('resolves %s without copying it', async (_case, source, expected) => {
    const s = store();
    const real = expected === undefined ? undefined : realpathSync(expected);
    await expect(s.localPath(source)).resolves.toBe(real);
    expect(await s.list()).toEqual([]); // nothing was copied into the cache
    await s.close();
  });

  it.each([
    ['outside the roots', join(root, 'elsewhere'), LocalPathNotAllowedError],
    ['a symlink leaving the roots', join(models, 'escape'), LocalPathNotAllowedError],
    ['missing', join(models, 'nope'), ArtifactNotFoundError],
    ['relative', 'models/sql-lora', InvalidArtifactSourceError],
  ])('refuses a local path %s', async (_case, source, error) => {
    const s = store();
    await expect(s.localPath(source)).rejects.toBeInstanceOf(error);
    await s.close();
  });

  it('removes a complete artifact: its directory, manifest and listing; a second remove finds nothing', async () => {
    const s = store();
    const info = await s.download(join(models, 'sql-lora'));
    expect(existsSync(info.path)).toBe(true);
    await expect(s.remove(info.key)).resolves.toBe(true);
    expect(existsSync(info.path)).toBe(false);
    expect(await s.list()).toEqual([]);
    expect(readdirSync(s.cacheDir)).toEqual(['.brix']);
    await expect(s.remove(info.key)).resolves.toBe(false);
    // The same source downloads afresh afterwards.
    await expect(s.download(join(models, 'sql-lora'))).resolves.toMatchObject({ status: 'complete', key: info.key });
    await s.close();
  });

  it.each([['..'], ['a/b'], ['.brix'], ['']])('refuses to remove %j, which is not a cache key', async (key) => {
    const s = store();
    await expect(s.remove(key)).rejects.toBeInstanceOf(PathEscapeError);
    await s.close();
  });
});
