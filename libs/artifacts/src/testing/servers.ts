// Test helpers of this lib (excluded from its build): small real HTTP servers that stand in for file
// hosts and the Hugging Face Hub, with the behaviours the download code must cope with.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo } from 'node:net';

export interface LoggedRequest {
  method: string;
  url: string;
  range?: string;
  authorization?: string;
  host?: string;
}

export interface TestServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  readonly requests: LoggedRequest[];
  close(): Promise<void>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** Starts a node:http server on an ephemeral port of 127.0.0.1 that logs every request. */
export async function startServer(handler: Handler): Promise<TestServer> {
  const requests: LoggedRequest[] = [];
  const server: Server = createServer((req, res) => {
    requests.push({
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      ...(req.headers.range ? { range: req.headers.range } : {}),
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
      ...(req.headers.host ? { host: req.headers.host } : {}),
    });
    Promise.resolve(handler(req, res)).catch((err: Error) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(err?.message));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface ServeOptions {
  etag?: string;
  /** Extra headers on every answer (digest headers, say). */
  headers?: Record<string, string>;
  /** Answer range requests with the whole file (a server without range support). */
  ignoreRange?: boolean;
  /** Destroy the connection after this many body bytes (a cut transfer); called per request. */
  cutAfter?: () => number | undefined;
}

/** Serves `data` for GET and HEAD with single-range support, like a static file server. */
export function serveBytes(req: IncomingMessage, res: ServerResponse, data: Buffer, options: ServeOptions = {}): void {
  const headers: Record<string, string> = { 'accept-ranges': options.ignoreRange ? 'none' : 'bytes', ...options.headers };
  if (options.etag) headers['etag'] = options.etag;
  let start = 0;
  let end = data.length; // exclusive
  let status = 200;
  const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  const ifRange = req.headers['if-range'];
  if (range && !options.ignoreRange && (!ifRange || ifRange === options.etag)) {
    start = Number(range[1]);
    end = range[2] ? Math.min(data.length, Number(range[2]) + 1) : data.length;
    if (start >= data.length) {
      res.writeHead(416, { 'content-range': `bytes */${data.length}` });
      res.end();
      return;
    }
    status = 206;
    headers['content-range'] = `bytes ${start}-${end - 1}/${data.length}`;
  }
  headers['content-length'] = String(end - start);
  res.writeHead(status, headers);
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const cut = options.cutAfter?.();
  if (cut !== undefined && cut < end - start) {
    res.write(data.subarray(start, start + cut), () => {
      // Let the bytes leave before the connection drops, as a real cut mid-transfer would.
      setTimeout(() => res.destroy(), 20);
    });
    return;
  }
  res.end(data.subarray(start, end));
}

/** Deterministic pseudo-random bytes (content that compresses badly and differs per offset). */
export function bytes(length: number, seed = 1): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
export const md5Base64 = (b: Buffer) => createHash('md5').update(b).digest('base64');
export const gitBlobSha1 = (b: Buffer) => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');
