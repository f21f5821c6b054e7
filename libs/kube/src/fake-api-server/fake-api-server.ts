/**
 * An in-process fake Kubernetes API server on node:http, for tests: the stand-in for a cluster where
 * none can run. It serves any resource it is told about (core or grouped, namespaced or cluster-scoped,
 * built-in or custom) with the API server's REST semantics that controllers and informers depend on:
 *
 * - list with a collection resourceVersion; `?watch=true` streams newline-delimited JSON events
 *   (ADDED, MODIFIED, DELETED, BOOKMARK on request) from a resourceVersion, replaying kept history,
 *   or from "now" with synthetic ADDED events when none is given; a resourceVersion older than the kept
 *   history gets an ERROR event with a 410 Expired Status, as a compacted etcd would give;
 * - label selectors (equality and set-based) and simple field selectors on list and watch; an object
 *   that stops matching a watch's selector is sent as DELETED, one that starts matching as ADDED;
 * - get, create (201), replace (PUT) with resourceVersion preconditions (409 Conflict), merge patch and
 *   JSON patch, delete with finalizers (deletionTimestamp first, removal when the last finalizer goes);
 * - `/status` and `/scale` subresources; 404, 409, 422, 400, 415 answered with Status bodies.
 *
 * Not imitated: admission, defaulting beyond `spec.replicas`, strategic merge patch and server-side
 * apply (415), pagination (`limit` is ignored and the whole list returned, which the API allows),
 * namespaces as objects (any namespace name is accepted), controllers (nothing reacts to a Deployment).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo } from 'node:net';
import {
  formatLabelSelector,
  type LabelRequirement,
  LabelSelectorError,
  matchesLabels,
  parseLabelSelector,
} from './label-selector';
import { applyJsonPatch, JsonPatchError, mergePatch } from './patch';
import { apiVersionOf, builtinResources, type FakeResourceDefinition } from './resources';
import {
  alreadyExists,
  badRequest,
  conflict,
  expired,
  invalid,
  methodNotAllowed,
  notFound,
  resourceNotFound,
  StatusError,
  tooLarge,
  unauthorized,
  unavailable,
  unsupportedMediaType,
} from './status';
import { labelProblems, nameProblems } from './validation';

export interface FakeObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  [key: string]: unknown;
}

/** Any Kubernetes object as JSON. */
export interface FakeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: FakeObjectMeta;
  [key: string]: unknown;
}

/** Names one object for the test helpers. `namespace` defaults to `default` for namespaced resources. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

export type FakeVerb = 'list' | 'watch' | 'get' | 'create' | 'update' | 'patch' | 'delete';

/** One request the fake answered (or refused), for tests that assert how a client talked to the API. */
export interface FakeRequest {
  verb: FakeVerb;
  /** Plural resource name (`pods`). */
  resource: string;
  namespace?: string;
  name?: string;
  subresource?: string;
  labelSelector?: string;
  resourceVersion?: string;
  /** HTTP status answered; watches record 200 when the stream opens. */
  status: number;
}

export interface FakeKubeApiServerOptions {
  /** Resources served; default {@link builtinResources}. More can be added with `defineResource`. */
  resources?: readonly FakeResourceDefinition[];
  /** When set, every request must carry `Authorization: Bearer <token>`, else 401. */
  token?: string;
  /** Watch events kept per resource for watches that resume from a resourceVersion (default 10 000). */
  historyLimit?: number;
  /** Epoch milliseconds for creation and deletion timestamps; default Date.now. */
  now?: () => number;
  /** Address to listen on; default 127.0.0.1 on an ephemeral port. */
  host?: string;
  port?: number;
}

type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

interface HistoryEvent {
  rv: number;
  type: EventType;
  object: FakeObject;
  /** The object before a MODIFIED change, so that selector transitions can be computed per watch. */
  previous?: FakeObject;
}

