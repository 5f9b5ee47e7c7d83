// What people's choices look like as training data, in the JSON Lines shapes TRL's trainers read:
//
//   PreferencePair    {"prompt", "chosen", "rejected"}   DPO: the reply a reviewer preferred over another
//   PreferenceLabel   {"prompt", "completion", "label"}  KTO: one reply, acceptable (true) or not (false)
//
// Prompts are rendered prompt texts (shared/agent/prompt.ts, ending "\nReply:"), as the SFT corpus's
// `prompt` is; replies are plain reply texts. Other fields on a line (an id, where it came from) are allowed
// and dropped.
import { z } from 'zod';

const text = (what: string) =>
  z.string({ error: `${what} must be a string` }).refine((s) => s.trim() !== '', `${what} is empty`);

export const PreferencePair = z
  .object({ prompt: text('prompt'), chosen: text('chosen'), rejected: text('rejected') })
  // The same reply on both sides has a margin of exactly 0 whatever the policy: nothing to learn.
  .refine((p) => p.chosen.trim() !== p.rejected.trim(), {
    message: 'chosen and rejected are the same reply',
    path: ['rejected'],
  });
export type PreferencePair = z.infer<typeof PreferencePair>;

export const PreferenceLabel = z.object({
  prompt: text('prompt'),
  completion: text('completion'),
  label: z.boolean({ error: 'label must be true (desirable) or false (undesirable)' }),
});
export type PreferenceLabel = z.infer<typeof PreferenceLabel>;
