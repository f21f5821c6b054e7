import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PathEscapeError } from './errors';
import { openForWrite, prepareInside, safeRelativePath } from './paths';

describe('safeRelativePath', () => {
  it.each([
    ['config.json', 'config.json'],
    ['model/part-00001.safetensors', 'model/part-00001.safetensors'],
    ['..hidden/x', '..hidden/x'], // dots inside a name are fine; only a whole ".." segment climbs
  ])('accepts %s', (path, want) => {
    expect(safeRelativePath(path)).toBe(want);
  });

  it.each([
    ['', 'it is empty'],
    ['../etc/passwd', 'it has a ".." segment'],
    ['a/../../b', 'it has a ".." segment'],
    ['/etc/passwd', 'it is absolute'],
    ['C:/Windows/system32', 'it is absolute'],
    ['a\\..\\b', 'it contains a backslash'],
    ['a//b', 'it has an empty or "." segment'],
    ['./a', 'it has an empty or "." segment'],
    ['a/', 'it has an empty or "." segment'],
    ['a\u0000b', 'it contains control characters'],
  ])('refuses %j (%s)', (path, reason) => {
    expect(() => safeRelativePath(path)).toThrow(PathEscapeError);
    expect(() => safeRelativePath(path)).toThrow(reason);
  });
});

describe('prepareInside and openForWrite', () => {
  const root = mkdtempSync(join(tmpdir(), 'brix-paths-'));
  const cache = join(root, 'cache');
  const outside = join(root, 'outside');
  mkdirSync(cache);
  mkdirSync(outside);

  it('creates parent directories inside the root', async () => {
    const target = await prepareInside(cache, 'a/b/c.bin');
    expect(target).toBe(join(cache, 'a', 'b', 'c.bin'));
  });

  it('refuses a path whose directory is a symlink leading out of the root', async () => {
    symlinkSync(outside, join(cache, 'sneaky'));
    await expect(prepareInside(cache, 'sneaky/x.bin')).rejects.toThrow(PathEscapeError);
    await expect(prepareInside(cache, 'sneaky/x.bin')).rejects.toThrow('a directory on its way is a symlink leading out');
  });

  it('refuses to write through a symlink planted at the file itself', async () => {
    writeFileSync(join(outside, 'victim'), 'untouched');
    symlinkSync(join(outside, 'victim'), join(cache, 'planted.bin'));
    const target = await prepareInside(cache, 'planted.bin');
    await expect(openForWrite(target, 'planted.bin')).rejects.toThrow('the file is a symlink');
    expect(readFileSync(join(outside, 'victim'), 'utf8')).toBe('untouched');
  });
});
