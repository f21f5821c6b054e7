import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ForbiddenAddressError, HostNotAllowedError, LocalPathNotAllowedError, SchemeNotAllowedError } from '../errors';
import { forbiddenAddressReason, forbiddenHostReason, parseIPv6 } from './address';
import { type HostResolver, SourcePolicy } from './policy';

const policy = (overrides: Partial<ConstructorParameters<typeof SourcePolicy>[0]> = {}) =>
  new SourcePolicy({
    allowedSchemes: ['file', 'http', 'https', 's3', 'huggingface'],
    allowedHosts: ['huggingface.co', '*.hf.co', 'models.example.com', '127.0.0.1'],
    allowedBuckets: ['models-*', 'weights'],
    localRoots: [],
    ...overrides,
  });

describe('forbidden addresses', () => {
  it.each([
    ['169.254.169.254', true], // AWS, GCP, Azure, OCI metadata
    ['169.254.0.1', true], // anywhere in the link-local /16
    ['100.100.100.200', true], // Alibaba Cloud metadata
    ['100.100.100.201', false], // its neighbour is an ordinary (CGNAT) address
    ['127.0.0.1', false], // loopback is allowed: the allow-list decides
    ['10.0.0.7', false], // private ranges too (on-premises stores)
    ['fe80::1', true], // IPv6 link-local
    ['fe80::1%eth0', true], // with a zone id
    ['febf::1', true], // still inside fe80::/10
    ['fec0::1', false], // just outside it
    ['fd00:ec2::254', true], // AWS IMDS over IPv6
    ['fd00:ec2::255', false],
    ['::ffff:169.254.169.254', true], // IPv4-mapped
    ['::ffff:a9fe:a9fe', true], // the same, in hex groups
    ['64:ff9b::169.254.169.254', true], // NAT64
    ['::169.254.169.254', true], // IPv4-compatible
    ['::1', false], // IPv6 loopback
    ['2001:db8::1', false],
  ])('%s is forbidden: %s', (address, forbidden) => {
    expect(forbiddenAddressReason(address) !== undefined).toBe(forbidden);
  });

  it.each([
    ['metadata.google.internal', true],
    ['METADATA.google.internal.', true], // case and a trailing dot do not help
    ['metadata', true],
    ['instance-data.ec2.internal', true],
    ['[fd00:ec2::254]', true],
    ['huggingface.co', false],
  ])('host %s is forbidden: %s', (host, forbidden) => {
    expect(forbiddenHostReason(host) !== undefined).toBe(forbidden);
  });

  it('parses IPv6 with an embedded IPv4 address', () => {
    expect(Buffer.from(parseIPv6('::ffff:1.2.3.4')!).toString('hex')).toBe('00000000000000000000ffff01020304');
    expect(parseIPv6('not-an-ip')).toBeUndefined();
  });

  it.each([
    ['http://169.254.169.254/latest/meta-data/', '169.254.169.254'],
    ['http://2852039166/', '169.254.169.254'], // decimal IPv4: the URL parser normalises it
    ['http://0xa9.0xfe.0xa9.0xfe/', '169.254.169.254'], // hex octets
    ['http://0251.0376.0251.0376/', '169.254.169.254'], // octal octets
    ['http://[::ffff:169.254.169.254]/', '[::ffff:a9fe:a9fe]'],
    ['http://metadata.google.internal/computeMetadata/v1/', 'metadata.google.internal'],
  ])('refuses %s before any request, whatever the allow-list', async (url, host) => {
    const p = policy({ allowedHosts: ['*'] });
    expect(new URL(url).hostname).toBe(host);
    await expect(p.checkUrl(new URL(url))).rejects.toThrow(ForbiddenAddressError);
  });
});