interface Table {
  def: FakeResourceDefinition;
  objects: Map<string, FakeObject>;
  history: HistoryEvent[];
  /** Lowest resourceVersion a watch may resume from (all later events are kept); below it, 410 Expired. */
  oldestResumable: number;
}

interface FieldRequirement {
  path: string[];
  value: string;
  equal: boolean;
}

interface Watcher {
  table: Table;
  namespace?: string;
  labels: LabelRequirement[];
  fields: FieldRequirement[];
  bookmarks: boolean;
  res: ServerResponse;
  timer?: NodeJS.Timeout;
}

interface Route {
  table: Table;
  /** Undefined for a cluster-scoped resource, or a namespaced collection across all namespaces. */
  namespace?: string;
  name?: string;
  subresource?: string;
}

const MAX_BODY_BYTES = 3 * 1024 * 1024;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const clone = <T>(v: T): T => structuredClone(v);
const metaOf = (o: FakeObject): FakeObjectMeta => (o.metadata ??= {});
const keyOf = (namespace: string | undefined, name: string) => `${namespace ?? ''}/${name}`;
const tableKey = (group: string, version: string, plural: string) => `${group}/${version}/${plural}`;
/** Everything but metadata and status: a change here bumps metadata.generation. */
const specOf = (o: FakeObject) => JSON.stringify({ ...o, metadata: undefined, status: undefined });
const sameObject = (a: FakeObject, b: FakeObject) =>
  JSON.stringify({ ...a, metadata: { ...a.metadata, resourceVersion: undefined } }) ===
  JSON.stringify({ ...b, metadata: { ...b.metadata, resourceVersion: undefined } });

/** A table's objects in key order (namespace, then name), as etcd returns them. */
function sorted(table: Table): FakeObject[] {
  return [...table.objects.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, o]) => o);
}

function verbOf(method: string, item: boolean, watching: boolean): FakeVerb {
  if (!item) return method === 'POST' ? 'create' : watching ? 'watch' : 'list';
  return method === 'PUT' ? 'update' : method === 'PATCH' ? 'patch' : method === 'DELETE' ? 'delete' : 'get';
}

function parseFieldSelector(selector: string | null): FieldRequirement[] {
  if (!selector) return [];
  return selector.split(',').map((term) => {
    const m = /^\s*([A-Za-z0-9_.]+)\s*(==|=|!=)\s*([^,]*?)\s*$/.exec(term);
    if (!m) throw badRequest(`invalid field selector "${selector}"`);
    return { path: m[1].split('.'), value: m[3], equal: m[2] !== '!=' };
  });
}

function fieldValue(o: unknown, path: string[]): string {
  let node = o;
  for (const p of path) node = isObject(node) ? node[p] : undefined;
  return node === undefined || node === null ? '' : String(node);
}

/**
 * The fake API server. Start with {@link FakeKubeApiServer.start}; point a client at `url`
 * (see `kubeConfigForUrl`). Test helpers (`put`, `modify`, `remove`, `get`, `list`) change objects
 * directly, with the same resourceVersions and watch events as API writes, and bypass auth and
 * unavailability so a test can change the world while clients are cut off.
 */
