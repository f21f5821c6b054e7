import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { credentialsFrom } from '../../credentials';
import {
  ArtifactNotFoundError,
  ChecksumMismatchError,
  DownloadFailedError,
  HostNotAllowedError,
  InvalidArtifactSourceError,
  PathEscapeError,
} from '../../errors';
import { type HostResolver, SUPPORTED_SCHEMES } from '../../policy/policy';
import { createArtifactStore, type CreateArtifactStoreOptions, type DownloadProgress } from '../../store';
import { bytes, gitBlobSha1, serveBytes, sha256, startServer, type TestServer } from '../../testing/servers';
import { huggingFaceSource } from './huggingface';

const KiB = 1024;
const TOKEN = 'hf_test_token_do_not_leak';
const COMMIT = 'a'.repeat(40);

interface RepoFile {
  path: string;
  data: Buffer;
  lfs?: boolean;
  /** Publish a wrong digest for this file. */
  badDigest?: boolean;
}

/**
 * A stand-in for the Hub: the revision and tree APIs (tree paginated two entries per page with a
 * Link header), and resolve URLs with ranges; LFS files redirect to a separate "CDN" server.
 */
async function startHub(files: RepoFile[], options: { requireToken?: boolean } = {}) {
  const byPath = new Map(files.map((f) => [f.path, f]));
  const cdn = await startServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url!, 'http://x').pathname.replace(/^\/lfs\//, ''));
    const f = byPath.get(path);
    if (!f) return void res.writeHead(404).end();
    serveBytes(req, res, f.data, { etag: `"${sha256(f.data)}"` });
  });
  const hub: TestServer = await startServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url!, 'http://x');
    if (options.requireToken && req.headers.authorization !== `Bearer ${TOKEN}`)
      return void res.writeHead(401).end('{"error":"gated"}');
    let m = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(url.pathname);
    if (m) {
      if (m[1] !== 'acme/tiny-llm') return void res.writeHead(404).end('{"error":"Repository not found"}');
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: m[1], sha: COMMIT }));
    }
    m = /^\/api\/models\/([^/]+\/[^/]+)\/tree\/([^/]+)$/.exec(url.pathname);
    if (m) {
      const page = Number(url.searchParams.get('cursor') ?? 0);
      const entries = files.slice(page * 2, page * 2 + 2).map((f) => ({
        type: 'file',
        path: f.path,
        size: f.lfs ? 134 : f.data.length,
        oid: f.lfs ? 'f'.repeat(40) : f.badDigest ? 'e'.repeat(40) : gitBlobSha1(f.data),
        ...(f.lfs ? { lfs: { oid: f.badDigest ? 'e'.repeat(64) : sha256(f.data), size: f.data.length, pointerSize: 134 } } : {}),
      }));
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if ((page + 1) * 2 < files.length) headers['link'] = `<${url.pathname}?recursive=true&cursor=${page + 1}>; rel="next"`;
      return void res
        .writeHead(200, headers)
        .end(JSON.stringify([...entries, { type: 'directory', path: 'dir', oid: '0'.repeat(40), size: 0 }]));
    }
    m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    if (m) {
      const f = byPath.get(decodeURIComponent(m[3]!));
      if (!f || m[2] !== COMMIT) return void res.writeHead(404).end();
      if (f.lfs)
        return void res.writeHead(302, { location: `http://cdn.test:${cdn.port}/lfs/${encodeURIComponent(f.path)}` }).end();
      return serveBytes(req, res, f.data, { etag: `"${gitBlobSha1(f.data)}"` });
    }
    res.writeHead(404).end();
  });
  return { hub, cdn, close: () => Promise.all([hub.close(), cdn.close()]) };
}

// hub.test and cdn.test both resolve to loopback; each server listens on its own port.
const resolver: HostResolver = async () => [{ address: '127.0.0.1', family: 4 }];

