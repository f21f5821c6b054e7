import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ArtifactNotFoundError,
  ChecksumMismatchError,
  DownloadFailedError,
  ForbiddenAddressError,
  HostNotAllowedError,
  InvalidArtifactSourceError,
  SchemeNotAllowedError,
} from '../../errors';
import { type HostResolver, SUPPORTED_SCHEMES } from '../../policy/policy';
import { createArtifactStore, type CreateArtifactStoreOptions } from '../../store';
import { bytes, md5Base64, serveBytes, sha256, startServer, type TestServer } from '../../testing/servers';
import { waitFor } from '@brix/testing';
import { checksumsFromHeaders } from './http';

const KiB = 1024;
const loopback: HostResolver = async () => [{ address: '127.0.0.1', family: 4 }];

function store(overrides: Partial<CreateArtifactStoreOptions> = {}, policy: Partial<CreateArtifactStoreOptions['policy']> = {}) {
  return createArtifactStore({
    cacheDir: mkdtempSync(join(tmpdir(), 'brix-http-')),
    policy: {
      allowedSchemes: [...SUPPORTED_SCHEMES],
      allowedHosts: ['127.0.0.1', 'localhost', 'models.test'],
      allowedBuckets: ['*'],
      localRoots: [],
      resolver: loopback,
      ...policy,
    },
    // Small chunks so a 1 MiB file exercises the parallel path; near-zero retry delays.
    transfer: { chunkBytes: 64 * KiB, parallelThresholdBytes: 256 * KiB, retries: 0, retryDelayMs: 1, saveEveryBytes: 16 * KiB },
    ...overrides,
  });
}

const gets = (s: TestServer) => s.requests.filter((r) => r.method === 'GET');

