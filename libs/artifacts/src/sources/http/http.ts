import { base64ToHex, type Checksum } from '../../checksum';
import { ArtifactNotFoundError, DownloadFailedError, InvalidArtifactSourceError, redactSource } from '../../errors';
import { retryableStatus } from '../../http-client';
import { type ArtifactSourcePlugin, type ByteRange, type ParsedSource, type ReadResult, type SourceContext } from '../types';

/**
 * Digest headers, as data. `whole`: the digest describes the entire file even on a range response
 * (so it may be taken from any response); otherwise it describes only the body sent and is used only
 * from a full (200) response.
 */
const DIGEST_HEADERS: ReadonlyArray<{ header: string; whole: boolean; parse: (value: string) => Checksum[] }> = [
  {
    header: 'repr-digest', // RFC 9530: sha-256=:<base64>:, md5=:<base64>:
    whole: true,
    parse: (v) => structuredDigests(v, 'repr-digest header'),
  },
  { header: 'content-digest', whole: false, parse: (v) => structuredDigests(v, 'content-digest header') },
  {
    header: 'content-md5',
    whole: false,
    parse: (v) => [{ algorithm: 'md5', value: base64ToHex(v.trim()), origin: 'content-md5 header' }],
  },
  {
    header: 'x-amz-checksum-sha256',
    whole: true,
    parse: (v) => [{ algorithm: 'sha256', value: base64ToHex(v.trim()), origin: 'x-amz-checksum-sha256 header' }],
  },
  {
    header: 'x-goog-hash', // crc32c=<b64>,md5=<b64>
    whole: true,
    parse: (v) =>
      v
        .split(',')
        .map((p) => /^\s*md5=(.+?)\s*$/.exec(p)?.[1])
        .filter((x): x is string => !!x)
        .map((b64) => ({ algorithm: 'md5' as const, value: base64ToHex(b64), origin: 'x-goog-hash header' })),
  },
];

function structuredDigests(value: string, origin: string): Checksum[] {
  const out: Checksum[] = [];
  for (const m of value.matchAll(/(sha-256|md5)\s*=\s*:([A-Za-z0-9+/=]+):/gi)) {
    out.push({ algorithm: m[1]!.toLowerCase() === 'md5' ? 'md5' : 'sha256', value: base64ToHex(m[2]!), origin });
  }
  return out;
}

/** Splits digest headers into whole-file and body-only checksums. */
export function checksumsFromHeaders(headers: Readonly<Record<string, string>>): { whole: Checksum[]; body: Checksum[] } {
  const whole: Checksum[] = [];
  const body: Checksum[] = [];
  for (const d of DIGEST_HEADERS) {
    const v = headers[d.header];
    if (!v) continue;
    (d.whole ? whole : body).push(...d.parse(v));
  }
  return { whole, body };
}

/** Total size from `Content-Range: bytes a-b/size` or, on a full response, `Content-Length`. */
export function sizeFromHeaders(status: number, headers: Readonly<Record<string, string>>): number | undefined {
  const range = /\/(\d+)\s*$/.exec(headers['content-range'] ?? '');
  if (range) return Number(range[1]);
  if (status === 200 && headers['content-length'] !== undefined) return Number(headers['content-length']);
  return undefined;
}

/** A validator for If-Range / If-Match: a strong ETag only (weak ones cannot guard byte ranges). */
export function strongEtag(headers: Readonly<Record<string, string>>): string | undefined {
  const etag = headers['etag'];
  return etag && !etag.startsWith('W/') ? etag : undefined;
}

/**
 * Issues a GET (with an optional range and If-Range validator) through the guarded client and turns
 * the answer into a ReadResult; shared by the http and huggingface plugins.
 */
