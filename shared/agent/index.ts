// shared/agent: the rollout SDK, the runner, the feedback agent and its reward.
export { createBaselinePolicy, BASELINE_POLICY_ID } from './baseline-policy';
export { createRolloutContext, type Operation, type ResolvedResources, type RolloutContext } from './context';
export {
  createFeedbackAgent,
  type FeedbackAgentOptions,
  REPLY_ATTR,
  REPLY_OBJECT_TYPE,
  type ScoredReply,
} from './feedback-agent';
export { createLlmPolicy, type LlmPolicyOptions } from './llm-policy';
export type { DraftedReply, DraftOptions, ReplyPolicy } from './policy';
export { buildFeedbackPrompt, REPLY_MARKER } from './prompt';
export * from './reward';
export { type AgentFunction, type LitAgent, rollout, TaskValidationError } from './rollout';
export {
  type PolicyResolver,
  type RolloutOutcome,
  Runner,
  type RunnerHooks,
  type RunnerOptions,
  type RunnerStats,
  runRunners,
} from './runner';
export { extractReplySamples, type ReplySample } from './samples';
export * from './semconv';
export { FEEDBACK_CATEGORIES, FeedbackCategory, FeedbackTask } from './task';
