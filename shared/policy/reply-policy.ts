// The trained transformer as the feedback agent's `ReplyPolicy`: prompts are tokenised the one way
// (sequence.ts), G samples per prompt come from ONE batched, KV-cached generate call (sampling.ts), and
// each reply carries its prompt ids, completion ids and log-probabilities so the RL update can rebuild
// (prompt, completion, logprobs, reward) from the store.
//
// Runners in one thread each draft for one rollout. With `coalesceMs` > 0 the policy gathers the
// draft() calls that arrive within that window (up to `maxPrompts` prompts) into one generate call:
// one forward per token for the whole step's rollouts instead of one per rollout, which is what makes
// small-batch sampling on wasm affordable.
import type { DraftedReply, DraftOptions, ReplyPolicy } from '../agent/policy';
import type { PromptFormat } from '../agent/prompt';
import { deriveSeed } from '../random';
import type { Policy } from './model';
import { generate, type StepListener } from './sampling';
import { DEFAULT_MAX_NEW_TOKENS, decodeReply, encodePrompt, promptBudget } from './sequence';
import type { PolicyTokenizer } from './tokenizer';

export interface TransformerReplyPolicyOptions {
  /** The checkpoint id the weights came from (or will be published as). */
  id: string;
  policy: Policy;
  tokenizer: PolicyTokenizer;
  maxNewTokens?: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  /** Gather concurrent draft() calls for this long before sampling them together (0: no gathering). */
  coalesceMs?: number;
  /** Sample at once when this many prompts are waiting. */
  maxPrompts?: number;
  /**
   * Awaited after every decoding step. A server passes one that yields to the event loop, so HTTP
   * requests are answered between tokens instead of after the whole draft (wasm ops are synchronous).
   */
  onStep?: StepListener;
}

interface PendingDraft {
  prompts: string[];
  group: number;
  options: DraftOptions;
  resolve: (replies: DraftedReply[][]) => void;
  reject: (error: unknown) => void;
}

export class TransformerReplyPolicy implements ReplyPolicy {
  readonly id: string;
  readonly promptFormat: PromptFormat;
  private readonly maxNewTokens: number;
  private pending: PendingDraft[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly options: TransformerReplyPolicyOptions) {
    this.id = options.id;
    this.promptFormat = { keyWords: options.policy.config.promptKeyWords };
    this.maxNewTokens = options.maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS;
  }

  draft(prompts: string[], samplesPerPrompt: number, options: DraftOptions = {}): Promise<DraftedReply[][]> {
    if (!Number.isInteger(samplesPerPrompt) || samplesPerPrompt < 1)
      return Promise.reject(
        new Error(`samplesPerPrompt must be a positive integer, got ${samplesPerPrompt}`),
      );
    if (prompts.length === 0) return Promise.resolve([]);
    if (!this.options.coalesceMs)
      return this.sample([{ prompts, group: samplesPerPrompt, options }]).then((r) => r[0]);
    return new Promise((resolve, reject) => {
      this.pending.push({ prompts, group: samplesPerPrompt, options, resolve, reject });
      const waiting = this.pending.reduce((n, p) => n + p.prompts.length, 0);
      if (waiting >= (this.options.maxPrompts ?? Number.POSITIVE_INFINITY)) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.options.coalesceMs);
    });
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.pending;
    this.pending = [];
    // Calls that cannot share one generate (different G, temperature or length) go separately.
    const byShape = new Map<string, PendingDraft[]>();
    for (const p of batch) {
      const key = `${p.group}/${p.options.temperature ?? ''}/${p.options.maxTokens ?? ''}`;
      byShape.set(key, [...(byShape.get(key) ?? []), p]);
    }
    for (const calls of byShape.values()) {
      const live = calls.filter((c) => !c.options.signal?.aborted);
      for (const c of calls)
        if (c.options.signal?.aborted) c.reject(c.options.signal.reason ?? new Error('aborted'));
      if (live.length === 0) continue;
      this.sample(live).then(
        (results) => {
          for (const [i, c] of live.entries()) c.resolve(results[i]);
        },
        (error) => {
          for (const c of live) c.reject(error);
        },
      );
    }
  }

  /** One generate call for several draft() calls; results in call order. */
  private async sample(calls: Array<Omit<PendingDraft, 'resolve' | 'reject'>>): Promise<DraftedReply[][][]> {
    const { policy, tokenizer } = this.options;
    const first = calls[0].options;
    const maxNewTokens = Math.min(first.maxTokens ?? this.maxNewTokens, this.maxNewTokens);
    const budget = promptBudget(policy.config.blockSize, maxNewTokens);
    // A fixed order (by seed, then text) makes a gathered batch independent of arrival order.
    const order = calls
      .map((call, i) => ({ call, i }))
      .sort(
        (a, b) =>
          (a.call.options.seed ?? 0) - (b.call.options.seed ?? 0) ||
          a.call.prompts.join().localeCompare(b.call.prompts.join()),
      );
    const prompts = order.flatMap(({ call }) => call.prompts);
    const promptIds = prompts.map((p) => encodePrompt(tokenizer, p, budget));
    const sequences = await generate(
      policy,
      promptIds,
      {
        maxNewTokens,
        samplesPerPrompt: calls[0].group,
        temperature: first.temperature ?? this.options.temperature ?? 1,
        topK: this.options.topK ?? 0,
        topP: this.options.topP ?? 1,
        stopTokens: [tokenizer.eosId],
        // Each prompt samples from its own stream (its call's seed and its place in the call), so a
        // reply does not depend on which other calls this batch happened to gather.
        promptSeeds: order.flatMap(({ call }) =>
          call.prompts.map((_, j) => deriveSeed(call.options.seed ?? 0, `prompt:${j}`)),
        ),
      },
      this.options.onStep,
    );
    const perPrompt: DraftedReply[][] = promptIds.map(() => []);
    for (const s of sequences) {
      perPrompt[s.promptIndex][s.sample] = {
        text: decodeReply(tokenizer, s.tokens),
        promptTokenIds: promptIds[s.promptIndex],
        tokenIds: s.tokens,
        logprobs: s.logprobs,
      };
    }
    const results: DraftedReply[][][] = new Array(calls.length);
    let cursor = 0;
    for (const { call, i } of order) {
      results[i] = perPrompt.slice(cursor, cursor + call.prompts.length);
      cursor += call.prompts.length;
    }
    return results;
  }
}
