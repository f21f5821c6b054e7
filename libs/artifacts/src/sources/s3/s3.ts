import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { type Readable } from 'node:stream';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  S3ServiceException,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { base64ToHex, type Checksum } from '../../checksum';
import { type CredentialProvider } from '../../credentials';
import { ArtifactNotFoundError, DownloadFailedError, ForbiddenAddressError, InvalidArtifactSourceError } from '../../errors';
import { type SourcePolicy } from '../../policy/policy';
import { type ArtifactSourcePlugin, type ParsedSource, type RemoteFile, type SourceContext } from '../types';

export interface S3Options {
  /** Endpoint URL for S3-compatible stores (MinIO, a test server); absent: AWS for `region`. */
  endpoint?: string;
  region: string;
  /** Path-style addressing (`endpoint/bucket/key`), needed by most S3-compatible stores. */
  forcePathStyle?: boolean;
}

/** Bucket names per the S3 rules (3–63 of lowercase letters, digits, `.` and `-`). */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** An S3 single-part ETag is the object's MD5; multipart ones carry a `-N` suffix and are not. */
function etagChecksum(etag: string | undefined): Checksum[] {
  const m = /^"?([0-9a-fA-F]{32})"?$/.exec(etag ?? '');
  return m ? [{ algorithm: 'md5', value: m[1]!.toLowerCase(), origin: 's3 etag' }] : [];
}

function sha256Checksum(value: string | undefined): Checksum[] {
  return value && !value.includes('-') ? [{ algorithm: 'sha256', value: base64ToHex(value), origin: 's3 checksum-sha256' }] : [];
}

function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

function failure(err: unknown, what: string): Error {
  for (let e = err, i = 0; e && i < 5; e = (e as { cause?: unknown }).cause, i++)
    if (e instanceof ForbiddenAddressError) return e;
  const status = statusOf(err);
  if (status === 404) return new ArtifactNotFoundError(what);
  if (status === 412)
    return new DownloadFailedError(`${what} changed at the source during the download; request it again`, false, { status });
  const retryable = status === undefined || status === 429 || status >= 500;
  const name = err instanceof S3ServiceException ? err.name : (err as Error).message;
  return new DownloadFailedError(`S3 request for ${what} failed${status ? ` (HTTP ${status})` : ''}: ${name}`, retryable, {
    cause: err,
    ...(status ? { status } : {}),
  });
}

/**
 * S3 objects and prefixes: `s3://bucket/key` (one object) or `s3://bucket/prefix/` (every object under
 * it, paths relative to the prefix). A key without a trailing slash that names no object is read as a
 * prefix. Buckets are checked against the bucket allow-list; connections to the endpoint go through the
 * policy's lookup (no metadata addresses).
 *
 * Credentials come only from the injected provider; without them requests are unsigned. The SDK's
 * default credential chain is never used, because its last resort is the instance metadata service.
 * Checksums: `ChecksumSHA256` when the object has one, else a single-part ETag (the MD5).
 */
