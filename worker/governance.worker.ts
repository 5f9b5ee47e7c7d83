// A dedicated Web Worker that hosts the governance pipeline off the main thread and exposes it with
// comlink. The NLP models load once per worker, on the first call; the PERSON recognizer's name data
// (a chunk of its own, ~150 KB gzipped) is fetched when the worker starts and awaited before the
// first govern.
import { expose } from 'comlink';
import { createGovernancePipeline } from '../shared/governance';
import { loadNameData } from '../shared/governance/pii/names';
import { GovernInput, type TextKind, type Verdict } from '../shared/governance/types';

const pipeline = createGovernancePipeline();
const nameData = loadNameData();

export type GovernanceWorkerApi = {
  govern(text: string, kind?: TextKind): Promise<Verdict>;
  /** Governs many inputs in one round trip; each is validated like a line of `edgelight govern`. */
  governMany(
    inputs: unknown[],
  ): Promise<Array<(Verdict & { id: string }) | { index: number; error: string }>>;
};

const api: GovernanceWorkerApi = {
  async govern(text, kind = 'feedback') {
    await nameData;
    const input = GovernInput.parse({ id: '', text, kind });
    return pipeline.govern(input.text, input.kind);
  },
  async governMany(inputs) {
    await nameData;
    return inputs.map((value, index) => {
      const parsed = GovernInput.safeParse(value);
      if (!parsed.success) return { index, error: parsed.error.issues.map((i) => i.message).join('; ') };
      return { id: parsed.data.id, ...pipeline.govern(parsed.data.text, parsed.data.kind) };
    });
  },
};

expose(api);
