import { constants } from 'node:fs';
import { type FileHandle, mkdir, open, realpath } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { PathEscapeError } from './errors';

/**
 * Validates a file path taken from a source (a hub listing, an S3 key, a local tree) as a relative
 * POSIX path that stays inside the artifact directory, and returns it normalised. Refuses: empty
 * paths, absolute paths (`/x`, `C:\x`, `\\server`), `.` and `..` segments, empty segments, backslashes
 * and control characters.
 */
export function safeRelativePath(path: string): string {
  if (path.length === 0) throw new PathEscapeError(path, 'it is empty');
  if (path.length > 4096) throw new PathEscapeError(path.slice(0, 64) + '…', 'it is longer than 4096 characters');
  if (/[\u0000-\u001f\u007f]/.test(path)) throw new PathEscapeError(path, 'it contains control characters');
  if (path.includes('\\')) throw new PathEscapeError(path, 'it contains a backslash');
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) throw new PathEscapeError(path, 'it is absolute');
  const segments = path.split('/');
  for (const s of segments) {
    if (s === '..') throw new PathEscapeError(path, 'it has a ".." segment');
    if (s === '.' || s === '') throw new PathEscapeError(path, 'it has an empty or "." segment');
  }
  return segments.join('/');
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && !rel.startsWith('..' + sep) && rel !== '..' && !isAbsolute(rel);
}

/**
 * Joins `root` and a relative path checked by {@link safeRelativePath}, creates the parent directories,
 * and checks that the parent's real path (through any symlink) is still inside `root`'s real path.
 */
export async function prepareInside(root: string, relativePath: string): Promise<string> {
  const rel = safeRelativePath(relativePath);
  const target = join(root, ...rel.split('/'));
  if (!isInside(root, target)) throw new PathEscapeError(relativePath, 'it resolves outside the directory');
  const parent = dirname(target);
  await mkdir(parent, { recursive: true });
  const [realRoot, realParent] = await Promise.all([realpath(root), realpath(parent)]);
  if (realParent !== realRoot && !isInside(realRoot, realParent))
    throw new PathEscapeError(relativePath, 'a directory on its way is a symlink leading out');
  return target;
}

/**
 * Opens a file for writing at arbitrary positions without following a symlink in its last component
 * (O_NOFOLLOW), so a planted link cannot redirect writes out of the cache. Creates it when missing.
 */
export async function openForWrite(path: string, displayPath: string): Promise<FileHandle> {
  try {
    return await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW, 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw new PathEscapeError(displayPath, 'the file is a symlink');
    throw err;
  }
}
