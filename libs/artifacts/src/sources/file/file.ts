import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, isAbsolute, join, normalize, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArtifactNotFoundError, InvalidArtifactSourceError, PathEscapeError } from '../../errors';
import { type ArtifactSourcePlugin, type ParsedSource, type RemoteFile } from '../types';

const toPosix = (p: string) => p.split(sep).join('/');

async function walk(root: string, dir: string, out: string[], limit: number): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  for (const e of entries) {
    const full = join(dir, e.name);
    if (e.isDirectory()) await walk(root, full, out, limit);
    else if (e.isFile() || e.isSymbolicLink()) out.push(full);
    if (out.length > limit) return;
  }
}

/**
 * Local files and directories: `file:///models/llama` or the bare absolute path `/models/llama`.
 * Reads only inside the policy's local roots; a symlink whose target leaves them is refused.
 */
export const fileSource: ArtifactSourcePlugin = {
  id: 'file',
  schemes: ['file'],

  parse(uri: string): ParsedSource {
    let path: string;
    if (uri.startsWith('file:')) {
      try {
        const url = new URL(uri);
        if (url.host !== '' && url.host !== 'localhost') throw new InvalidArtifactSourceError(uri, 'file URLs name no host');
        path = fileURLToPath(url);
      } catch (err) {
        if (err instanceof InvalidArtifactSourceError) throw err;
        throw new InvalidArtifactSourceError(uri, (err as Error).message);
      }
    } else if (isAbsolute(uri)) path = uri;
    else throw new InvalidArtifactSourceError(uri, 'a local path must be absolute');
    const clean = normalize(path).replace(/(.)\/+$/, '$1');
    return { uri: `file://${clean}`, scheme: 'file', plugin: 'file', params: { path: clean } };
  },

  async authorize(source, { policy }) {
    policy.checkScheme('file');
    await policy.checkLocalPath(source.params['path']!);
  },

  async list(source, { policy }) {
    const path = await policy.checkLocalPath(source.params['path']!);
    const info = await stat(path).catch(() => undefined);
    if (!info) throw new ArtifactNotFoundError(source.uri, 'no such file or directory');
    const files: string[] = [];
    const limit = 100_000;
    if (info.isDirectory()) await walk(path, path, files, limit);
    else files.push(path);
    const out: RemoteFile[] = [];
    for (const f of files) {
      // Every file, symlinks resolved, must still be inside a local root.
      const real = await policy.checkLocalPath(f).catch(() => {
        throw new PathEscapeError(toPosix(relative(path, f)) || basename(f), 'a symlink points outside the allowed local roots');
      });
      const s = await stat(real);
      if (!s.isFile()) continue;
      const rel = info.isDirectory() ? toPosix(relative(path, f)) : basename(f);
      out.push({ path: rel, size: s.size, checksums: [], validator: `${s.size}-${s.mtimeMs}`, ref: real });
    }
    return { files: out };
  },

  async read(_source, file, range) {
    const s = await stat(file.ref);
    const start = range?.start ?? 0;
    const end = Math.min(range?.end ?? s.size, s.size);
    const stream = end > start ? createReadStream(file.ref, { start, end: end - 1, highWaterMark: 1 << 20 }) : undefined;
    return {
      body: stream ?? (async function* () {})(),
      partial: range !== undefined,
      size: s.size,
      acceptsRanges: true,
      validator: `${s.size}-${s.mtimeMs}`,
      checksums: [],
      bodyChecksums: [],
      cancel: () => stream?.destroy(),
    };
  },
};
