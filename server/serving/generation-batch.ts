// Requests that wait for one policy are sampled together. Generation runs one call at a time per policy
// (the policy cache's queue); while a call runs, the requests that arrive queue here, and the next call
// takes every waiting request of the same shape (n, length, temperature, top-p) as the prompts of ONE
// batched generate: one forward per token for all of them instead of one each. The first request after
// an idle spell starts at once (no gathering window), so a lone client waits for nothing.
//
// Each request keeps its own sampling stream (generate's promptSeeds), so its replies do not depend on
// which others shared its batch, up to the float rounding of a wider batch.
import { type GeneratedSequence, generate } from '../../shared/policy/sampling';
import type { LoadedPolicy, PolicyCache } from './policy-cache';

export interface GenerationRequest {
  promptIds: number[];
  seed: number;
  n: number;
  maxNewTokens: number;
  temperature: number;
  topP: number;
  /**
   * After every step: this request's rows and the step's logits, where this request's row b is logits
   * row `firstRow + b` (each `vocab` wide).
   */
  onStep?: (step: {
    rows: readonly GeneratedSequence[];
    logits: Float32Array;
    firstRow: number;
    vocab: number;
    loaded: LoadedPolicy;
  }) => void | Promise<void>;
}

interface Waiting {
  request: GenerationRequest;
  resolve: (rows: GeneratedSequence[]) => void;
  reject: (error: unknown) => void;
}

const shapeOf = (r: GenerationRequest) => `${r.n}/${r.maxNewTokens}/${r.temperature}/${r.topP}`;

export class GenerationBatcher {
  private readonly waiting = new Map<string, Waiting[]>();
  private readonly draining = new Set<string>();

  /** `maxRows`: most sequences (prompts × n) one generate call decodes together. */
  constructor(
    private readonly policies: PolicyCache,
    private readonly maxRows = 32,
  ) {}

  /** The request's n rows (sample 0..n-1), once its batch has been generated. */
  generate(checkpointId: string, request: GenerationRequest): Promise<GeneratedSequence[]> {
    return new Promise((resolve, reject) => {
      const queue = this.waiting.get(checkpointId) ?? [];
      queue.push({ request, resolve, reject });
      this.waiting.set(checkpointId, queue);
      if (!this.draining.has(checkpointId)) void this.drain(checkpointId);
    });
  }

  private async drain(checkpointId: string): Promise<void> {
    this.draining.add(checkpointId);
    try {
      for (;;) {
        const queue = this.waiting.get(checkpointId) ?? [];
        if (queue.length === 0) break;
        const shape = shapeOf(queue[0].request);
        const batch: Waiting[] = [];
        let rows = 0;
        for (const w of queue) {
          if (shapeOf(w.request) !== shape) continue;
          if (batch.length > 0 && rows + w.request.n > this.maxRows) break;
          batch.push(w);
          rows += w.request.n;
        }
        this.waiting.set(
          checkpointId,
          queue.filter((w) => !batch.includes(w)),
        );
        await this.run(checkpointId, batch);
      }
    } finally {
      this.waiting.delete(checkpointId);
      this.draining.delete(checkpointId);
    }
  }

  private async run(checkpointId: string, batch: Waiting[]): Promise<void> {
    const first = batch[0].request;
    const n = first.n;
    try {
      const rows = await this.policies.use(checkpointId, (loaded) =>
        generate(
          loaded.policy,
          batch.map((w) => w.request.promptIds),
          {
            maxNewTokens: first.maxNewTokens,
            samplesPerPrompt: n,
            temperature: first.temperature,
            topP: first.topP,
            stopTokens: [loaded.tokenizer.eosId],
            promptSeeds: batch.map((w) => w.request.seed),
          },
          batch.some((w) => w.request.onStep)
            ? async ({ rows: current, logits }) => {
                for (const [j, w] of batch.entries())
                  await w.request.onStep?.({
                    rows: current.slice(j * n, (j + 1) * n),
                    logits,
                    firstRow: j * n,
                    vocab: loaded.policy.config.vocabSize,
                    loaded,
                  });
              }
            : undefined,
        ),
      );
      for (const [j, w] of batch.entries()) w.resolve(rows.slice(j * n, (j + 1) * n));
    } catch (error) {
      for (const w of batch) w.reject(error);
    }
  }
}
