import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { credentialsFrom } from '../../credentials';
import {
  ArtifactNotFoundError,
  ChecksumMismatchError,
  ForbiddenAddressError,
  HostNotAllowedError,
  InvalidArtifactSourceError,
} from '../../errors';
import { SUPPORTED_SCHEMES } from '../../policy/policy';
import { createArtifactStore, type CreateArtifactStoreOptions } from '../../store';
import { bytes } from '../../testing/servers';

const KiB = 1024;

describe('s3 source (against a local s3rver)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'brix-s3rver-'));
  let server: S3rver;
  let endpoint: string;
  const weights = bytes(600 * KiB, 4);
  const objects: Record<string, Buffer> = {
    'llama/config.json': Buffer.from('{"layers":32}'),
    'llama/shards/model-00001.safetensors': weights,
    'llama/shards/model-00002.safetensors': bytes(10 * KiB, 5),
    'adapters/sql-lora/adapter_model.safetensors': bytes(20 * KiB, 6),
    'tampered.bin': bytes(8 * KiB, 7),
  };

  beforeAll(async () => {
    server = new S3rver({
      address: '127.0.0.1',
      port: 0,
      silent: true,
      directory: dir,
      configureBuckets: [{ name: 'models' }, { name: 'secrets' }],
    });
    const addr = await server.run();
    endpoint = `http://127.0.0.1:${addr.port}`;
    const client = new S3Client({
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    for (const [key, body] of Object.entries(objects))
      await client.send(new PutObjectCommand({ Bucket: 'models', Key: key, Body: body }));
    client.destroy();
    // Change the stored bytes behind s3rver's back: its ETag (the MD5 of the upload) no longer matches.
    writeFileSync(join(dir, 'models', 'tampered.bin._S3rver_object'), bytes(8 * KiB, 8));
  });
  afterAll(() => server.close());

  const stores: Array<ReturnType<typeof createArtifactStore>> = [];
  afterEach(() => Promise.all(stores.splice(0).map((s) => s.close())));
  const store = (overrides: Partial<CreateArtifactStoreOptions> = {}) => {
    const s = createArtifactStore({
      cacheDir: mkdtempSync(join(tmpdir(), 'brix-s3-cache-')),
      policy: { allowedSchemes: [...SUPPORTED_SCHEMES], allowedHosts: [], allowedBuckets: ['models'], localRoots: [] },
      s3: { endpoint, region: 'us-east-1', forcePathStyle: true },
      credentials: credentialsFrom({ env: { awsAccessKeyId: 'S3RVER', awsSecretAccessKey: 'S3RVER' } }),
      transfer: { chunkBytes: 128 * KiB, parallelThresholdBytes: 256 * KiB, retryDelayMs: 1 },
      ...overrides,
    });
    stores.push(s);
    return s;
  };

  it('downloads a prefix with its nested keys, in parallel ranges for the large shard, verified by ETag', async () => {
    const info = await store().download('s3://models/llama/');
    expect(info).toMatchObject({ status: 'complete', files: 3, filesVerified: 3 });
    expect(readFileSync(join(info.path, 'config.json'), 'utf8')).toBe('{"layers":32}');
    expect(readFileSync(join(info.path, 'shards', 'model-00001.safetensors')).equals(weights)).toBe(true);
  });

  it('reads a key without a trailing slash as a prefix when no object has that key', async () => {
    const info = await store().download('s3://models/adapters/sql-lora');
    expect(info.files).toBe(1);
    expect(
      readFileSync(join(info.path, 'adapter_model.safetensors')).equals(objects['adapters/sql-lora/adapter_model.safetensors']!),
    ).toBe(true);
  });

  it('downloads a single object by its key', async () => {
    const info = await store().download('s3://models/llama/config.json');
    expect(readFileSync(join(info.path, 'config.json'), 'utf8')).toBe('{"layers":32}');
  });

  it('works without credentials, with unsigned requests', async () => {
    const info = await store({ credentials: credentialsFrom({}) }).download('s3://models/llama/config.json');
    expect(info.status).toBe('complete');
  });

  it('detects an object whose bytes do not match its ETag', async () => {
    await expect(store().download('s3://models/tampered.bin')).rejects.toThrow(ChecksumMismatchError);
  });

  it.each([
    ['a bucket off the allow-list', 's3://secrets/key', HostNotAllowedError],
    ['a malformed bucket name', 's3://Bad_Bucket/key', InvalidArtifactSourceError],
    ['credentials in the URI', 's3://AKID:secret@models/key', InvalidArtifactSourceError],
  ])('refuses %s', async (_case, source, error) => {
    const err = await store()
      .start(source)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(error);
    expect((err as Error).message).not.toContain('secret@');
  });

  it('answers a missing key and prefix with ArtifactNotFoundError', async () => {
    await expect(store().download('s3://models/nothing/here')).rejects.toThrow(ArtifactNotFoundError);
  });

  it('refuses an endpoint at a metadata address', async () => {
    const s = store({ s3: { endpoint: 'http://169.254.169.254', region: 'us-east-1', forcePathStyle: true } });
    await expect(s.start('s3://models/llama/')).rejects.toThrow(ForbiddenAddressError);
  });
});
