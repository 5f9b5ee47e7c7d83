// A dedicated Web Worker that hosts the governance pipeline off the main thread and exposes it with
// comlink. The NLP models load once per worker, on the first call.
import { expose } from 'comlink';
import { createGovernancePipeline } from '../shared/governance';
import { GovernInput, type TextKind, type Verdict } from '../shared/governance/types';

const pipeline = createGovernancePipeline();

export type GovernanceWorkerApi = {
  govern(text: string, kind?: TextKind): Verdict;
  /** Governs many inputs in one round trip; each is validated like a line of `edgelight govern`. */
  governMany(inputs: unknown[]): Array<(Verdict & { id: string }) | { index: number; error: string }>;
};

const api: GovernanceWorkerApi = {
  govern(text, kind = 'feedback') {
    const input = GovernInput.parse({ id: '', text, kind });
    return pipeline.govern(input.text, input.kind);
  },
  governMany(inputs) {
    return inputs.map((value, index) => {
      const parsed = GovernInput.safeParse(value);
      if (!parsed.success) return { index, error: parsed.error.issues.map((i) => i.message).join('; ') };
      return { id: parsed.data.id, ...pipeline.govern(parsed.data.text, parsed.data.kind) };
    });
  },
};

expose(api);
