import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArtifactNotFoundError, InvalidArtifactSourceError, LocalPathNotAllowedError, PathEscapeError } from '../../errors';
import { SUPPORTED_SCHEMES } from '../../policy/policy';
import { createArtifactStore } from '../../store';
import { bytes } from '../../testing/servers';
import { fileSource } from './file';

describe('file source', () => {
  const root = mkdtempSync(join(tmpdir(), 'brix-file-src-'));
  const models = join(root, 'models');
  const adapter = join(models, 'sql-lora');
  mkdirSync(join(adapter, 'nested'), { recursive: true });
  writeFileSync(join(adapter, 'adapter_config.json'), '{"r":16}');
  writeFileSync(join(adapter, 'nested', 'weights.bin'), bytes(300 * 1024));
  mkdirSync(join(root, 'private'));
  writeFileSync(join(root, 'private', 'token'), 'hf_secret');

  const store = () =>
    createArtifactStore({
      cacheDir: mkdtempSync(join(tmpdir(), 'brix-file-cache-')),
      policy: { allowedSchemes: [...SUPPORTED_SCHEMES], allowedHosts: [], allowedBuckets: [], localRoots: [models] },
      transfer: { chunkBytes: 64 * 1024, parallelThresholdBytes: 128 * 1024 },
    });

  it.each([
    ['a file URL', `file://${adapter}`],
    ['a bare absolute path', adapter],
    ['a path with a trailing slash', `${adapter}/`],
  ])('copies a directory given as %s', async (_case, source) => {
    const s = store();
    const info = await s.download(source);
    expect(info).toMatchObject({ status: 'complete', files: 2, bytesTotal: 300 * 1024 + 8, source: `file://${adapter}` });
    expect(readFileSync(join(info.path, 'adapter_config.json'), 'utf8')).toBe('{"r":16}');
    expect(readFileSync(join(info.path, 'nested', 'weights.bin')).equals(bytes(300 * 1024))).toBe(true);
    await s.close();
  });

  it('copies a single file into a directory of its own', async () => {
    const s = store();
    const info = await s.download(join(adapter, 'adapter_config.json'));
    expect(readFileSync(join(info.path, 'adapter_config.json'), 'utf8')).toBe('{"r":16}');
    await s.close();
  });

  it('refuses a path outside the local roots', async () => {
    const s = store();
    await expect(s.start(join(root, 'private', 'token'))).rejects.toThrow(LocalPathNotAllowedError);
    await s.close();
  });

  it('refuses a directory holding a symlink that leads out of the local roots', async () => {
    const sneaky = join(models, 'sneaky');
    mkdirSync(sneaky);
    writeFileSync(join(sneaky, 'config.json'), '{}');
    symlinkSync(join(root, 'private', 'token'), join(sneaky, 'stolen'));
    const s = store();
    const err = await s.download(sneaky).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PathEscapeError);
    expect((err as Error).message).toContain('"stolen"');
    await s.close();
  });

  it('reports a missing path as not found', async () => {
    const s = store();
    await expect(s.download(join(models, 'nope'))).rejects.toThrow(ArtifactNotFoundError);
    await s.close();
  });

  it.each([
    ['file://host/path', 'file URLs name no host'],
    ['relative/path', 'expected a URI'],
  ])('refuses the malformed source %s', (source, reason) => {
    const s = store();
    expect(() => s.parse(source)).toThrow(InvalidArtifactSourceError);
    expect(() => s.parse(source)).toThrow(reason);
  });

  it('canonicalises equivalent spellings to one URI', () => {
    expect(fileSource.parse(`${adapter}//`).uri).toBe(`file://${adapter}`);
    expect(fileSource.parse(`file://${adapter}/./`).uri).toBe(`file://${adapter}`);
  });
});
