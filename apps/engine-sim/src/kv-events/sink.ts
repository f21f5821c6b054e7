import { type KvEventBatch } from '@brix/engine-model';

/** Where the engine's KV-cache events go (the ZMQ publisher in a process; a list in tests). */
export interface KvEventSink {
  /** Takes one step's events. Called inside the engine's step callback: must not throw or wait. */
  publish(batch: KvEventBatch): void;
  close(): Promise<void>;
}
