import { Writable } from 'node:stream';
import { createLogger } from './logger';
import { createMetricsRegistry, invalidMessageCounter } from './metrics';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(JSON.parse(chunk.toString()));
      cb();
    },
  });
  return { lines, stream };
}

describe('createLogger', () => {
  it('writes one JSON line with service, level label and time', () => {
    const { lines, stream } = capture();
    createLogger({ service: 'gateway', destination: stream, base: { instance: 'gw-1' } }).info({ model: 'm' }, 'routed');
    expect(lines[0]).toMatchObject({ service: 'gateway', instance: 'gw-1', level: 'info', msg: 'routed', model: 'm' });
    expect(typeof lines[0]!['time']).toBe('number');
  });

  it.each([
    ['an authorization header', { req: { headers: { authorization: 'Bearer sk-secret' } } }, ['req', 'headers', 'authorization']],
    ['an api_key field', { user: { api_key: 'sk-secret' } }, ['user', 'api_key']],
    ['a token', { token: 'sk-secret' }, ['token']],
  ])('redacts %s', (_case, obj, path) => {
    const { lines, stream } = capture();
    createLogger({ service: 's', destination: stream }).info(obj, 'x');
    const value = path.reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], lines[0]);
    expect(value).toBe('[redacted]');
    expect(JSON.stringify(lines[0])).not.toContain('sk-secret');
  });
});

describe('createMetricsRegistry', () => {
  it('labels every series with the service and keeps registries apart', async () => {
    const a = createMetricsRegistry({ service: 'a', processMetrics: false });
    const b = createMetricsRegistry({ service: 'b', processMetrics: false });
    invalidMessageCounter(a).inc({ contract: 'engine-load', reason: 'json' });
    const text = await a.metrics();
    expect(text).toContain('brix_bus_invalid_messages_total{contract="engine-load",reason="json",service="a"} 1');
    expect((await b.metrics()).trim()).toBe('');
  });

  it('collects process metrics by default', async () => {
    expect(await createMetricsRegistry({ service: 'p' }).metrics()).toContain('brix_nodejs_eventloop_lag_seconds');
  });
});
