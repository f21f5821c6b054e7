import { lookup as dnsLookup } from 'node:dns/promises';
import { realpath } from 'node:fs/promises';
import { isIP, type LookupFunction } from 'node:net';
import { isAbsolute, relative, resolve } from 'node:path';
import { ForbiddenAddressError, HostNotAllowedError, LocalPathNotAllowedError, SchemeNotAllowedError } from '../errors';
import { forbiddenAddressReason, forbiddenHostReason, normalizeHost } from './address';

export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/** Resolves a host name to every address it has. Injected so tests (and exotic resolvers) decide. */
export type HostResolver = (hostname: string) => Promise<readonly ResolvedAddress[]>;

/** The system resolver (getaddrinfo), every address. */
export const systemResolver: HostResolver = async (hostname) =>
  (await dnsLookup(hostname, { all: true, verbatim: true })).map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));

/** Every scheme Brix can download from. */
export const SUPPORTED_SCHEMES = ['file', 'http', 'https', 's3', 'huggingface'] as const;
export type ArtifactScheme = (typeof SUPPORTED_SCHEMES)[number];

export interface SourcePolicyOptions {
  /** Schemes downloads may use (subset of {@link SUPPORTED_SCHEMES}). */
  allowedSchemes: readonly string[];
  /**
   * Hosts http(s) downloads, the Hugging Face endpoint and every redirect target may use. Entries:
   * `example.com` (exactly), `*.example.com` (any subdomain, not the apex), `*` (any host). Ports are
   * not part of the match.
   */
  allowedHosts: readonly string[];
  /** S3 buckets as globs (`weights`, `models-*`); `*` allows any bucket of the configured endpoint. */
  allowedBuckets: readonly string[];
  /** Absolute directories `file://` sources may read from; empty refuses every local source. */
  localRoots: readonly string[];
  resolver?: HostResolver;
}

function hostMatches(host: string, pattern: string): boolean {
  const p = normalizeHost(pattern);
  if (p === '*') return true;
  if (p.startsWith('*.')) return host.endsWith(p.slice(1)) && host.length > p.length - 1;
  return host === p;
}

/** Bucket patterns are globs: `*` matches any run of characters (`models-*`, `*`). */
function globMatches(name: string, pattern: string): boolean {
  const re = new RegExp(
    '^' +
      pattern
        .toLowerCase()
        .split('*')
        .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*') +
      '$',
  );
  return re.test(name);
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * Which sources a download may touch. Every check throws a named error; none logs. Link-local and
 * cloud-metadata addresses are refused whatever the allow-list says, both by literal and after DNS
 * resolution — and again at connect time through {@link SourcePolicy.lookup}, so a name that resolves
 * differently the second time (DNS rebinding) is caught too.
 */
export class SourcePolicy {
  private readonly resolver: HostResolver;

  constructor(private readonly options: SourcePolicyOptions) {
    this.resolver = options.resolver ?? systemResolver;
    for (const s of options.allowedSchemes)
      if (!(SUPPORTED_SCHEMES as readonly string[]).includes(s))
        throw new RangeError(`unsupported artifact scheme "${s}" in the allow-list (supported: ${SUPPORTED_SCHEMES.join(', ')})`);
    for (const r of options.localRoots) if (!isAbsolute(r)) throw new RangeError(`local artifact root "${r}" is not absolute`);
  }

  checkScheme(scheme: string): void {
    if (!this.options.allowedSchemes.includes(scheme)) throw new SchemeNotAllowedError(scheme, this.options.allowedSchemes);
  }

  /** Checks a host against the forbidden names and literals, then the allow-list. Synchronous: no DNS. */
  checkHost(host: string): void {
    const h = normalizeHost(host);
    const forbidden = forbiddenHostReason(h);
    if (forbidden) throw new ForbiddenAddressError(h, undefined, forbidden);
    if (!this.options.allowedHosts.some((p) => hostMatches(h, p))) throw new HostNotAllowedError(h);
  }

  checkBucket(bucket: string): void {
    if (!this.options.allowedBuckets.some((p) => globMatches(bucket.toLowerCase(), p)))
      throw new HostNotAllowedError(bucket, 'bucket');
  }

  /** Resolves `host` and refuses it when any of its addresses is forbidden. Returns the addresses. */
  async checkResolution(host: string): Promise<readonly ResolvedAddress[]> {
    const h = normalizeHost(host);
    if (isIP(h)) {
      const reason = forbiddenAddressReason(h);
      if (reason) throw new ForbiddenAddressError(h, h, reason);
      return [{ address: h, family: isIP(h) === 6 ? 6 : 4 }];
    }
    const forbiddenName = forbiddenHostReason(h);
    if (forbiddenName) throw new ForbiddenAddressError(h, undefined, forbiddenName);
    const addresses = await this.resolver(h);
    for (const a of addresses) {
      const reason = forbiddenAddressReason(a.address);
      if (reason) throw new ForbiddenAddressError(h, a.address, reason);
    }
    return addresses;
  }

  /** Scheme, host allow-list and resolution of an http(s) URL (a source, an API call or a redirect target). */
  async checkUrl(url: URL): Promise<void> {
    const scheme = url.protocol.replace(/:$/, '');
    if (scheme !== 'http' && scheme !== 'https') throw new SchemeNotAllowedError(scheme, ['http', 'https']);
    this.checkHost(url.hostname);
    await this.checkResolution(url.hostname);
  }

  /**
   * Resolves a local path through symlinks and checks it lies inside a local root. Returns the real path.
   * A path that does not exist is reported as not allowed only when its parent is outside the roots;
   * otherwise the caller's own stat reports it missing.
   */
  async checkLocalPath(path: string): Promise<string> {
    if (!isAbsolute(path)) throw new LocalPathNotAllowedError(path);
    let real: string;
    try {
      real = await realpath(path);
    } catch {
      real = resolve(path);
    }
    for (const root of this.options.localRoots) {
      const realRoot = await realpath(root).catch(() => resolve(root));
      if (inside(realRoot, real)) return real;
    }
    throw new LocalPathNotAllowedError(path);
  }

  /**
   * A `net` lookup function for HTTP agents: resolves with the injected resolver and fails the
   * connection with {@link ForbiddenAddressError} when any address is forbidden.
   */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    this.checkResolution(hostname).then(
      (addresses) => {
        const wanted =
          options.family === 4 || options.family === 6 ? addresses.filter((a) => a.family === options.family) : addresses;
        const list = wanted.length > 0 ? wanted : addresses;
        if (list.length === 0) {
          callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '', 4);
          return;
        }
        if (options.all) (callback as unknown as (e: null, a: ResolvedAddress[]) => void)(null, [...list]);
        else callback(null, list[0]!.address, list[0]!.family);
      },
      (err: Error) => callback(err as NodeJS.ErrnoException, '', 4),
    );
  };
}
