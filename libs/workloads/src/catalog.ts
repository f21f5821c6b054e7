import { meanLength, type Workload, WorkloadError } from '@brix/cluster-sim';
import { type BirdSqlOptions, birdSqlMeans, birdSqlWorkload } from './bird-sql';
import { type WorkloadBase } from './common';
import { type MultiTurnOptions, multiTurnDefaults, multiTurnMeanTurns, multiTurnWorkload } from './multi-turn';
import { type SharedPrefixOptions, sharedPrefixMeans, sharedPrefixWorkload } from './shared-prefix';
import { type ShareGptOptions, shareGptMeans, shareGptWorkload } from './sharegpt';

export const WORKLOAD_KINDS = ['shared-prefix', 'multi-turn', 'sharegpt', 'bird-sql'] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

type Extra<T> = Partial<Omit<T, keyof WorkloadBase>>;

/** A workload by name, with generator options beyond the common ones. */
export type WorkloadSpec =
  | { kind: 'shared-prefix'; options?: Extra<SharedPrefixOptions> }
  | { kind: 'multi-turn'; options?: Extra<MultiTurnOptions> }
  | { kind: 'sharegpt'; options?: Extra<ShareGptOptions> }
  | { kind: 'bird-sql'; options?: Extra<BirdSqlOptions> };

export interface BuiltWorkload {
  workload: Workload;
  /** Requests per arrival: 1, or the mean turns of a multi-turn session. Divide a request rate by it for the arrival rate. */
  requestsPerArrival: number;
  /** Mean prompt and output tokens per request (approximate for multi-turn, whose prompts grow with each turn). */
  means: { promptTokens: number; outputTokens: number };
}

/** Builds a named workload over the common options (seed, arrivals, window). */
export function buildWorkload(spec: WorkloadSpec, common: WorkloadBase): BuiltWorkload {
  switch (spec.kind) {
    case 'shared-prefix':
      return {
        workload: sharedPrefixWorkload({ ...spec.options, ...common }),
        requestsPerArrival: 1,
        means: sharedPrefixMeans(spec.options),
      };
    case 'sharegpt':
      return {
        workload: shareGptWorkload({ ...spec.options, ...common }),
        requestsPerArrival: 1,
        means: shareGptMeans(spec.options),
      };
    case 'bird-sql':
      return {
        workload: birdSqlWorkload({ ...spec.options, ...common }),
        requestsPerArrival: 1,
        means: birdSqlMeans(spec.options),
      };
    case 'multi-turn': {
      const turns = multiTurnMeanTurns(spec.options);
      const o = { ...multiTurnDefaults, ...spec.options };
      const user = meanLength(o.userTokens);
      const out = meanLength(o.outputTokens);
      return {
        workload: multiTurnWorkload({ ...spec.options, ...common }),
        requestsPerArrival: turns,
        // Turn k's prompt holds k user messages and k − 1 answers; averaged over turns 1…T.
        means: { promptTokens: o.systemPromptTokens + ((turns + 1) / 2) * user + ((turns - 1) / 2) * out, outputTokens: out },
      };
    }
    default:
      throw new WorkloadError(
        `unknown workload ${JSON.stringify((spec as { kind: string }).kind)} (known: ${WORKLOAD_KINDS.join(', ')})`,
      );
  }
}
