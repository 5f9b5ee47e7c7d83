import type { z } from 'zod';
import type { RolloutContext } from './context';
import type { RewardValue } from './semconv';

// `rollout(fn)`: turns a plain async function into an agent a Runner can execute. The function gets
// the task (validated when a schema is given) and the rollout context: resources (`policy`, `llm`),
// the attempted rollout and the emitters. A number (or `{ primary, ... }`) it returns becomes a reward
// span, as in Agent Lightning, where a rollout function returning a float is its final reward.

// biome-ignore lint/suspicious/noConfusingVoidType: an agent may simply return nothing
type AgentReturn = RewardValue | undefined | void;

export type AgentFunction<Task> = (task: Task, context: RolloutContext) => Promise<AgentReturn> | AgentReturn;

export interface LitAgent {
  readonly name: string;
  /** Runs one attempt; throws whatever the agent throws (the runner records it). */
  execute(input: unknown, context: RolloutContext): Promise<void>;
}

export interface RolloutOptions<Task> {
  name?: string;
  /** Validates the rollout input before the agent sees it. */
  taskSchema?: z.ZodType<Task>;
  /** Where duplicate-signal warnings go (default: console.warn). */
  warn?: (message: string) => void;
}

export class TaskValidationError extends Error {
  override readonly name = 'TaskValidationError';
}

function isRewardValue(value: unknown): value is RewardValue {
  if (typeof value === 'number') return true;
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { primary?: unknown }).primary === 'number'
  );
}

export function rollout<Task = unknown>(
  fn: AgentFunction<Task>,
  options: RolloutOptions<Task> = {},
): LitAgent {
  const warn = options.warn ?? ((message: string) => console.warn(message));
  const name = options.name ?? (fn.name || 'agent');
  return {
    name,
    async execute(input, context) {
      let task = input as Task;
      if (options.taskSchema) {
        const parsed = options.taskSchema.safeParse(input);
        if (!parsed.success) {
          const detail = parsed.error.issues
            .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
            .join('; ');
          throw new TaskValidationError(`rollout ${context.rollout.rollout_id}: invalid task (${detail})`);
        }
        task = parsed.data;
      }
      const result = await fn(task, context);
      if (result !== undefined && result !== null) {
        if (!isRewardValue(result)) {
          throw new TypeError(
            `agent '${name}' returned ${typeof result}; return a reward (number | {primary, ...}) or nothing`,
          );
        }
        if (context.rewardCount > 0) {
          warn(
            `agent '${name}' both emitted a reward and returned one in rollout ${context.rollout.rollout_id}; ` +
              'the returned value is ignored (duplicate reward signal)',
          );
        } else {
          await context.emitReward(result);
        }
      }
      await context.flush();
    },
  };
}
