import { isIP } from 'node:net';

/**
 * Addresses a download must never reach: where clouds serve instance metadata and credentials.
 * Loopback and private ranges are allowed on purpose (on-premises model stores live there); the host
 * allow-list is what narrows downloads to trusted stores.
 */

/** Host names of metadata services (compared case-insensitively, without a trailing dot). */
export const FORBIDDEN_HOSTNAMES: readonly string[] = [
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
  'metadata.tencentyun.com',
];

interface Range4 {
  base: number;
  bits: number;
  reason: string;
}

const FORBIDDEN_V4: readonly Range4[] = [
  { base: ipv4ToInt('169.254.0.0'), bits: 16, reason: 'a link-local address (cloud metadata services live at 169.254.169.254)' },
  { base: ipv4ToInt('100.100.100.200'), bits: 32, reason: 'a cloud metadata address (Alibaba Cloud)' },
];

function ipv4ToInt(ip: string): number {
  const parts = ip.split('.').map(Number);
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

function v4Reason(ip: string): string | undefined {
  const n = ipv4ToInt(ip);
  for (const r of FORBIDDEN_V4) {
    const mask = r.bits === 0 ? 0 : (0xffffffff << (32 - r.bits)) >>> 0;
    if ((n & mask) >>> 0 === (r.base & mask) >>> 0) return r.reason;
  }
  return undefined;
}

/** Parses an IPv6 address (zone ids dropped, embedded IPv4 allowed) into 16 bytes; undefined when invalid. */
export function parseIPv6(text: string): Uint8Array | undefined {
  let s = text.replace(/^\[|\]$/g, '');
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  if (isIP(s) !== 6) return undefined;
  let tail: number[] = [];
  const lastColon = s.lastIndexOf(':');
  const last = s.slice(lastColon + 1);
  if (last.includes('.')) {
    const v4 = last.split('.').map(Number);
    tail = [(v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!];
    s = s.slice(0, lastColon + 1) + '0:0';
  }
  const [head, rest] = s.split('::') as [string, string | undefined];
  const headGroups = head ? head.split(':') : [];
  const restGroups = rest !== undefined && rest !== '' ? rest.split(':') : [];
  const missing = 8 - headGroups.length - restGroups.length;
  const groups = [...headGroups, ...(rest !== undefined ? Array(missing).fill('0') : []), ...restGroups].map((g) =>
    parseInt(g, 16),
  );
  if (tail.length) groups.splice(6, 2, ...tail);
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

const startsWith = (bytes: Uint8Array, prefix: readonly number[]) => prefix.every((b, i) => bytes[i] === b);

/**
 * Why `address` (an IP literal) is forbidden, or undefined when it is allowed. IPv6 forms that carry an
 * IPv4 address (mapped `::ffff:a.b.c.d`, compatible `::a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`) are judged
 * by the IPv4 address inside, so `::ffff:169.254.169.254` is refused like `169.254.169.254`.
 */
export function forbiddenAddressReason(address: string): string | undefined {
  const kind = isIP(address);
  if (kind === 4) return v4Reason(address);
  const bytes = parseIPv6(address);
  if (!bytes) return undefined;
  // fe80::/10
  if (bytes[0] === 0xfe && (bytes[1]! & 0xc0) === 0x80) return 'a link-local address';
  // fd00:ec2::254, the IPv6 endpoint of the AWS instance metadata service.
  if (startsWith(bytes, [0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54]))
    return 'a cloud metadata address (AWS IMDS over IPv6)';
  const embedded =
    startsWith(bytes, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]) ||
    startsWith(bytes, [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0]) ||
    (startsWith(bytes, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]) && (bytes[12]! | bytes[13]!) !== 0);
  if (embedded) return v4Reason(`${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`);
  return undefined;
}

/** Normalises a host name for comparison: lowercase, no brackets, no trailing dot. */
export function normalizeHost(host: string): string {
  return host
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
}

/** Why a host name or literal is forbidden before any DNS lookup, or undefined. */
export function forbiddenHostReason(host: string): string | undefined {
  const h = normalizeHost(host);
  if (FORBIDDEN_HOSTNAMES.includes(h)) return 'a cloud metadata host name';
  if (isIP(h) || parseIPv6(h)) return forbiddenAddressReason(h);
  return undefined;
}
