// What people's choices look like as training data, in the JSON Lines shapes TRL's trainers read:
//
//   PreferencePair    {"prompt", "chosen", "rejected"}   DPO: the reply a reviewer preferred over another
//   PreferenceLabel   {"prompt", "completion", "label"}  KTO: one reply, acceptable (true) or not (false)
//   SftPairInput      {"prompt", "reply"} or {"prompt", "completion"}   SFT (the corpus's or TRL's shape)
//
// Prompts are rendered prompt texts (shared/agent/prompt.ts, ending "\nReply:"), as the SFT corpus's
// `prompt` is; replies are plain reply texts. Other fields on a line (an id, where it came from) are allowed
// and dropped.
import { z } from 'zod';

const text = (what: string) =>
  z.string({ error: `${what} must be a string` }).refine((s) => s.trim() !== '', `${what} is empty`);

/** A pair's fields, without the rule across them: what the review export extends with provenance. */
export const PreferencePairFields = z.object({
  prompt: text('prompt'),
  chosen: text('chosen'),
  rejected: text('rejected'),
});

/** The same reply on both sides has a margin of exactly 0 whatever the policy: nothing to learn. */
export function withDistinctReplies<S extends z.ZodType<{ chosen: string; rejected: string }>>(schema: S) {
  return schema.refine((p) => p.chosen.trim() !== p.rejected.trim(), {
    message: 'chosen and rejected are the same reply',
    path: ['rejected'],
  });
}

export const PreferencePair = withDistinctReplies(PreferencePairFields);
export type PreferencePair = z.infer<typeof PreferencePair>;

export const PreferenceLabel = z.object({
  prompt: text('prompt'),
  completion: text('completion'),
  label: z.boolean({ error: 'label must be true (desirable) or false (undesirable)' }),
});
export type PreferenceLabel = z.infer<typeof PreferenceLabel>;

/**
 * An SFT example as a file may hold it: the corpus's `{prompt, reply}` or TRL's prompt–completion
 * `{prompt, completion}` (what `edgelight data reviews` writes), read as `{prompt, reply}`.
 */
export const SftPairInput = z
  .object({
    prompt: text('prompt'),
    reply: text('reply').optional(),
    completion: text('completion').optional(),
  })
  .refine((e) => (e.reply === undefined) !== (e.completion === undefined), {
    message: 'give reply or completion (one of them)',
    path: ['reply'],
  })
  .transform((e) => ({ prompt: e.prompt, reply: (e.reply ?? e.completion) as string }));
export type SftPairInput = z.output<typeof SftPairInput>;
