import { type Checksum } from '../../checksum';
import { ArtifactNotFoundError, DownloadFailedError, InvalidArtifactSourceError } from '../../errors';
import { retryableStatus } from '../../http-client';
import { httpRead } from '../http/http';
import { type ArtifactSourcePlugin, type ParsedSource, type RemoteFile, type SourceContext } from '../types';

/** Repository ids are `namespace/name` of letters, digits, `-`, `_` and `.` (never `..`). */
const REPO = /^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** Branches, tags, `refs/pr/N` and commit hashes. */
const REVISION = /^[A-Za-z0-9][A-Za-z0-9._/-]*$/;

interface TreeEntry {
  type?: string;
  path?: string;
  size?: number;
  oid?: string;
  lfs?: { oid?: string; sha256?: string; size?: number };
}

export interface HuggingFaceOptions {
  /** Hub base URL (default https://huggingface.co); a mirror or a test stand-in otherwise. */
  endpoint: string;
}

async function authHeaders(context: SourceContext): Promise<Record<string, string>> {
  const token = (await context.credentials()).huggingFaceToken;
  return token ? { authorization: `Bearer ${token.reveal()}` } : {};
}

async function getJson(url: URL, context: SourceContext, what: string): Promise<{ json: unknown; next?: URL }> {
  const res = await context.http.request(url, {
    headers: { accept: 'application/json' },
    sameHostHeaders: await authHeaders(context),
    signal: context.signal,
  });
  const text = await res.body.text();
  if (res.status === 404) throw new ArtifactNotFoundError(what, `the hub answered 404 for ${url.pathname}`);
  if (res.status === 401 || res.status === 403)
    throw new DownloadFailedError(
      `the hub refused access to ${what} (HTTP ${res.status}): a gated or private repo needs a token`,
      false,
      {
        status: res.status,
      },
    );
  if (res.status !== 200)
    throw new DownloadFailedError(`the hub answered HTTP ${res.status} for ${url.pathname}`, retryableStatus(res.status), {
      status: res.status,
    });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new DownloadFailedError(`the hub sent invalid JSON for ${url.pathname}`, true, { cause });
  }
  // Pagination of the tree API: Link: <url>; rel="next".
  const link = /<([^>]+)>\s*;\s*rel="?next"?/.exec(res.headers['link'] ?? '');
  return { json, ...(link ? { next: new URL(link[1]!, url) } : {}) };
}

const encodePath = (p: string) => p.split('/').map(encodeURIComponent).join('/');

/**
 * A Hugging Face Hub model repository: `huggingface://org/repo` or `huggingface://org/repo@revision`
 * (default revision `main`), read through the hub's HTTP API at a configurable endpoint:
 * 1. `GET /api/models/{repo}/revision/{rev}` pins the revision to a commit (`sha`);
 * 2. `GET /api/models/{repo}/tree/{sha}?recursive=true` lists files (following `Link: rel="next"`);
 * 3. `GET /{repo}/resolve/{sha}/{path}` fetches each file, with ranges; redirects (to a CDN) are
 *    followed after checking the target host, and the token is not sent to another host.
 * Checksums: LFS files carry their sha256 in the tree (`lfs.oid`); files kept in git carry their git
 * blob id (`oid`, sha1 over `blob <size>\0` + content). Both are verified.
 */
export function huggingFaceSource(options: HuggingFaceOptions): ArtifactSourcePlugin {
  const endpoint = new URL(options.endpoint.replace(/\/+$/, '') + '/');
  const api = (path: string) => new URL(path, endpoint);

  return {
    id: 'huggingface',
    schemes: ['huggingface'],

    parse(uri: string): ParsedSource {
      const m = /^huggingface:\/\/([^@?#]+?)\/*(?:@([^?#]+))?$/.exec(uri);
      if (!m) throw new InvalidArtifactSourceError(uri, 'expected huggingface://namespace/name[@revision]');
      const repo = m[1]!;
      const revision = m[2] ?? 'main';
      if (!REPO.test(repo) || repo.includes('..')) throw new InvalidArtifactSourceError(uri, `"${repo}" is not a repository id`);
      if (!REVISION.test(revision) || revision.split('/').includes('..'))
        throw new InvalidArtifactSourceError(uri, `"${revision}" is not a revision`);
      return {
        uri: `huggingface://${repo}@${revision}`,
        scheme: 'huggingface',
        plugin: 'huggingface',
        params: { repo, revision },
      };
    },

    async authorize(_source, { policy }) {
      policy.checkScheme('huggingface');
      await policy.checkUrl(endpoint);
    },

    async list(source, context) {
      const { repo, revision } = source.params as { repo: string; revision: string };
      const info = await getJson(api(`api/models/${repo}/revision/${encodeURIComponent(revision)}`), context, source.uri);
      const sha = (info.json as { sha?: unknown }).sha;
      if (typeof sha !== 'string' || !/^[0-9a-f]{40}$/.test(sha))
        throw new DownloadFailedError(`the hub gave no commit for ${source.uri}`, false);
      const files: RemoteFile[] = [];
      let next: URL | undefined = api(`api/models/${repo}/tree/${sha}?recursive=true`);
      for (let page = 0; next; page++) {
        if (page > 1000) throw new DownloadFailedError(`the hub's file listing of ${source.uri} does not end`, false);
        const got: { json: unknown; next?: URL } = await getJson(next, context, source.uri);
        if (!Array.isArray(got.json))
          throw new DownloadFailedError(`the hub's file listing of ${source.uri} is not a list`, false);
        for (const e of got.json as TreeEntry[]) {
          if (e.type !== 'file' || typeof e.path !== 'string') continue;
          const checksums: Checksum[] = [];
          const lfsSha = e.lfs?.oid ?? e.lfs?.sha256;
          if (lfsSha) checksums.push({ algorithm: 'sha256', value: lfsSha, origin: 'hub lfs oid' });
          else if (e.oid) checksums.push({ algorithm: 'git-blob-sha1', value: e.oid, origin: 'hub git oid' });
          const size = e.lfs?.size ?? e.size;
          // The commit in every resolve URL pins the content; response ETags then guard the ranges.
          files.push({ path: e.path, ...(typeof size === 'number' ? { size } : {}), checksums, ref: `${sha}/${e.path}` });
        }
        next = got.next;
      }
      return { files, revision: sha };
    },

    async read(source, file, range, context) {
      const slash = file.ref.indexOf('/');
      const commit = file.ref.slice(0, slash);
      const path = file.ref.slice(slash + 1);
      const url = api(`${source.params['repo']}/resolve/${commit}/${encodePath(path)}`);
      // The commit pins the content, so no If-Range is needed.
      return httpRead(url, range, undefined, context, {
        sameHostHeaders: await authHeaders(context),
        what: `${source.uri}/${path}`,
      });
    },
  };
}
