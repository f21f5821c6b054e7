import {
  BadRequestError,
  type BrixError,
  errorCatalogue,
  internalErrorBody,
  ModelNotFoundError,
  RateLimitError,
  ServiceUnavailableError,
  UnauthorizedError,
} from './index';

describe('error catalogue', () => {
  it('maps every code to a 4xx or 5xx status and a type', () => {
    for (const [code, entry] of Object.entries(errorCatalogue)) {
      expect(entry.status).toBeGreaterThanOrEqual(400);
      expect(entry.status).toBeLessThan(600);
      expect(entry.type.length).toBeGreaterThan(0);
      expect(code).toMatch(/^[a-z_]+$/);
    }
  });

  it.each([
    [new BadRequestError('bad', { param: 'messages' }), 400, 'invalid_request', 'messages'],
    [new UnauthorizedError(), 401, 'invalid_api_key', null],
    [new ModelNotFoundError('gpt-x'), 404, 'model_not_found', 'model'],
    [new RateLimitError('slow down', 2.2), 429, 'rate_limit_exceeded', null],
    [new ServiceUnavailableError('no engine'), 503, 'no_capacity', null],
  ])('%p answers %i with an OpenAI-style body', (err: BrixError, status, code, param) => {
    expect(err.status).toBe(status);
    expect(err.toBody()).toEqual({ error: { message: err.message, type: err.type, param, code } });
  });

  it('rounds Retry-After up to whole seconds, at least one', () => {
    expect(new RateLimitError('x', 2.2).headers['retry-after']).toBe('3');
    expect(new ServiceUnavailableError('x', 0).headers['retry-after']).toBe('1');
  });

  it('words model-not-found like vLLM does', () => {
    expect(new ModelNotFoundError('m').message).toBe('The model `m` does not exist.');
  });

  it('hides internals in the 500 body but names the request', () => {
    expect(internalErrorBody('req-1').error).toEqual({
      message: 'Internal error (request req-1).',
      type: 'server_error',
      param: null,
      code: 'internal_error',
    });
  });
});