describe('SourcePolicy', () => {
  it.each([
    ['huggingface.co', true],
    ['HuggingFace.co', true],
    ['cdn-lfs.hf.co', true], // *.hf.co covers subdomains
    ['hf.co', false], // …but not the apex
    ['evilhuggingface.co', false],
    ['huggingface.co.evil.com', false],
    ['models.example.com', true],
  ])('host %s is allowed: %s', (host, allowed) => {
    const check = () => policy().checkHost(host);
    if (allowed) expect(check).not.toThrow();
    else expect(check).toThrow(HostNotAllowedError);
  });

  it.each([
    ['models-llama', true],
    ['weights', true],
    ['weights-2', false],
    ['secrets', false],
  ])('bucket %s is allowed: %s', (bucket, allowed) => {
    const check = () => policy().checkBucket(bucket);
    if (allowed) expect(check).not.toThrow();
    else expect(check).toThrow(HostNotAllowedError);
  });

  it('refuses a scheme left out of the allow-list with the list in the message', () => {
    expect(() => policy({ allowedSchemes: ['https'] }).checkScheme('http')).toThrow(new SchemeNotAllowedError('http', ['https']));
  });

  it('refuses an allow-list naming an unsupported scheme at construction', () => {
    expect(() => policy({ allowedSchemes: ['ftp'] })).toThrow(/unsupported artifact scheme "ftp"/);
  });

  it('refuses a host whose DNS answer includes a metadata address', async () => {
    const resolver: HostResolver = async () => [
      { address: '93.184.216.34', family: 4 },
      { address: '169.254.169.254', family: 4 },
    ];
    const err = await policy({ resolver })
      .checkResolution('models.example.com')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ForbiddenAddressError);
    expect((err as Error).message).toBe(
      'Artifact host "models.example.com" resolves to 169.254.169.254, a link-local address (cloud metadata services live at 169.254.169.254); refused.',
    );
  });

  it('fails a connection through its lookup when the name resolves to a forbidden address', async () => {
    const resolver: HostResolver = async () => [{ address: 'fd00:ec2::254', family: 6 }];
    const p = policy({ resolver });
    const err = await new Promise((resolve) => p.lookup('models.example.com', {}, (e) => resolve(e)));
    expect(err).toBeInstanceOf(ForbiddenAddressError);
  });

  it('answers lookups in both the single and the all-addresses form', async () => {
    const resolver: HostResolver = async () => [
      { address: '10.0.0.1', family: 4 },
      { address: '2001:db8::1', family: 6 },
    ];
    const p = policy({ resolver });
    const single = await new Promise((resolve) =>
      p.lookup('h', { family: 6 }, (_e, address, family) => resolve([address, family])),
    );
    expect(single).toEqual(['2001:db8::1', 6]);
    const all = await new Promise((resolve) => p.lookup('h', { all: true }, (_e, list) => resolve(list)));
    expect(all).toEqual([
      { address: '10.0.0.1', family: 4 },
      { address: '2001:db8::1', family: 6 },
    ]);
  });

  describe('local roots', () => {
    const root = mkdtempSync(join(tmpdir(), 'brix-roots-'));
    const allowed = join(root, 'models');
    const outside = join(root, 'secrets');
    mkdirSync(allowed);
    mkdirSync(outside);
    writeFileSync(join(outside, 'key'), 'secret');
    symlinkSync(join(outside, 'key'), join(allowed, 'link-out'));
    const p = policy({ localRoots: [allowed] });

    it.each([
      ['a path inside the root', join(allowed, 'llama'), true],
      ['the root itself', allowed, true],
      ['a path outside', join(outside, 'key'), false],
      ['a path that climbs out with ..', join(allowed, '..', 'secrets', 'key'), false],
      ['a symlink inside that points outside', join(allowed, 'link-out'), false],
      ['a relative path', 'models/llama', false],
    ])('%s is allowed: %s', async (_case, path, ok) => {
      const result = p.checkLocalPath(path);
      if (ok) await expect(result).resolves.toBeDefined();
      else await expect(result).rejects.toThrow(LocalPathNotAllowedError);
    });

    it('refuses every local path when no root is configured', async () => {
      await expect(policy().checkLocalPath(join(allowed, 'llama'))).rejects.toThrow(LocalPathNotAllowedError);
    });
  });
});
