import { applyJsonPatch, JsonPatchError, mergePatch } from './patch';

describe('mergePatch (RFC 7386)', () => {
  it.each([
    // Cases from the RFC's appendix.
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }], // arrays replace, never merge
    [
      ['a', 'b'],
      ['c', 'd'],
      ['c', 'd'],
    ],
    [{ a: 'b' }, ['c'], ['c']],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ])('%j + %j = %j', (target, patch, expected) => {
    expect(mergePatch(target, patch)).toEqual(expected);
  });

  it('leaves its inputs unchanged', () => {
    const target = { spec: { replicas: 1 } };
    mergePatch(target, { spec: { replicas: 3 } });
    expect(target).toEqual({ spec: { replicas: 1 } });
  });
});

describe('applyJsonPatch (RFC 6902)', () => {
  const doc = { metadata: { labels: { a: '1' }, finalizers: ['x', 'y'] }, spec: { replicas: 2 } };

  it.each([
    [
      'add a key',
      [{ op: 'add', path: '/metadata/labels/b', value: '2' }],
      { ...doc, metadata: { ...doc.metadata, labels: { a: '1', b: '2' } } },
    ],
    [
      'add to the end of an array',
      [{ op: 'add', path: '/metadata/finalizers/-', value: 'z' }],
      { ...doc, metadata: { ...doc.metadata, finalizers: ['x', 'y', 'z'] } },
    ],
    [
      'insert into an array',
      [{ op: 'add', path: '/metadata/finalizers/0', value: 'w' }],
      { ...doc, metadata: { ...doc.metadata, finalizers: ['w', 'x', 'y'] } },
    ],
    [
      'remove an array item',
      [{ op: 'remove', path: '/metadata/finalizers/0' }],
      { ...doc, metadata: { ...doc.metadata, finalizers: ['y'] } },
    ],
    ['replace a value', [{ op: 'replace', path: '/spec/replicas', value: 5 }], { ...doc, spec: { replicas: 5 } }],
    ['move a key', [{ op: 'move', from: '/spec/replicas', path: '/spec/count' }], { ...doc, spec: { count: 2 } }],
    ['copy a key', [{ op: 'copy', from: '/spec/replicas', path: '/spec/count' }], { ...doc, spec: { replicas: 2, count: 2 } }],
    [
      'pass a test, then replace',
      [
        { op: 'test', path: '/spec/replicas', value: 2 },
        { op: 'replace', path: '/spec/replicas', value: 3 },
      ],
      { ...doc, spec: { replicas: 3 } },
    ],
    [
      'escape / and ~ in keys',
      [{ op: 'add', path: '/metadata/labels/brix.io~1model', value: 'm' }],
      { ...doc, metadata: { ...doc.metadata, labels: { a: '1', 'brix.io/model': 'm' } } },
    ],
  ])('%s', (_case, ops, expected) => {
    expect(applyJsonPatch(doc, ops)).toEqual(expected);
  });

  it.each([
    ['a failed test', [{ op: 'test', path: '/spec/replicas', value: 3 }]],
    ['a missing path', [{ op: 'replace', path: '/spec/missing', value: 1 }]],
    ['a missing parent', [{ op: 'add', path: '/nope/deeper', value: 1 }]],
    ['an index past the end', [{ op: 'remove', path: '/metadata/finalizers/2' }]],
    ['an unknown op', [{ op: 'frobnicate', path: '/spec' }]],
    ['a pointer without a leading slash', [{ op: 'remove', path: 'spec' }]],
    ['a move into its own child', [{ op: 'move', from: '/spec', path: '/spec/inner' }]],
    ['a non-array patch', { op: 'remove', path: '/spec' }],
  ])('refuses %s', (_case, ops) => {
    expect(() => applyJsonPatch(doc, ops)).toThrow(JsonPatchError);
  });

  it('applies all operations or none', () => {
    const before = structuredClone(doc);
    expect(() =>
      applyJsonPatch(doc, [
        { op: 'replace', path: '/spec/replicas', value: 9 },
        { op: 'test', path: '/spec/replicas', value: 2 },
      ]),
    ).toThrow(JsonPatchError);
    expect(doc).toEqual(before);
  });
});
