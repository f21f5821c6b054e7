import { EngineTableRegistry } from '../registry';
import { sglangTable } from './sglang/sglang';
import { vllmTable } from './vllm/vllm';

export { sglangTable } from './sglang/sglang';
export { vllmTable } from './vllm/vllm';

/** The one place built-in engine tables are registered. Returns a fresh registry each call. */
export function createEngineTableRegistry(): EngineTableRegistry {
  return new EngineTableRegistry().register(vllmTable).register(sglangTable);
}