describe('huggingface source (against a stand-in hub)', () => {
  const files: RepoFile[] = [
    { path: 'config.json', data: Buffer.from('{"architectures":["LlamaForCausalLM"]}') },
    { path: 'tokenizer.json', data: bytes(3 * KiB, 2) },
    { path: 'model-00001-of-00002.safetensors', data: bytes(400 * KiB, 3), lfs: true },
    { path: 'sub/dir/model-00002-of-00002.safetensors', data: bytes(100 * KiB, 4), lfs: true },
    { path: 'README.md', data: Buffer.from('# tiny') },
  ];
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function setup(repoFiles: RepoFile[], opts: { requireToken?: boolean; token?: string; allowCdn?: boolean } = {}) {
    const servers = await startHub(repoFiles, opts);
    cleanups.push(servers.close);
    const progress: DownloadProgress[] = [];
    const options: CreateArtifactStoreOptions = {
      cacheDir: mkdtempSync(join(tmpdir(), 'brix-hf-')),
      policy: {
        allowedSchemes: [...SUPPORTED_SCHEMES],
        allowedHosts: opts.allowCdn === false ? ['hub.test'] : ['hub.test', 'cdn.test'],
        allowedBuckets: [],
        localRoots: [],
        resolver,
      },
      huggingface: { endpoint: `http://hub.test:${servers.hub.port}` },
      credentials: credentialsFrom({ env: opts.token ? { huggingFaceToken: opts.token } : {} }),
      transfer: { chunkBytes: 64 * KiB, parallelThresholdBytes: 128 * KiB, retryDelayMs: 1 },
      onProgress: (p) => progress.push(p),
    };
    const store = createArtifactStore(options);
    cleanups.push(() => store.close());
    return { ...servers, store, progress };
  }

  it('lists a repo through the paginated tree API and fetches every file, LFS ones from the CDN', async () => {
    const { store, hub, cdn } = await setup(files);
    const info = await store.download('huggingface://acme/tiny-llm');
    expect(info).toMatchObject({
      status: 'complete',
      source: 'huggingface://acme/tiny-llm@main',
      revision: COMMIT,
      files: 5,
      filesVerified: 5,
    });
    for (const f of files) expect(readFileSync(join(info.path, ...f.path.split('/'))).equals(f.data)).toBe(true);
    // Three tree pages of two entries (5 files); every resolve pinned to the commit, not to "main".
    expect(hub.requests.filter((r) => r.url.includes('/tree/'))).toHaveLength(3);
    expect(hub.requests.filter((r) => r.url.includes('/resolve/')).every((r) => r.url.includes(`/resolve/${COMMIT}/`))).toBe(
      true,
    );
    // The 400 KiB shard crossed the parallel threshold: 7 ranges of up to 64 KiB from the CDN.
    expect(cdn.requests.filter((r) => r.url.includes('model-00001') && r.range)).toHaveLength(7);
  });

  it('sends the token to the hub only, never to the CDN it redirects to, and never shows it', async () => {
    const { store, hub, cdn, progress } = await setup(files, { requireToken: true, token: TOKEN });
    const info = await store.download('huggingface://acme/tiny-llm@main');
    expect(hub.requests.every((r) => r.authorization === `Bearer ${TOKEN}`)).toBe(true);
    expect(cdn.requests.length).toBeGreaterThan(0);
    expect(cdn.requests.every((r) => r.authorization === undefined)).toBe(true);
    const shown = JSON.stringify([info, await store.list(), progress]) + inspect(store, { depth: 4 });
    expect(shown).not.toContain(TOKEN);
  });

  it('fails with a clear message when a gated repo is asked for without a token', async () => {
    const { store } = await setup(files, { requireToken: true });
    const err = await store.download('huggingface://acme/tiny-llm').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadFailedError);
    expect((err as Error).message).toContain('refused access');
  });

  it.each([
    [
      'an LFS file (sha256 from the tree)',
      { path: 'w.safetensors', data: bytes(KiB), lfs: true, badDigest: true },
      'sha256 (hub lfs oid)',
    ],
    [
      'a git file (blob sha1 from the tree)',
      { path: 'config.json', data: Buffer.from('{}'), badDigest: true },
      'git-blob-sha1 (hub git oid)',
    ],
  ])('rejects %s whose content does not match the published digest', async (_case, file, algorithm) => {
    const { store } = await setup([file]);
    const err = await store.download('huggingface://acme/tiny-llm').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChecksumMismatchError);
    expect((err as Error).message).toContain(algorithm);
  });

  it.each(['../escape.txt', 'a/../../b', '/etc/cron.d/x'])('refuses a listed path %j before writing anything', async (path) => {
    const { store } = await setup([
      { path: 'ok.json', data: Buffer.from('{}') },
      { path, data: Buffer.from('x') },
    ]);
    const source = 'huggingface://acme/tiny-llm';
    await expect(store.download(source)).rejects.toThrow(PathEscapeError);
    expect(existsSync(join(store.partialDirOf(source), 'ok.json'))).toBe(false);
  });

  it('refuses a redirect to a CDN host off the allow-list', async () => {
    const { store } = await setup(files, { allowCdn: false });
    await expect(store.download('huggingface://acme/tiny-llm')).rejects.toThrow(HostNotAllowedError);
  });

  it('answers an unknown repo with ArtifactNotFoundError', async () => {
    const { store } = await setup(files);
    await expect(store.download('huggingface://acme/no-such-model')).rejects.toThrow(ArtifactNotFoundError);
  });

  it.each([
    ['huggingface://acme/tiny@main', 'acme/tiny', 'main'],
    ['huggingface://acme/tiny', 'acme/tiny', 'main'],
    ['huggingface://acme/tiny@refs/pr/3', 'acme/tiny', 'refs/pr/3'],
    ['huggingface://meta-llama/Llama-3.1-8B@' + COMMIT, 'meta-llama/Llama-3.1-8B', COMMIT],
  ])('parses %s', (uri, repo, revision) => {
    expect(huggingFaceSource({ endpoint: 'https://huggingface.co' }).parse(uri).params).toEqual({ repo, revision });
  });

  it.each(['huggingface://tiny', 'huggingface://acme/../x', 'huggingface://acme/tiny@../main', 'huggingface://a/b/c'])(
    'refuses the malformed source %s',
    (uri) => {
      expect(() => huggingFaceSource({ endpoint: 'https://huggingface.co' }).parse(uri)).toThrow(InvalidArtifactSourceError);
    },
  );
});
