/**
 * The two patch formats the fake API server applies: JSON merge patch (RFC 7386,
 * `application/merge-patch+json`) and JSON patch (RFC 6902, `application/json-patch+json`).
 * Both are pure: they return a new document and never change their inputs.
 */
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** RFC 7386: objects merge key by key, `null` removes a key, anything else (arrays too) replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = isObject(target) ? structuredClone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

/** A JSON patch that is malformed or cannot apply (a failed `test`, a missing path). */
export class JsonPatchError extends Error {
  override readonly name = 'JsonPatchError';
}

export interface JsonPatchOperation {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  from?: string;
  value?: unknown;
}

/** RFC 6901 pointer → reference tokens (`/a~1b/0` → `['a/b', '0']`). */
function tokens(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new JsonPatchError(`invalid JSON pointer "${pointer}"`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function arrayIndex(array: unknown[], token: string, forInsert: boolean): number {
  if (forInsert && token === '-') return array.length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new JsonPatchError(`invalid array index "${token}"`);
  const i = Number(token);
  if (i > array.length || (!forInsert && i === array.length)) throw new JsonPatchError(`array index ${i} out of range`);
  return i;
}

/** The container holding the value `pointer` names, and the last token; throws when the parent is missing. */
function parentOf(doc: unknown, pointer: string): { parent: unknown; last: string } {
  const path = tokens(pointer);
  if (path.length === 0) throw new JsonPatchError('the whole document cannot be the target of this operation');
  let node = doc;
  for (const t of path.slice(0, -1)) {
    if (Array.isArray(node)) node = node[arrayIndex(node, t, false)];
    else if (isObject(node) && Object.prototype.hasOwnProperty.call(node, t)) node = node[t];
    else throw new JsonPatchError(`path "${pointer}" does not exist`);
  }
  return { parent: node, last: path[path.length - 1] };
}

function read(doc: unknown, pointer: string): unknown {
  if (pointer === '') return doc;
  const { parent, last } = parentOf(doc, pointer);
  if (Array.isArray(parent)) return parent[arrayIndex(parent, last, false)];
  if (isObject(parent) && Object.prototype.hasOwnProperty.call(parent, last)) return parent[last];
  throw new JsonPatchError(`path "${pointer}" does not exist`);
}

function add(doc: unknown, pointer: string, value: unknown): unknown {
  if (pointer === '') return value;
  const { parent, last } = parentOf(doc, pointer);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, true), 0, value);
  else if (isObject(parent)) parent[last] = value;
  else throw new JsonPatchError(`path "${pointer}" does not exist`);
  return doc;
}

function remove(doc: unknown, pointer: string): unknown {
  const { parent, last } = parentOf(doc, pointer);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, false), 1);
  else if (isObject(parent) && Object.prototype.hasOwnProperty.call(parent, last)) delete parent[last];
  else throw new JsonPatchError(`path "${pointer}" does not exist`);
  return doc;
}

const deepEqual = (a: unknown, b: unknown): boolean => JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
function canonical(v: unknown): Json {
  if (Array.isArray(v)) return v.map(canonical);
  if (isObject(v))
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, canonical(v[k])]),
    );
  return v as Json;
}

/** RFC 6902: applies the operations in order; all or nothing. */
export function applyJsonPatch(document: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations)) throw new JsonPatchError('a JSON patch must be an array of operations');
  let doc = structuredClone(document);
  for (const raw of operations) {
    if (!isObject(raw) || typeof raw['op'] !== 'string' || typeof raw['path'] !== 'string') {
      throw new JsonPatchError('each JSON patch operation needs string "op" and "path"');
    }
    const op = raw as unknown as JsonPatchOperation;
    const needsFrom = op.op === 'move' || op.op === 'copy';
    if (needsFrom && typeof op.from !== 'string') throw new JsonPatchError(`"${op.op}" needs "from"`);
    const needsValue = op.op === 'add' || op.op === 'replace' || op.op === 'test';
    if (needsValue && !('value' in raw)) throw new JsonPatchError(`"${op.op}" needs "value"`);
    switch (op.op) {
      case 'add':
        doc = add(doc, op.path, structuredClone(op.value));
        break;
      case 'remove':
        doc = remove(doc, op.path);
        break;
      case 'replace':
        read(doc, op.path);
        doc = op.path === '' ? structuredClone(op.value) : add(remove(doc, op.path), op.path, structuredClone(op.value));
        break;
      case 'move': {
        const from = op.from as string;
        if (op.path.startsWith(from + '/')) throw new JsonPatchError(`cannot move "${from}" into its own child`);
        const value = read(doc, from);
        doc = add(remove(doc, from), op.path, value);
        break;
      }
      case 'copy':
        doc = add(doc, op.path, structuredClone(read(doc, op.from as string)));
        break;
      case 'test':
        if (!deepEqual(read(doc, op.path), op.value)) throw new JsonPatchError(`test failed at "${op.path}"`);
        break;
      default:
        throw new JsonPatchError(`unknown JSON patch operation "${String((op as { op: unknown }).op)}"`);
    }
  }
  return doc;
}
