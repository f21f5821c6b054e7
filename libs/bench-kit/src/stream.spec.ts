import { Agent, createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { timedStream } from './stream';

const chunk = (content: string) => `data: ${JSON.stringify({ choices: [{ index: 0, text: content }] })}\n\n`;
const usage = `data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 7, completion_tokens: 3, prompt_tokens_details: { cached_tokens: 4 } } })}\n\n`;

describe('timedStream', () => {
  let server: Server;
  let base: string;
  const agent = new Agent({ keepAlive: true });

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/fail') {
        res.writeHead(500).end('{"error":{}}');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (req.url === '/empty') {
        res.end('data: [DONE]\n\n');
        return;
      }
      // Three tokens 30 ms apart, the second split across two writes, then usage and [DONE].
      res.write(chunk('a'));
      setTimeout(() => res.write(chunk('b').slice(0, 10)), 30);
      setTimeout(() => res.write(chunk('b').slice(10)), 35);
      setTimeout(() => res.end(chunk('c') + usage + 'data: [DONE]\n\n'), 60);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    agent.destroy();
    server.close();
  });

  it('times the first and last token chunks and reads usage', async () => {
    const s = await timedStream(agent, `${base}/ok`, '{"stream":true}');
    if (!s.ok) throw new Error(s.reason);
    expect(s.chunks).toBe(3);
    expect(s.usage).toEqual({ promptTokens: 7, completionTokens: 3, cachedTokens: 4 });
    expect(s.firstMs).toBeGreaterThanOrEqual(s.sentMs);
    expect(s.lastMs - s.firstMs).toBeGreaterThanOrEqual(40);
    expect(s.endedMs).toBeGreaterThanOrEqual(s.lastMs);
  });

  it.each([
    ['/fail', 'answered 500'],
    ['/empty', 'stream ended without tokens'],
  ])('resolves %s as not ok with the reason', async (path, reason) => {
    const s = await timedStream(agent, `${base}${path}`, '{}');
    expect(s.ok).toBe(false);
    expect(!s.ok && s.reason).toContain(reason);
  });

  it('resolves a refused connection as not ok', async () => {
    const s = await timedStream(agent, 'http://127.0.0.1:1/v1/completions', '{}');
    expect(s.ok).toBe(false);
  });
});
