import { stringKey32 } from '@brix/block-hash';

/** A LoRA adapter known to the engine. */
export interface Adapter {
  readonly name: string;
  /** vLLM's `lora_int_id`: 1, 2, … in registration order (published in BlockStored.lora_id). */
  readonly intId: number;
  /** Extra key mixed into this adapter's block hashes (vLLM puts the LoRA name in the hash's extra keys). */
  readonly hashKey: number;
}

/**
 * The adapters an engine serves and which of them are loaded in host memory.
 *
 * vLLM keeps at most `max_cpu_loras` adapters loaded (LRU); a batch that needs an adapter that is not loaded
 * waits for it to load from storage first. {@link AdapterSet.useInStep} reports those loads so the step pays
 * for them. The GPU-slot limit (`max_loras` distinct adapters per batch) is the scheduler's.
 */
export class AdapterSet {
  private readonly registered = new Map<string, Adapter>();
  /** Loaded adapters, least recently used first (Map keeps insertion order). */
  private readonly resident = new Map<string, Adapter>();
  private nextIntId = 1;

  constructor(readonly maxCpuLoras: number) {}

  get(name: string): Adapter | undefined {
    return this.registered.get(name);
  }

  names(): string[] {
    return [...this.registered.keys()];
  }

  residentNames(): string[] {
    return [...this.resident.keys()];
  }

  /** Registers an adapter (loaded: the caller has paid its load time). Returns the existing one if known. */
  register(name: string): Adapter {
    let a = this.registered.get(name);
    if (!a) {
      a = { name, intId: this.nextIntId++, hashKey: stringKey32(name) };
      this.registered.set(name, a);
    }
    this.markResident(a);
    return a;
  }

  /** Forgets an adapter: new requests cannot name it. Running requests that use it keep their reference. */
  unregister(name: string): boolean {
    this.resident.delete(name);
    return this.registered.delete(name);
  }

  /** Marks an adapter used by the next step; returns true when it must be loaded first. */
  useInStep(a: Adapter): boolean {
    const wasResident = this.resident.has(a.name);
    this.markResident(a);
    return !wasResident;
  }

  private markResident(a: Adapter): void {
    this.resident.delete(a.name);
    this.resident.set(a.name, a);
    while (this.resident.size > this.maxCpuLoras) {
      const lru = this.resident.keys().next().value as string;
      this.resident.delete(lru);
    }
  }
}