export class FakeKubeApiServer {
  private readonly tables = new Map<string, Table>();
  private readonly watchers = new Set<Watcher>();
  private readonly log: FakeRequest[] = [];
  private rv = 1;
  private down = false;
  private readonly historyLimit: number;
  private readonly now: () => number;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly options: FakeKubeApiServerOptions,
  ) {
    this.historyLimit = options.historyLimit ?? 10_000;
    this.now = options.now ?? Date.now;
    for (const def of options.resources ?? builtinResources) this.defineResource(def);
  }

  /** Starts listening (127.0.0.1, ephemeral port unless told otherwise). */
  static async start(options: FakeKubeApiServerOptions = {}): Promise<FakeKubeApiServer> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
    });
    const { address, port } = server.address() as AddressInfo;
    const host = address.includes(':') ? `[${address}]` : address;
    const fake = new FakeKubeApiServer(server, `http://${host}:${port}`, options);
    server.on('request', (req, res) => void fake.handle(req, res));
    return fake;
  }

  /** Serves a resource (what installing a CRD does). Defining one that exists is a no-op. */
  defineResource(def: FakeResourceDefinition): void {
    const key = tableKey(def.group, def.version, def.plural);
    if (!this.tables.has(key)) this.tables.set(key, { def, objects: new Map(), history: [], oldestResumable: 0 });
  }

  /** The current collection resourceVersion (the last write's). */
  get resourceVersion(): string {
    return String(this.rv);
  }

  /** Watch streams open now. */
  get watchCount(): number {
    return this.watchers.size;
  }

  /** Requests answered so far, oldest first. */
  get requests(): readonly FakeRequest[] {
    return [...this.log];
  }

  /** How many requests matched `verb` (and `resource`, when given). */
  count(verb: FakeVerb, resource?: string): number {
    return this.log.filter((r) => r.verb === verb && (resource === undefined || r.resource === resource)).length;
  }

  // ---- test helpers: direct changes, with real resourceVersions and watch events ----

  /**
   * Creates or wholly replaces an object, status included, with no preconditions (a test's way to say
   * "the world now looks like this"). Names and labels are still validated. Returns the stored copy.
   */
  put<T extends FakeObject>(object: T): T {
    const table = this.tableFor(object.apiVersion, object.kind);
    const next = clone(object) as FakeObject;
    const meta = metaOf(next);
    if (table.def.namespaced) meta.namespace ??= 'default';
    else delete meta.namespace;
    if (!meta.name) throw new Error('put() needs metadata.name');
    this.validate(table.def, meta.name, next);
    const current = table.objects.get(keyOf(meta.namespace, meta.name));
    if (!current) return this.write(table, 'ADDED', this.initialMeta(table.def, next)) as T;
    const cm = metaOf(current);
    meta.uid ??= cm.uid;
    meta.creationTimestamp ??= cm.creationTimestamp;
    meta.generation = specOf(current) === specOf(next) ? cm.generation : (cm.generation ?? 1) + 1;
    return this.commitUpdate(table, current, next) as T;
  }

  /** Applies `change` to a copy of the stored object and stores it as by {@link put}; 404 StatusError if absent. */
  modify<T = FakeObject>(ref: ObjectRef, change: (object: T) => void): T {
    const current = this.get<T>(ref);
    if (!current) throw notFound(this.tableFor(ref.apiVersion, ref.kind).def, ref.name);
    change(current);
    return this.put(current as FakeObject) as T;
  }

  /** Removes an object at once, finalizers or not. Returns whether it existed. */
  remove(ref: ObjectRef): boolean {
    const table = this.tableFor(ref.apiVersion, ref.kind);
    const current = table.objects.get(this.refKey(table, ref));
    if (!current) return false;
    this.write(table, 'DELETED', clone(current));
    return true;
  }

  get<T = FakeObject>(ref: ObjectRef): T | undefined {
    const table = this.tableFor(ref.apiVersion, ref.kind);
    const o = table.objects.get(this.refKey(table, ref));
    return o ? (clone(o) as T) : undefined;
  }

  /** Objects of one kind, sorted by namespace and name; of one namespace when given. */
  list<T = FakeObject>(apiVersion: string, kind: string, namespace?: string): T[] {
    const table = this.tableFor(apiVersion, kind);
    return sorted(table)
      .filter((o) => namespace === undefined || o.metadata?.namespace === namespace)
      .map((o) => clone(o) as T);
  }

  /** Ends every open watch stream (as an API server restart or a load balancer timeout does). Returns how many. */
  closeWatches(): number {
    const n = this.watchers.size;
    for (const w of [...this.watchers]) this.endWatch(w);
    return n;
  }

  /**
   * Forgets all kept watch history, as etcd compaction does: a watch resuming from any resourceVersion
   * issued before now gets 410 Expired, and its client must list again. Lists after this return a
   * resumable resourceVersion.
   */
  compact(): void {
    const rv = ++this.rv;
    for (const t of this.tables.values()) {
      t.history = [];
      t.oldestResumable = rv;
    }
  }

  /** While unavailable, every request is answered 503 and open watches are closed. Helpers keep working. */
  setUnavailable(unavailableNow: boolean): void {
    this.down = unavailableNow;
    if (unavailableNow) this.closeWatches();
  }

  /** Sends a BOOKMARK event with the current resourceVersion to watches that asked for bookmarks. */
  bookmark(): void {
    for (const w of this.watchers) {
      if (!w.bookmarks) continue;
      const { def } = w.table;
      this.send(w, 'BOOKMARK', { kind: def.kind, apiVersion: apiVersionOf(def), metadata: { resourceVersion: String(this.rv) } });
    }
  }

  async close(): Promise<void> {
    this.closeWatches();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  // ---- storage ----

  private tableFor(apiVersion: string | undefined, kind: string | undefined): Table {
    for (const t of this.tables.values()) if (apiVersionOf(t.def) === apiVersion && t.def.kind === kind) return t;
    throw new Error(`the fake API server does not serve ${kind} in ${apiVersion}; defineResource() it first`);
  }

  private refKey(table: Table, ref: ObjectRef): string {
    return keyOf(table.def.namespaced ? (ref.namespace ?? 'default') : undefined, ref.name);
  }

  private timestamp(): string {
    // The API server writes RFC 3339 timestamps with second precision.
    return new Date(this.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }

  private validate(def: FakeResourceDefinition, name: string, object: FakeObject): void {
    const causes = [...nameProblems(name), ...labelProblems(object.metadata?.labels)];
    if (causes.length > 0) throw invalid(def, name, causes);
  }

  private initialMeta(def: FakeResourceDefinition, object: FakeObject): FakeObject {
    const meta = metaOf(object);
    object.apiVersion = apiVersionOf(def);
    object.kind = def.kind;
    meta.uid ??= randomUUID();
    meta.creationTimestamp ??= this.timestamp();
    meta.generation ??= 1;
    if (def.scale && isObject(object['spec']) && object['spec']['replicas'] === undefined) object['spec']['replicas'] = 1;
    return object;
  }

  /** Stores a change under a fresh resourceVersion, keeps it in history and tells the watches. */
  private write(table: Table, type: EventType, object: FakeObject, previous?: FakeObject): FakeObject {
    const rv = ++this.rv;
    const meta = metaOf(object);
    meta.resourceVersion = String(rv);
    const key = keyOf(meta.namespace, meta.name ?? '');
    if (type === 'DELETED') table.objects.delete(key);
    else table.objects.set(key, object);
    const event: HistoryEvent = { rv, type, object: clone(object), previous: previous && clone(previous) };
    table.history.push(event);
    if (table.history.length > this.historyLimit) {
      const dropped = table.history.splice(0, table.history.length - this.historyLimit);
      table.oldestResumable = Math.max(table.oldestResumable, dropped[dropped.length - 1].rv);
    }
    for (const w of this.watchers) if (w.table === table) this.deliver(w, event);
    return clone(object);
  }

  /** Stores an update unless it changes nothing; removes an object being deleted once its finalizers are gone. */
  private commitUpdate(table: Table, current: FakeObject, next: FakeObject): FakeObject {
    const meta = metaOf(next);
    if (meta.deletionTimestamp && (meta.finalizers ?? []).length === 0) return this.write(table, 'DELETED', next, current);
    if (sameObject(current, next)) return clone(current);
    return this.write(table, 'MODIFIED', next, current);
  }

  // ---- API operations (validated as the API server validates them) ----

  private checkTypeMeta(
    def: FakeResourceDefinition,
    body: Record<string, unknown>,
    expectKind = def.kind,
    expectVersion = apiVersionOf(def),
  ): void {
    if (body['apiVersion'] !== undefined && body['apiVersion'] !== expectVersion) {
      throw badRequest(
        `the API version in the data (${String(body['apiVersion'])}) does not match the expected API version (${expectVersion})`,
      );
    }
    if (body['kind'] !== undefined && body['kind'] !== expectKind) {
      throw badRequest(`the kind in the data (${String(body['kind'])}) does not match the expected kind (${expectKind})`);
    }
  }

  private create(route: Route, body: unknown): FakeObject {
    const { def } = route.table;
    if (!isObject(body)) throw badRequest('the request body must be a JSON object');
    this.checkTypeMeta(def, body);
    const object = clone(body) as FakeObject;
    const meta: FakeObjectMeta = isObject(object.metadata) ? object.metadata : {};
    object.metadata = meta;
    if (def.namespaced) {
      if (meta.namespace && meta.namespace !== route.namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      meta.namespace = route.namespace;
    } else delete meta.namespace;
    if (!meta.name && meta.generateName) meta.name = meta.generateName + randomBytes(3).toString('hex').slice(0, 5);
    if (!meta.name) {
      throw invalid(def, '', [
        { reason: 'FieldValueRequired', field: 'metadata.name', message: 'name or generateName is required' },
      ]);
    }
    this.validate(def, meta.name, object);
    if (route.table.objects.has(keyOf(meta.namespace, meta.name))) throw alreadyExists(def, meta.name);
    for (const f of ['uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp', 'generation']) delete meta[f];
    if (def.status) {
      if (def.initialStatus) object['status'] = clone(def.initialStatus);
      else delete object['status'];
    }
    return this.write(route.table, 'ADDED', this.initialMeta(def, object));
  }

  private current(route: Route): FakeObject {
    const name = route.name ?? '';
    const o = route.table.objects.get(keyOf(route.namespace, name));
    if (!o) throw notFound(route.table.def, name);
    return o;
  }

  private update(route: Route, body: unknown): FakeObject {
    const { def } = route.table;
    const current = this.current(route);
    const name = route.name ?? '';
    if (!isObject(body)) throw badRequest('the request body must be a JSON object');
    this.checkTypeMeta(def, body);
    const bodyMeta: FakeObjectMeta = isObject(body['metadata']) ? (body['metadata'] as FakeObjectMeta) : {};
    if (bodyMeta.name !== undefined && bodyMeta.name !== name) {
      throw badRequest(`the name of the object (${bodyMeta.name}) does not match the name on the URL (${name})`);
    }
    if (def.namespaced && bodyMeta.namespace !== undefined && bodyMeta.namespace !== route.namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    const cm = metaOf(current);
    if (bodyMeta.resourceVersion !== undefined && bodyMeta.resourceVersion !== cm.resourceVersion) throw conflict(def, name);

    let next: FakeObject;
    if (route.subresource === 'status') {
      // A status write changes status only.
      next = { ...clone(current), status: clone(body['status']) };
      if (next['status'] === undefined) delete next['status'];
    } else {
      next = clone(body) as FakeObject;
      next.apiVersion = apiVersionOf(def);
      next.kind = def.kind;
      next.metadata = {
        ...clone(bodyMeta),
        name,
        namespace: cm.namespace,
        uid: cm.uid,
        creationTimestamp: cm.creationTimestamp,
        resourceVersion: cm.resourceVersion,
        ...(cm.deletionTimestamp ? { deletionTimestamp: cm.deletionTimestamp } : {}),
      };
      if (!def.namespaced) delete next.metadata.namespace;
      if (def.status) {
        // The main resource ignores status; only /status writes it.
        if (current['status'] === undefined) delete next['status'];
        else next['status'] = clone(current['status']);
      }
      const labels = labelProblems(next.metadata.labels);
      if (labels.length > 0) throw invalid(def, name, labels);
      next.metadata.generation = specOf(current) === specOf(next) ? cm.generation : (cm.generation ?? 1) + 1;
    }
    return this.commitUpdate(route.table, current, next);
  }

  private scaleView(route: Route, o: FakeObject): FakeObject {
    const spec = isObject(o['spec']) ? o['spec'] : {};
    const status = isObject(o['status']) ? o['status'] : {};
    const m = metaOf(o);
    return {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: {
        name: m.name,
        ...(route.table.def.namespaced ? { namespace: m.namespace } : {}),
        uid: m.uid,
        resourceVersion: m.resourceVersion,
        creationTimestamp: m.creationTimestamp,
      },
      spec: { replicas: typeof spec['replicas'] === 'number' ? spec['replicas'] : 0 },
      status: {
        replicas: typeof status['replicas'] === 'number' ? status['replicas'] : 0,
        selector: formatLabelSelector(spec['selector'] as Parameters<typeof formatLabelSelector>[0]),
      },
    };
  }

  private updateScale(route: Route, body: unknown): FakeObject {
    const { def } = route.table;
    const current = this.current(route);
    const name = route.name ?? '';
    if (!isObject(body)) throw badRequest('the request body must be a JSON object');
    this.checkTypeMeta(def, body, 'Scale', 'autoscaling/v1');
    const bodyMeta = isObject(body['metadata']) ? body['metadata'] : {};
    if (bodyMeta['resourceVersion'] !== undefined && bodyMeta['resourceVersion'] !== metaOf(current).resourceVersion) {
      throw conflict(def, name);
    }
    const replicas = isObject(body['spec']) ? body['spec']['replicas'] : undefined;
    if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
      throw invalid({ ...def, kind: 'Scale' }, name, [
        {
          reason: 'FieldValueInvalid',
          field: 'spec.replicas',
          message: `Invalid value: ${JSON.stringify(replicas ?? null)}: must be an integer greater than or equal to 0`,
        },
      ]);
    }
    const next = clone(current);
    const spec = isObject(next['spec']) ? next['spec'] : (next['spec'] = {});
    if (spec['replicas'] !== replicas) {
      spec['replicas'] = replicas;
      metaOf(next).generation = (metaOf(current).generation ?? 1) + 1;
    }
    return this.scaleView(route, this.commitUpdate(route.table, current, next));
  }

  private patch(route: Route, contentType: string, body: unknown): FakeObject {
    const current = this.current(route);
    const view = route.subresource === 'scale' ? this.scaleView(route, current) : clone(current);
    let patched: unknown;
    try {
      if (contentType === 'application/merge-patch+json') patched = mergePatch(view, body);
      else if (contentType === 'application/json-patch+json') patched = applyJsonPatch(view, body);
      else throw unsupportedMediaType(contentType);
    } catch (err) {
      if (err instanceof JsonPatchError) {
        throw invalid(route.table.def, route.name ?? '', [{ reason: 'FieldValueInvalid', message: err.message }]);
      }
      throw err;
    }
    return route.subresource === 'scale' ? this.updateScale(route, patched) : this.update(route, patched);
  }

  private delete(route: Route): FakeObject {
    const current = this.current(route);
    const meta = metaOf(current);
    if ((meta.finalizers ?? []).length === 0) return this.write(route.table, 'DELETED', clone(current));
    if (meta.deletionTimestamp) return clone(current);
    const next = clone(current);
    metaOf(next).deletionTimestamp = this.timestamp();
    return this.write(route.table, 'MODIFIED', next, current);
  }

  private listCollection(route: Route, labels: LabelRequirement[], fields: FieldRequirement[]): FakeObject {
    const { def } = route.table;
    const selection = { namespace: route.namespace, labels, fields };
    const items = sorted(route.table)
      .filter((o) => this.matches(selection, o))
      .map(clone);
    return { kind: `${def.kind}List`, apiVersion: apiVersionOf(def), metadata: { resourceVersion: String(this.rv) }, items };
  }

  // ---- watches ----

  private matches(w: Pick<Watcher, 'namespace' | 'labels' | 'fields'>, o: FakeObject): boolean {
    if (w.namespace !== undefined && o.metadata?.namespace !== w.namespace) return false;
    if (!matchesLabels(w.labels, o.metadata?.labels)) return false;
    return w.fields.every((f) => (fieldValue(o, f.path) === f.value) === f.equal);
  }

  private send(w: Watcher, type: string, object: unknown): void {
    if (!w.res.writableEnded) w.res.write(JSON.stringify({ type, object }) + '\n');
  }

  /** Sends one stored change as this watch sees it through its selectors. */
  private deliver(w: Watcher, e: HistoryEvent): void {
    const now = this.matches(w, e.object);
    if (e.type === 'ADDED' || e.type === 'DELETED') {
      if (now) this.send(w, e.type, e.object);
      return;
    }
    const before = e.previous !== undefined && this.matches(w, e.previous);
    if (before && now) this.send(w, 'MODIFIED', e.object);
    else if (now) this.send(w, 'ADDED', e.object);
    else if (before) this.send(w, 'DELETED', e.object);
  }

  private endWatch(w: Watcher): void {
    if (w.timer) clearTimeout(w.timer);
    this.watchers.delete(w);
    if (!w.res.writableEnded) w.res.end();
  }

  private watch(
    route: Route,
    query: URLSearchParams,
    labels: LabelRequirement[],
    fields: FieldRequirement[],
    res: ServerResponse,
  ): void {
    const rvParam = query.get('resourceVersion') ?? '';
    const from = rvParam === '' ? 0 : Number(rvParam);
    if (!Number.isInteger(from) || from < 0) throw badRequest(`invalid resourceVersion "${rvParam}"`);
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache, private' });
    res.flushHeaders();
    const w: Watcher = {
      table: route.table,
      namespace: route.namespace,
      labels,
      fields,
      bookmarks: query.get('allowWatchBookmarks') === 'true',
      res,
    };
    // The response's close (not the request's) is what fires when the client goes away mid-stream.
    res.on('close', () => this.endWatch(w));
    const timeout = Number(query.get('timeoutSeconds') ?? '');
    if (Number.isFinite(timeout) && timeout > 0) w.timer = setTimeout(() => this.endWatch(w), timeout * 1000);
    this.watchers.add(w);

    if (from === 0) {
      // No resourceVersion (or "0"): start from now, with synthetic ADDED events for what exists.
      for (const o of sorted(route.table)) {
        if (this.matches(w, o)) this.send(w, 'ADDED', o);
      }
      return;
    }
    if (from < route.table.oldestResumable) {
      this.send(w, 'ERROR', expired(from, route.table.oldestResumable).status);
      this.endWatch(w);
      return;
    }
    for (const e of route.table.history) if (e.rv > from) this.deliver(w, e);
  }

  // ---- HTTP ----

  private route(pathname: string): Route {
    let seg: string[];
    try {
      seg = pathname
        .split('/')
        .filter(Boolean)
        .map((s) => decodeURIComponent(s));
    } catch {
      throw badRequest(`malformed path "${pathname}"`);
    }
    let group: string;
    let version: string;
    let rest: string[];
    if (seg[0] === 'api' && seg.length >= 2) [group, version, rest] = ['', seg[1], seg.slice(2)];
    else if (seg[0] === 'apis' && seg.length >= 3) [group, version, rest] = [seg[1], seg[2], seg.slice(3)];
    else throw resourceNotFound();

    if (rest[0] === 'namespaces' && rest.length >= 3) {
      const table = this.tables.get(tableKey(group, version, rest[2]));
      if (table?.def.namespaced && rest.length <= 5)
        return this.checkSub({ table, namespace: rest[1], name: rest[3], subresource: rest[4] });
    }
    const table = rest.length > 0 ? this.tables.get(tableKey(group, version, rest[0])) : undefined;
    if (!table) throw resourceNotFound();
    if (table.def.namespaced) {
      if (rest.length > 1) throw resourceNotFound();
      return { table };
    }
    if (rest.length > 3) throw resourceNotFound();
    return this.checkSub({ table, name: rest[1], subresource: rest[2] });
  }

  private checkSub(route: Route): Route {
    const sub = route.subresource;
    if (sub === undefined || (sub === 'status' && route.table.def.status) || (sub === 'scale' && route.table.def.scale))
      return route;
    throw resourceNotFound();
  }

  private async readBody(req: IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY_BYTES) throw tooLarge();
      chunks.push(chunk as Buffer);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    try {
      return JSON.parse(text);
    } catch (err) {
      throw badRequest(`the request body is not valid JSON: ${(err as Error).message}`);
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method ?? 'GET';
    const entry: FakeRequest = { verb: 'get', resource: '', status: 0 };
    try {
      // Route first so that refused requests are logged with their verb; auth and availability still answer first.
      let route: Route | undefined;
      let routeError: unknown;
      try {
        route = this.route(url.pathname);
      } catch (err) {
        routeError = err;
      }
      const watching = ['true', '1'].includes(url.searchParams.get('watch') ?? '');
      if (route) {
        Object.assign(entry, {
          verb: verbOf(method, route.name !== undefined, watching),
          resource: route.table.def.plural,
          namespace: route.namespace,
          name: route.name,
          subresource: route.subresource,
        });
      }
      const labelSelector = url.searchParams.get('labelSelector') ?? undefined;
      if (labelSelector !== undefined) entry.labelSelector = labelSelector;
      const rv = url.searchParams.get('resourceVersion');
      if (rv !== null) entry.resourceVersion = rv;
      if (this.options.token !== undefined && req.headers.authorization !== `Bearer ${this.options.token}`) throw unauthorized();
      if (this.down) throw unavailable();
      if (!route) throw routeError;

      if (route.name === undefined) {
        if (method === 'GET') {
          let labels: LabelRequirement[];
          try {
            labels = parseLabelSelector(labelSelector);
          } catch (err) {
            if (err instanceof LabelSelectorError) throw badRequest(err.message);
            throw err;
          }
          const fields = parseFieldSelector(url.searchParams.get('fieldSelector'));
          if (watching) {
            this.watch(route, url.searchParams, labels, fields, res);
            entry.status = 200;
            return;
          }
          return this.reply(res, 200, this.listCollection(route, labels, fields), entry);
        }
        if (method === 'POST' && (route.namespace !== undefined || !route.table.def.namespaced)) {
          return this.reply(res, 201, this.create(route, await this.readBody(req)), entry);
        }
        throw methodNotAllowed(method);
      }

      switch (method) {
        case 'GET': {
          const o = this.current(route);
          return this.reply(res, 200, route.subresource === 'scale' ? this.scaleView(route, o) : clone(o), entry);
        }
        case 'PUT': {
          const body = await this.readBody(req);
          return this.reply(
            res,
            200,
            route.subresource === 'scale' ? this.updateScale(route, body) : this.update(route, body),
            entry,
          );
        }
        case 'PATCH': {
          const contentType = (req.headers['content-type'] ?? '').split(';')[0].trim();
          const body = await this.readBody(req);
          return this.reply(res, 200, this.patch(route, contentType, body), entry);
        }
        case 'DELETE':
          if (route.subresource !== undefined) throw methodNotAllowed(method);
          return this.reply(res, 200, this.delete(route), entry);
        default:
          throw methodNotAllowed(method);
      }
    } catch (err) {
      if (err instanceof StatusError) return this.reply(res, err.code, err.status, entry);
      // A bug in the fake: answer like the API server's internal error so the test sees it.
      const message = err instanceof Error ? err.message : String(err);
      return this.reply(
        res,
        500,
        { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: 'InternalError', code: 500 },
        entry,
      );
    } finally {
      this.log.push(entry);
    }
  }

  private reply(res: ServerResponse, status: number, body: unknown, entry: FakeRequest): void {
    entry.status = status;
    if (res.headersSent) {
      res.end();
      return;
    }
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }
}
