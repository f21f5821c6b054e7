/**
 * The EngineDirectory port: which inference engines exist, which model each serves, where it listens
 * and whether it is ready. The gateway routes over it; controllers place adapters and scale over it.
 *
 * Adapters: {@link MemoryEngineDirectory} (embedded mode: the local supervisor registers the engines it
 * starts) and the Kubernetes adapter in @brix/kube (pods labelled with their model). Both pass
 * `describeEngineDirectoryContract`.
 */
export interface EngineInfo {
  /** Unique engine id: the pod name in Kubernetes, the supervisor's name locally. */
  readonly id: string;
  /** The base model the engine serves (its served model name). */
  readonly model: string;
  /** Base URL of the engine's OpenAI-compatible server, without a trailing slash (`http://10.0.0.7:8000`). */
  readonly url: string;
  /** Whether the engine accepts traffic now. */
  readonly ready: boolean;
  /** Accelerator type, e.g. "H100", "A10"; used by capability-aware routing and the optimizer. */
  readonly gpuType?: string;
  /** Base URL of the ai-runtime sidecar beside the engine, when one runs. */
  readonly sidecarUrl?: string;
  /** Node (machine) the engine runs on. */
  readonly node?: string;
  /** Free-form labels (Kubernetes pod labels, or the supervisor's). */
  readonly labels: Readonly<Record<string, string>>;
}

export type DirectoryChange =
  | { readonly type: 'added'; readonly engine: EngineInfo }
  | { readonly type: 'updated'; readonly engine: EngineInfo; readonly previous: EngineInfo }
  | { readonly type: 'removed'; readonly engine: EngineInfo };

export interface EngineDirectory {
  /** Resolves once the first full listing is known (a Kubernetes list, say); list() is empty before. */
  readonly synced: Promise<void>;
  /** Every known engine, or those of one model. Synchronous: it is on the gateway's request path. */
  list(model?: string): readonly EngineInfo[];
  get(id: string): EngineInfo | undefined;
  /** Models with at least one known engine (ready or not). */
  models(): readonly string[];
  /** Calls `listener` for every change after now; returns a function that stops it. */
  watch(listener: (change: DirectoryChange) => void): () => void;
  close(): Promise<void>;
}
