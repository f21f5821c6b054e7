import { BadRequestError, ConflictError, NotFoundError } from '@brix/contracts';
import { ApiException } from '@kubernetes/client-node';
import { fromKubeError, KubernetesApiError } from './errors';

const status = (code: number, reason: string, message: string) =>
  JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });

describe('fromKubeError', () => {
  // [API status, expected class, HTTP status of the Brix error, why]
  const cases: [number, abstract new (...args: never[]) => Error, number, string][] = [
    [404, NotFoundError, 404, 'the object the caller named does not exist'],
    [409, ConflictError, 409, 'a stale write: the caller should re-read and retry'],
    [422, BadRequestError, 400, 'the API server refused the value the caller gave'],
    [400, BadRequestError, 400, 'a malformed request built from caller input'],
    [401, KubernetesApiError, 502, 'our credentials are wrong: not the caller’s fault'],
    [403, KubernetesApiError, 502, 'our RBAC is missing a verb: not the caller’s fault'],
    [500, KubernetesApiError, 502, 'the API server failed'],
    [503, KubernetesApiError, 502, 'the API server is overloaded or restarting'],
  ];
  it.each(cases)('maps %i to %p answering %i (%s)', (code, cls, httpStatus) => {
    const err = fromKubeError(new ApiException(code, 'x', status(code, 'Reason', 'the message'), {}), 'read thing');
    expect(err).toBeInstanceOf(cls);
    expect(err.status).toBe(httpStatus);
    expect(err.message).toContain('read thing');
    expect(err.message).toContain('the message');
  });

  it('keeps the status code and reason on a KubernetesApiError', () => {
    const err = fromKubeError(new ApiException(403, 'x', status(403, 'Forbidden', 'pods is forbidden'), {}), 'list pods');
    expect(err).toMatchObject({
      statusCode: 403,
      reason: 'Forbidden',
      message: 'list pods: Kubernetes API answered 403: pods is forbidden',
    });
  });

  it('copes with a body that is not a Status', () => {
    expect(fromKubeError(new ApiException(502, 'x', '<html>bad gateway</html>', {}), 'op').message).toContain(
      '<html>bad gateway</html>',
    );
    expect(fromKubeError(new ApiException(401, 'Unauthorized', undefined, {}), 'op').message).toBe(
      'op: Kubernetes API answered 401: HTTP 401',
    );
  });

  it('treats anything else as an unreachable API server', () => {
    const cause = new Error('connect ECONNREFUSED 127.0.0.1:1');
    const err = fromKubeError(cause, 'op');
    expect(err).toBeInstanceOf(KubernetesApiError);
    expect(err).toMatchObject({
      statusCode: undefined,
      cause,
      message: 'op: Kubernetes API unreachable: connect ECONNREFUSED 127.0.0.1:1',
    });
  });

  it('passes Brix errors through', () => {
    const own = new BadRequestError('mine');
    expect(fromKubeError(own, 'op')).toBe(own);
  });
});