describe('http source', () => {
  const servers: TestServer[] = [];
  const stores: Array<ReturnType<typeof store>> = [];
  const track = <T extends TestServer>(s: T) => (servers.push(s), s);
  const tracked = (s: ReturnType<typeof store>) => (stores.push(s), s);
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  it('downloads one file, verifies its Content-MD5, and names it after the URL', async () => {
    const data = bytes(100 * KiB);
    const server = track(
      await startServer((req, res) => serveBytes(req, res, data, { headers: { 'content-md5': md5Base64(data) } })),
    );
    const s = tracked(store());
    const info = await s.download(`${server.url}/files/adapter.safetensors`);
    expect(info).toMatchObject({ status: 'complete', files: 1, filesVerified: 1, bytesTotal: 100 * KiB, bytesDone: 100 * KiB });
    expect(readFileSync(join(info.path, 'adapter.safetensors')).equals(data)).toBe(true);
  });

  it('fetches a large file in parallel ranges and verifies it against Repr-Digest', async () => {
    const data = bytes(1024 * KiB, 7);
    const digest = `sha-256=:${Buffer.from(sha256(data), 'hex').toString('base64')}:`;
    const server = track(
      await startServer((req, res) => serveBytes(req, res, data, { etag: '"v1"', headers: { 'repr-digest': digest } })),
    );
    const s = tracked(store());
    const info = await s.download(`${server.url}/model.bin`);
    expect(info.filesVerified).toBe(1);
    expect(readFileSync(join(info.path, 'model.bin')).equals(data)).toBe(true);
    // 1024 KiB in 64 KiB ranges: 16 range requests, each for its own slice.
    const ranges = gets(server).map((r) => r.range);
    expect(ranges).toHaveLength(16);
    expect(new Set(ranges).size).toBe(16);
    expect(ranges).toContain('bytes=0-65535');
    expect(ranges).toContain('bytes=983040-1048575');
  });

  it('resumes a transfer cut mid-way from where it stopped, on the next request', async () => {
    const data = bytes(200 * KiB, 3);
    let cuts = 1;
    const server = track(
      await startServer((req, res) =>
        serveBytes(req, res, data, {
          etag: '"v1"',
          headers: { 'content-md5': md5Base64(data) },
          cutAfter: () => (req.method === 'GET' && cuts-- > 0 ? 120 * KiB : undefined),
        }),
      ),
    );
    const s = tracked(store());
    const source = `${server.url}/weights.bin`;
    await expect(s.download(source)).rejects.toThrow(DownloadFailedError);
    const failed = (await s.list())[0]!;
    expect(failed.status).toBe('failed');
    expect(failed.bytesDone).toBeGreaterThan(0);

    const info = await s.download(source);
    expect(readFileSync(join(info.path, 'weights.bin')).equals(data)).toBe(true);
    const [first, second] = gets(server);
    expect(first!.range).toBeUndefined(); // a small file goes in one stream
    // The second request continues exactly after the bytes already on disk.
    expect(second!.range).toBe(`bytes=${failed.bytesDone}-${200 * KiB - 1}`);
    expect(info.filesVerified).toBe(1); // Content-MD5 of the first (full) answer, checked over both parts
  });

  it('retries a cut transfer by itself, resuming each time', async () => {
    const data = bytes(1024 * KiB, 5);
    let cuts = 3;
    const server = track(
      await startServer((req, res) =>
        serveBytes(req, res, data, {
          etag: '"v1"',
          cutAfter: () => (req.method === 'GET' && cuts-- > 0 ? 10 * KiB : undefined),
        }),
      ),
    );
    const s = tracked(
      store({ transfer: { chunkBytes: 64 * KiB, parallelThresholdBytes: 256 * KiB, retries: 3, retryDelayMs: 1 } }),
    );
    const info = await s.download(`${server.url}/big.bin`);
    expect(readFileSync(join(info.path, 'big.bin')).equals(data)).toBe(true);
    // 16 ranges plus 3 resumptions. The first range runs alone (it probes range support) and is cut
    // three times, 10 KiB further each time; every retry continues where the previous one stopped.
    const ranges = gets(server).map((r) => r.range);
    expect(ranges).toHaveLength(19);
    expect(ranges.slice(0, 4)).toEqual(['bytes=0-65535', 'bytes=10240-65535', 'bytes=20480-65535', 'bytes=30720-65535']);
  });

  it('resumes in a new store (after a restart) from the state left on disk', async () => {
    const data = bytes(400 * KiB, 9);
    let stall = true;
    const server = track(
      await startServer((req, res) => {
        if (req.method === 'GET' && stall) {
          stall = false;
          // Send a first part, then hang: the download is in flight when the store closes.
          res.writeHead(200, { 'content-length': String(data.length), etag: '"v1"', 'accept-ranges': 'bytes' });
          res.write(data.subarray(0, 150 * KiB));
          return;
        }
        serveBytes(req, res, data, { etag: '"v1"' });
      }),
    );
    const cacheDir = mkdtempSync(join(tmpdir(), 'brix-restart-'));
    const single = { chunkBytes: 1024 * KiB, parallelThresholdBytes: 1024 * KiB, retries: 0, retryDelayMs: 1 };
    const first = store({ cacheDir, transfer: single });
    const source = `${server.url}/resume.bin`;
    const handle = await first.start(source);
    await waitFor(async () => (await first.list())[0]!.bytesDone >= 150 * KiB, 'the first part on disk', { timeoutMs: 20_000 });
    await first.close();
    await expect(handle.done).rejects.toThrow(DownloadFailedError);

    const second = tracked(store({ cacheDir, transfer: single }));
    const partial = (await second.list())[0]!;
    expect(partial).toMatchObject({ status: 'partial', bytesDone: 150 * KiB, bytesTotal: 400 * KiB });
    const info = await second.download(source);
    expect(readFileSync(join(info.path, 'resume.bin')).equals(data)).toBe(true);
    expect(gets(server).at(-1)!.range).toBe(`bytes=${150 * KiB}-${400 * KiB - 1}`);
  });

  it('falls back to one stream when the server ignores ranges', async () => {
    const data = bytes(512 * KiB, 11);
    const server = track(await startServer((req, res) => serveBytes(req, res, data, { ignoreRange: true })));
    const s = tracked(store());
    const info = await s.download(`${server.url}/no-ranges.bin`);
    expect(readFileSync(join(info.path, 'no-ranges.bin')).equals(data)).toBe(true);
    // The probe for the first range got the whole file, so the file was fetched once more without a range.
    expect(gets(server).map((r) => r.range)).toEqual(['bytes=0-65535', undefined]);
  });

  it('starts over when the file changed at the source between attempts', async () => {
    let data = bytes(100 * KiB, 1);
    let etag = '"v1"';
    let cuts = 1;
    const server = track(
      await startServer((req, res) =>
        serveBytes(req, res, data, { etag, cutAfter: () => (req.method === 'GET' && cuts-- > 0 ? 30 * KiB : undefined) }),
      ),
    );
    const s = tracked(store());
    const source = `${server.url}/changing.bin`;
    await expect(s.download(source)).rejects.toThrow(DownloadFailedError);
    data = bytes(120 * KiB, 2);
    etag = '"v2"';
    const info = await s.download(source);
    expect(readFileSync(join(info.path, 'changing.bin')).equals(data)).toBe(true);
    expect(gets(server).at(-1)!.range).toBeUndefined(); // not a resume: the old part was for v1
  });

  it('discards a file whose content does not match the published checksum', async () => {
    const data = bytes(50 * KiB);
    const server = track(
      await startServer((req, res) => serveBytes(req, res, data, { headers: { 'content-md5': md5Base64(bytes(50 * KiB, 99)) } })),
    );
    const s = tracked(store());
    const source = `${server.url}/corrupt.bin`;
    const err = await s.download(source).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChecksumMismatchError);
    expect((err as Error).message).toMatch(
      /^Checksum mismatch for corrupt\.bin: md5 \(content-md5 header\) expected [0-9a-f]{32}, got [0-9a-f]{32}; the file was discarded\.$/,
    );
    expect(existsSync(join(s.partialDirOf(source), 'corrupt.bin'))).toBe(false);
    expect((await s.list())[0]).toMatchObject({ status: 'failed', error: { code: 'upstream_error' } });
  });

  it('keeps signed-URL parameters out of the listing and the cache key, but sends them', async () => {
    const data = bytes(KiB);
    const server = track(await startServer((req, res) => serveBytes(req, res, data)));
    const s = tracked(store());
    const signed = (sig: string) => `${server.url}/private/model.bin?X-Amz-Credential=AKID%2F1&X-Amz-Signature=${sig}&v=2`;
    const info = await s.download(signed('deadbeef'));
    expect(info.source).toBe(`${server.url}/private/model.bin?X-Amz-Credential=[redacted]&X-Amz-Signature=[redacted]&v=2`);
    expect(JSON.stringify(await s.list())).not.toMatch(/deadbeef|AKID/);
    expect(gets(server)[0]!.url).toBe('/private/model.bin?X-Amz-Credential=AKID%2F1&X-Amz-Signature=deadbeef&v=2');
    // A fresh signature of the same object is the same artifact: answered from the cache.
    expect((await s.download(signed('cafebabe'))).key).toBe(info.key);
    expect(gets(server)).toHaveLength(1);
  });

  it('answers a 404 with ArtifactNotFoundError', async () => {
    const server = track(
      await startServer((_req, res) => {
        res.writeHead(404);
        res.end();
      }),
    );
    await expect(tracked(store()).download(`${server.url}/missing.bin`)).rejects.toThrow(ArtifactNotFoundError);
  });

  describe('refusals', () => {
    it.each([
      ['a host off the allow-list', 'http://example.org/model.bin', HostNotAllowedError],
      ['a metadata IP literal', 'http://169.254.169.254/latest/meta-data/iam/security-credentials/', ForbiddenAddressError],
      ['a metadata IP in decimal', 'http://2852039166/', ForbiddenAddressError],
      ['the GCP metadata host name', 'http://metadata.google.internal/computeMetadata/v1/', ForbiddenAddressError],
      ['an IPv6 link-local literal', 'http://[fe80::1]/x', ForbiddenAddressError],
      ['an unsupported scheme', 'ftp://models.test/x.bin', SchemeNotAllowedError],
      ['credentials in the URL', 'http://user:hunter2@models.test/x.bin', InvalidArtifactSourceError],
      ['a relative path', 'models/llama', InvalidArtifactSourceError],
    ])('refuses %s before any transfer', async (_case, source, error) => {
      const s = tracked(store({}, { allowedHosts: ['models.test', '127.0.0.1'] }));
      const err = await s.start(source).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(error);
      expect((err as Error).message).not.toContain('hunter2');
    });

    it('refuses a scheme the allow-list leaves out', async () => {
      const s = tracked(store({}, { allowedSchemes: ['https', 's3'] }));
      await expect(s.start('http://models.test/x.bin')).rejects.toThrow(SchemeNotAllowedError);
    });

    it('refuses a host that resolves to a metadata address', async () => {
      const s = tracked(store({}, { resolver: async () => [{ address: '169.254.169.254', family: 4 }] }));
      await expect(s.start('http://models.test/x.bin')).rejects.toThrow(
        'Artifact host "models.test" resolves to 169.254.169.254',
      );
    });

    it('refuses at connect time a name that resolved safely when checked (DNS rebinding)', async () => {
      const data = bytes(KiB);
      const server = track(await startServer((req, res) => serveBytes(req, res, data)));
      let lookups = 0;
      // Resolutions 1 and 2 (the policy check of start() and of the HEAD request) see loopback;
      // the third, made by the socket when it connects, sees the metadata address.
      const rebinding: HostResolver = async () => [{ address: ++lookups <= 2 ? '127.0.0.1' : '169.254.169.254', family: 4 }];
      const s = tracked(store({}, { resolver: rebinding }));
      await expect(s.download(`http://models.test:${server.port}/x.bin`)).rejects.toThrow(ForbiddenAddressError);
      expect(server.requests).toHaveLength(0);
    });

    it.each([
      ['a host off the allow-list', 'http://example.org/x', HostNotAllowedError],
      ['the metadata address', 'http://169.254.169.254/latest/meta-data/', ForbiddenAddressError],
    ])('refuses a redirect to %s', async (_case, location, error) => {
      const server = track(
        await startServer((_req, res) => {
          res.writeHead(302, { location });
          res.end();
        }),
      );
      await expect(tracked(store()).download(`${server.url}/redirecting.bin`)).rejects.toThrow(error);
    });
  });

  it.each([
    [{ 'content-md5': 'XrY7u+Ae7tCTyyK7j1rNww==' }, { whole: [], body: [['md5', '5eb63bbbe01eeed093cb22bb8f5acdc3']] }],
    [
      { 'repr-digest': 'sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:' },
      { whole: [['sha256', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855']], body: [] },
    ],
    [
      { 'x-goog-hash': 'crc32c=n03x6A==,md5=XrY7u+Ae7tCTyyK7j1rNww==' },
      { whole: [['md5', '5eb63bbbe01eeed093cb22bb8f5acdc3']], body: [] },
    ],
    [{ etag: '"5eb63bbbe01eeed093cb22bb8f5acdc3"' }, { whole: [], body: [] }], // an ETag alone is never trusted as a digest
  ])('reads digest headers %j', (headers, want) => {
    const got = checksumsFromHeaders(headers);
    expect({ whole: got.whole.map((c) => [c.algorithm, c.value]), body: got.body.map((c) => [c.algorithm, c.value]) }).toEqual(
      want,
    );
  });
});
