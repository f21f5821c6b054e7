import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo } from 'node:net';
import { ScrapeError } from '@brix/engine-metrics';
import { freePort } from '@brix/testing';
import { createEngineClient, engineError, engineErrorMessage, EngineRequestError, EngineUnreachableError } from './engine-client';

describe('engineErrorMessage', () => {
  it.each([
    [
      'vLLM ≥ 0.10.1 / OpenAI',
      400,
      '{"error":{"message":"bad lora","type":"BadRequestError","param":null,"code":400}}',
      'bad lora',
    ],
    [
      'vLLM 0.10.0 (flat)',
      400,
      '{"object":"error","message":"bad lora","type":"BadRequestError","param":null,"code":400}',
      'bad lora',
    ],
    ['FastAPI detail', 404, '{"detail":"Not Found"}', 'Not Found'],
    [
      'FastAPI validation list',
      422,
      '{"detail":[{"msg":"field required"},{"msg":"not a string"}]}',
      'field required; not a string',
    ],
    ['plain text', 500, 'Internal Server Error', 'Internal Server Error'],
    ['an empty body', 503, '', 'HTTP 503'],
  ])('reads %s', (_case, status, body, message) => {
    expect(engineErrorMessage(status, body)).toBe(message);
  });
});

describe('engineError', () => {
  it.each([
    [
      'a vLLM NotFoundError',
      '{"error":{"message":"The lora adapter \'x\' cannot be found.","type":"NotFoundError"}}',
      'NotFoundError',
    ],
    ['vLLM 0.10.0 (flat)', '{"object":"error","message":"m","type":"BadRequestError"}', 'BadRequestError'],
    ["FastAPI's missing route", '{"detail":"Not Found"}', undefined],
  ])('keeps the error type of %s', (_case, body, type) => {
    expect(engineError(404, body).type).toBe(type);
  });
});

describe('createEngineClient', () => {
  let server: Server;
  let url: string;
  let handler: (req: IncomingMessage, body: string, res: ServerResponse) => void;
  const seen: Array<{ method: string; url: string; body: string }> = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, body });
        handler(req, body, res);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  beforeEach(() => {
    seen.length = 0;
  });

  const signal = () => new AbortController().signal;

  it('lists model cards and posts adapter loads and unloads as vLLM expects them', async () => {
    handler = (req, _body, res) => {
      if (req.url === '/v1/models')
        res.end(JSON.stringify({ object: 'list', data: [{ id: 'base', parent: null, root: '/m', object: 'model' }] }));
      else res.writeHead(200, { 'content-type': 'text/plain' }).end("Success: LoRA adapter 'x' added successfully.");
    };
    const client = createEngineClient(`${url}/`);
    expect(await client.listModels(signal())).toEqual([{ id: 'base', parent: null, root: '/m', object: 'model' }]);
    await client.loadLoraAdapter({ lora_name: 'x', lora_path: '/a' }, signal());
    await client.unloadLoraAdapter({ lora_name: 'x' }, signal());
    expect(seen).toEqual([
      { method: 'GET', url: '/v1/models', body: '' },
      { method: 'POST', url: '/v1/load_lora_adapter', body: '{"lora_name":"x","lora_path":"/a"}' },
      { method: 'POST', url: '/v1/unload_lora_adapter', body: '{"lora_name":"x"}' },
    ]);
    await client.close();
  });

  it.each([
    [
      'a vLLM error',
      400,
      '{"error":{"message":"The lora adapter \'x\' has already been loaded."}}',
      "The lora adapter 'x' has already been loaded.",
    ],
    ['a server error', 500, 'Internal Server Error', 'Internal Server Error'],
  ])('rejects %s with the engine status and message', async (_case, status, body, message) => {
    handler = (_req, _body, res) => res.writeHead(status).end(body);
    const client = createEngineClient(url);
    const err = await client.loadLoraAdapter({ lora_name: 'x', lora_path: '/a' }, signal()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineRequestError);
    expect(err).toMatchObject({ status, engineMessage: message, timedOut: false });
    await client.close();
  });

  it.each([
    ['not JSON', 'hello'],
    ['JSON without cards', '{"data":[{"name":"x"}]}'],
  ])('rejects a model list that is %s', async (_case, body) => {
    handler = (_req, _body, res) => res.end(body);
    const client = createEngineClient(url);
    await expect(client.listModels(signal())).rejects.toBeInstanceOf(EngineRequestError);
    await client.close();
  });

  it('tells an engine that never answers (timed out) from one that is not there', async () => {
    handler = () => undefined; // never answers
    const slow = createEngineClient(url);
    const controller = new AbortController();
    const pending = slow.listModels(controller.signal).catch((e: unknown) => e);
    controller.abort();
    expect(await pending).toMatchObject({ timedOut: true, status: undefined });
    await slow.close();

    const absent = createEngineClient(`http://127.0.0.1:${await freePort()}`);
    expect(await absent.listModels(signal()).catch((e: unknown) => e)).toMatchObject({ timedOut: false, status: undefined });
    // A scrape that finds nobody is told apart from an engine that answers with an error.
    await expect(absent.fetchMetrics(signal())).rejects.toBeInstanceOf(EngineUnreachableError);
    await absent.close();
    handler = (_req, _body, res) => res.writeHead(500).end();
    const failing = createEngineClient(url);
    const scrape = await failing.fetchMetrics(signal()).catch((e: unknown) => e);
    expect(scrape).toBeInstanceOf(ScrapeError);
    expect(scrape).not.toBeInstanceOf(EngineUnreachableError);
    await failing.close();
  });
});
