import type { PromptFormat } from './prompt';

// The contract between the feedback agent and whatever writes its replies. The trained transformer
// (shared/policy), an OpenAI-compatible endpoint and the baseline corpus sampler all implement
// `ReplyPolicy`, so the agent, the runner and the reward never know which one they drive.

/** One sampled reply. Token ids and log-probabilities are present when the policy is a trainable model. */
export interface DraftedReply {
  text: string;
  /** The prompt exactly as the policy tokenised it (the RL loss needs the same context). */
  promptTokenIds?: number[];
  /** Completion tokens, without the prompt. */
  tokenIds?: number[];
  /** Per completion token log-probability under the sampling policy, same length as `tokenIds`. */
  logprobs?: number[];
}

export interface DraftOptions {
  seed?: number;
  temperature?: number;
  maxTokens?: number;
  /** Cooperative cancellation: a policy should stop sampling when it fires. */
  signal?: AbortSignal;
}

export interface ReplyPolicy {
  /** A stable id: a checkpoint id, `llm:<model>` or `baseline-sft-corpus`. */
  readonly id: string;
  /** The prompt format the policy was trained on (default: the plain one). */
  readonly promptFormat?: PromptFormat;
  /**
   * Samples `samplesPerPrompt` replies for each prompt, batched. Result `[i][g]` is the g-th sample
   * for `prompts[i]`.
   */
  draft(prompts: string[], samplesPerPrompt: number, options?: DraftOptions): Promise<DraftedReply[][]>;
}