export async function httpRead(
  url: URL,
  range: ByteRange | undefined,
  validator: string | undefined,
  context: SourceContext,
  options: { sameHostHeaders?: Record<string, string>; what: string },
): Promise<ReadResult> {
  const headers: Record<string, string> = { 'accept-encoding': 'identity' };
  if (range) {
    headers['range'] = `bytes=${range.start}-${range.end !== undefined ? range.end - 1 : ''}`;
    // If the file changed, the server sends it whole (200) instead of a mismatched range.
    if (validator) headers['if-range'] = validator;
  }
  const res = await context.http.request(url, { headers, sameHostHeaders: options.sameHostHeaders, signal: context.signal });
  if (res.status !== 200 && res.status !== 206) {
    res.body.resume();
    if (res.status === 404 || res.status === 410)
      throw new ArtifactNotFoundError(options.what, `HTTP ${res.status} from ${res.url.host}`);
    if (res.status === 416) throw new DownloadFailedError(`range not satisfiable for ${options.what}`, true, { status: 416 });
    throw new DownloadFailedError(`HTTP ${res.status} from ${res.url.host} for ${options.what}`, retryableStatus(res.status), {
      status: res.status,
    });
  }
  const { whole, body } = checksumsFromHeaders(res.headers);
  return {
    body: res.body,
    partial: res.status === 206,
    size: sizeFromHeaders(res.status, res.headers),
    acceptsRanges: res.status === 206 || /\bbytes\b/i.test(res.headers['accept-ranges'] ?? ''),
    validator: strongEtag(res.headers),
    checksums: whole,
    bodyChecksums: res.status === 200 ? body : [],
    cancel: () => res.body.destroy(),
  };
}

/**
 * A single file over plain HTTP(S): `https://host/path/model.safetensors`. The artifact directory gets
 * one file named after the last path segment. Sizes come from a HEAD request when the server answers
 * one (enabling parallel ranged downloads); checksums from digest headers (see DIGEST_HEADERS). An
 * ETag is used only as a version guard for ranges, never as a checksum: outside S3 it is not an MD5.
 */
export const httpSource: ArtifactSourcePlugin = {
  id: 'http',
  schemes: ['http', 'https'],

  parse(uri: string): ParsedSource {
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      throw new InvalidArtifactSourceError(uri, 'not a URL');
    }
    if (url.username || url.password)
      throw new InvalidArtifactSourceError(uri, 'credentials in the URL are refused; use the credential settings');
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArtifactSourceError(uri, 'not an http(s) URL');
    url.hash = '';
    const segments = url.pathname.split('/').filter(Boolean);
    let name = segments.length > 0 ? decodeURIComponent(segments.at(-1)!) : '';
    if (!name || name === '.' || name === '..' || name.includes('/')) name = 'download';
    return { uri: url.href, scheme: url.protocol.slice(0, -1), plugin: 'http', params: { url: url.href, name } };
  },

  async authorize(source, { policy }) {
    policy.checkScheme(source.scheme);
    await policy.checkUrl(new URL(source.params['url']!));
  },

  async list(source, context) {
    const url = new URL(source.params['url']!);
    let size: number | undefined;
    let validator: string | undefined;
    let checksums: Checksum[] = [];
    try {
      const head = await context.http.request(url, { method: 'HEAD', signal: context.signal });
      head.body.resume();
      if (head.status === 404 || head.status === 410) throw new ArtifactNotFoundError(source.uri, `HTTP ${head.status}`);
      if (head.status === 200) {
        size = sizeFromHeaders(200, head.headers);
        validator = strongEtag(head.headers);
        checksums = checksumsFromHeaders(head.headers).whole;
      }
    } catch (err) {
      // Servers that refuse HEAD still serve GET; only a definite 404 or a policy refusal ends here.
      if (!(err instanceof DownloadFailedError)) throw err;
    }
    return {
      files: [
        {
          path: source.params['name']!,
          ...(size !== undefined && Number.isFinite(size) ? { size } : {}),
          checksums,
          ...(validator ? { validator } : {}),
          ref: url.href,
        },
      ],
    };
  },

  read(source, file, range, context) {
    return httpRead(new URL(file.ref), range, file.validator, context, { what: redactSource(source.uri) });
  },
};
