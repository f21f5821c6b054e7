/**
 * A client-node informer that never gives up. client-node's ListWatch lists, then watches; it re-watches
 * from the last resourceVersion when a watch ends cleanly and lists again on 410 Expired, but on any
 * other failure (server unreachable, 5xx, a list that fails) it reports the error and stops. The
 * Reflector then waits (exponential backoff on the injected clock) and starts a fresh informer, whose
 * first step is a full list: so after any error the view is rebuilt from a list, and objects deleted
 * while the connection was down are noticed.
 */
import { type Clock, type TimerHandle, WallClock } from '@brix/clock';
import { type Logger } from '@brix/observability';
import {
  ADD,
  DELETE,
  ERROR,
  type Informer,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  makeInformer,
  UPDATE,
} from '@kubernetes/client-node';

export interface RetryOptions {
  /** First wait after a failure, ms (default 250). Doubles per consecutive failure. */
  initialDelayMs?: number;
  /**
   * Longest wait, ms (default 30 000). An informer that ran this long before failing counts as healthy:
   * the next wait is `initialDelayMs` again. (A list that succeeds followed by a watch that is refused,
   * say for a missing `watch` verb, still backs off instead of relisting four times a second.)
   */
  maxDelayMs?: number;
}

export interface ReflectorHandlers<T> {
  /** A full list arrived: `items` is the whole truth for this reflector's selector. */
  listed(items: readonly T[]): void;
  /** An object was added or changed (from the watch, or from a list). */
  upserted(object: T): void;
  /** An object was deleted, or stopped matching the selector. */
  deleted(object: T): void;
}

export interface ReflectorOptions<T extends KubernetesObject> {
  kubeConfig: KubeConfig;
  /** Collection path watched (`/api/v1/namespaces/prod/pods`). */
  path: string;
  /** Lists the same collection (with the same selector) through a typed API. */
  list: () => Promise<KubernetesListObject<T>>;
  labelSelector?: string;
  handlers: ReflectorHandlers<T>;
  clock?: Clock;
  retry?: RetryOptions;
  logger?: Pick<Logger, 'warn'>;
}

export class Reflector<T extends KubernetesObject> {
  private informer?: Informer<T>;
  /** Bumped for each informer started; callbacks of an older informer are ignored. */
  private generation = 0;
  private failures = 0;
  /** Clock time the current informer started. */
  private startedAt = 0;
  private timer?: TimerHandle;
  private stopped = false;
  private lists = 0;
  private markSynced!: () => void;
  /** Resolves after the first successful list has been handed to `listed`. */
  readonly synced = new Promise<void>((resolve) => (this.markSynced = resolve));
  private readonly clock: Clock;

  constructor(private readonly options: ReflectorOptions<T>) {
    this.clock = options.clock ?? new WallClock();
  }

  /** Successful lists so far (the first one and every relist). */
  get listCount(): number {
    return this.lists;
  }

  start(): void {
    if (this.stopped || this.informer) return;
    const generation = ++this.generation;
    this.startedAt = this.clock.now();
    const current = () => generation === this.generation && !this.stopped;
    const { kubeConfig, path, labelSelector, handlers } = this.options;
    const informer = makeInformer<T>(
      kubeConfig,
      path,
      async () => {
        const list = await this.options.list();
        if (current()) {
          this.lists++;
          handlers.listed(list.items ?? []);
          this.markSynced();
        }
        return list;
      },
      labelSelector,
    );
    informer.on(ADD, (o) => current() && handlers.upserted(o));
    informer.on(UPDATE, (o) => current() && handlers.upserted(o));
    informer.on(DELETE, (o) => current() && handlers.deleted(o));
    // Stopping an informer aborts its watch, which client-node also reports as an error: hence current().
    informer.on(ERROR, (err) => current() && this.retryAfter(err));
    this.informer = informer;
    informer.start().catch((err: unknown) => current() && this.retryAfter(err));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    const informer = this.informer;
    this.informer = undefined;
    await informer?.stop();
  }

  private retryAfter(err: unknown): void {
    const { initialDelayMs = 250, maxDelayMs = 30_000 } = this.options.retry ?? {};
    if (this.clock.now() - this.startedAt >= maxDelayMs) this.failures = 0;
    const delay = Math.min(maxDelayMs, initialDelayMs * 2 ** this.failures);
    this.failures++;
    this.options.logger?.warn(
      { err, path: this.options.path, retryInMs: delay },
      'Kubernetes list/watch failed; will list again after the delay',
    );
    const old = this.informer;
    this.informer = undefined;
    this.generation++;
    void old?.stop();
    this.timer = this.clock.setTimer(delay, () => {
      this.timer = undefined;
      this.start();
    });
  }
}
