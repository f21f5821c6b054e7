import Type from 'typebox';
import { ContractDecodeError, defineContract } from './contract';
import { fromSubjectToken, subjectMatches, subjectToken } from './subject';

const Ping = defineContract({
  name: 'ping',
  version: 2,
  schema: Type.Object({ v: Type.Literal(2), n: Type.Integer() }),
  pattern: 'test.ping.*',
  subject: (p: { id: string }) => `test.ping.${subjectToken(p.id)}`,
});

describe('defineContract codecs', () => {
  it.each([
    ['not JSON', '{"v":2,', 'json'],
    ['JSON null', 'null', 'schema'],
    ['a JSON array', '[1,2]', 'schema'],
    ['the wrong type', '{"v":2,"n":"three"}', 'schema'],
    ['an older version', '{"v":1,"n":3}', 'version'],
  ])('turns %s into a typed ContractDecodeError (%s)', (_case, text, reason) => {
    const result = Ping.tryDecode(text);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toBeInstanceOf(ContractDecodeError);
    expect(result.error.code).toBe('BRIX_CONTRACT_INVALID');
    expect(result.error.contract).toBe('ping');
    expect(result.error.reason).toBe(reason);
    expect(() => Ping.decode(text)).toThrow(ContractDecodeError);
  });

  it('decodes bytes and strings alike', () => {
    expect(Ping.decode(new TextEncoder().encode('{"v":2,"n":3}'))).toEqual({ v: 2, n: 3 });
    expect(Ping.decode('{"v":2,"n":3}')).toEqual({ v: 2, n: 3 });
  });
});

describe('subject tokens', () => {
  it.each([
    ['plain', 'engine-0', 'engine-0'],
    ['dots (forbidden in NATS tokens)', 'llama-3.1', 'llama-3%2E1'],
    ['wildcards', 'a*b>c', 'a%2Ab%3Ec'],
    ['whitespace', 'a b\tc', 'a%20b%09c'],
    ['percent itself, so decoding is unambiguous', '50%', '50%25'],
    ['slashes (allowed)', 'meta-llama/Llama-3-8B', 'meta-llama/Llama-3-8B'],
  ])('encodes %s reversibly', (_case, name, token) => {
    expect(subjectToken(name)).toBe(token);
    expect(fromSubjectToken(token)).toBe(name);
  });

  it('refuses an empty token', () => {
    expect(() => subjectToken('')).toThrow(RangeError);
  });

  it.each([
    ['a.*.c', 'a.b.c', true],
    ['a.*.c', 'a.b.d', false],
    ['a.*', 'a.b.c', false],
    ['a.>', 'a.b.c', true],
    ['a.>', 'a', false],
    ['a.b', 'a.b', true],
    ['a.b', 'a.b.c', false],
  ])('pattern %s matches %s: %s', (pattern, subject, expected) => {
    expect(subjectMatches(pattern, subject)).toBe(expected);
  });
});