export function s3Source(
  options: S3Options,
  policy: SourcePolicy,
  credentials: CredentialProvider,
): ArtifactSourcePlugin & { close(): void } {
  let client: S3Client | undefined;
  let anonymous: boolean | undefined;

  async function getClient(): Promise<S3Client> {
    const creds = (await credentials()).s3;
    if (client && anonymous === !creds) return client;
    client?.destroy();
    anonymous = !creds;
    if (options.endpoint) {
      const endpoint = new URL(options.endpoint);
      await policy.checkResolution(endpoint.hostname);
    }
    const agentOptions = { keepAlive: true, lookup: policy.lookup };
    const config: S3ClientConfig = {
      region: options.region,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      forcePathStyle: options.forcePathStyle ?? false,
      // Explicit, so the SDK does not look for them in the environment or config files.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 1, // the store retries and resumes itself
      requestHandler: { httpAgent: new HttpAgent(agentOptions), httpsAgent: new HttpsAgent(agentOptions) },
      credentials: creds
        ? async () => {
            const c = (await credentials()).s3 ?? creds;
            return {
              accessKeyId: c.accessKeyId.reveal(),
              secretAccessKey: c.secretAccessKey.reveal(),
              ...(c.sessionToken ? { sessionToken: c.sessionToken.reveal() } : {}),
              // Re-read the provider every few minutes so rotated secret files are picked up.
              expiration: new Date(Date.now() + 5 * 60_000),
            };
          }
        : { accessKeyId: '', secretAccessKey: '' },
      ...(creds ? {} : { signer: { sign: async (request: unknown) => request } as S3ClientConfig['signer'] }),
    };
    client = new S3Client(config);
    return client;
  }

  async function send<T>(
    what: string,
    context: SourceContext,
    call: (c: S3Client, o: { abortSignal?: AbortSignal }) => Promise<T>,
  ): Promise<T> {
    const c = await getClient();
    try {
      return await call(c, { abortSignal: context.signal });
    } catch (err) {
      throw failure(err, what);
    }
  }

  return {
    id: 's3',
    schemes: ['s3'],

    parse(uri: string): ParsedSource {
      const m = /^s3:\/\/([^/?#]+)\/?([^?#]*)$/.exec(uri);
      if (!m) throw new InvalidArtifactSourceError(uri, 'expected s3://bucket/key-or-prefix');
      const bucket = m[1]!;
      if (bucket.includes('@'))
        throw new InvalidArtifactSourceError(uri, 'credentials in the URL are refused; use the credential settings');
      if (!BUCKET.test(bucket)) throw new InvalidArtifactSourceError(uri, `"${bucket}" is not a bucket name`);
      const key = m[2]!;
      return { uri: `s3://${bucket}/${key}`, scheme: 's3', plugin: 's3', params: { bucket, key } };
    },

    async authorize(source, { policy: p }) {
      p.checkScheme('s3');
      p.checkBucket(source.params['bucket']!);
      if (options.endpoint) await p.checkResolution(new URL(options.endpoint).hostname);
    },

    async list(source, context) {
      const { bucket, key } = source.params as { bucket: string; key: string };
      if (key && !key.endsWith('/')) {
        try {
          const head = await send(source.uri, context, (c, o) => c.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), o));
          const name = key.split('/').at(-1)!;
          return {
            files: [
              {
                path: name,
                ...(head.ContentLength !== undefined ? { size: head.ContentLength } : {}),
                checksums: [...sha256Checksum(head.ChecksumSHA256), ...etagChecksum(head.ETag)],
                ...(head.ETag ? { validator: head.ETag } : {}),
                ref: key,
              },
            ],
          };
        } catch (err) {
          if (!(err instanceof ArtifactNotFoundError)) throw err;
        }
      }
      const prefix = key === '' || key.endsWith('/') ? key : `${key}/`;
      const files: RemoteFile[] = [];
      let token: string | undefined;
      do {
        const page = await send(source.uri, context, (c, o) =>
          c.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }), o),
        );
        for (const o of page.Contents ?? []) {
          if (!o.Key || o.Key.endsWith('/')) continue; // "folder" placeholder objects
          files.push({
            path: o.Key.slice(prefix.length),
            ...(o.Size !== undefined ? { size: o.Size } : {}),
            checksums: etagChecksum(o.ETag),
            ...(o.ETag ? { validator: o.ETag } : {}),
            ref: o.Key,
          });
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      if (files.length === 0) throw new ArtifactNotFoundError(source.uri, 'no object with that key or prefix');
      return { files };
    },

    async read(source, file, range, context) {
      const out = await send(`${source.uri} (${file.ref})`, context, (c, o) =>
        c.send(
          new GetObjectCommand({
            Bucket: source.params['bucket']!,
            Key: file.ref,
            ...(range ? { Range: `bytes=${range.start}-${range.end !== undefined ? range.end - 1 : ''}` } : {}),
            // The object must be the one listed; a changed object fails with 412 and the file restarts.
            ...(file.validator ? { IfMatch: file.validator } : {}),
          }),
          o,
        ),
      );
      const body = out.Body as unknown as Readable;
      const total = /\/(\d+)$/.exec(out.ContentRange ?? '')?.[1];
      return {
        body,
        partial: out.ContentRange !== undefined,
        size: total !== undefined ? Number(total) : out.ContentLength,
        acceptsRanges: true,
        ...(out.ETag ? { validator: out.ETag } : {}),
        checksums: [...sha256Checksum(out.ChecksumSHA256), ...etagChecksum(out.ETag)],
        bodyChecksums: [],
        cancel: () => body.destroy(),
      };
    },

    close() {
      client?.destroy();
      client = undefined;
    },
  };
}
