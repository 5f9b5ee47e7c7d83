import { z } from 'zod';
import { PiiType } from '../governance/types';
import { FeedbackCategory, FeedbackTask } from '../agent/task';

// Dataset shapes: a generated item is a FeedbackTask whose metadata says where it came from, and an
// SFT example pairs a prompt (built by the agent's one prompt builder) with a reference reply.

export const Split = z.enum(['train', 'val', 'test']);
export type Split = z.infer<typeof Split>;

export const SentimentLabel = z.enum(['negative', 'neutral', 'positive']);

export const DatasetItemMetadata = z.object({
  family: z.string().min(1),
  split: Split,
  /** The sentiment the template was written with (governance measures its own). */
  sentiment: SentimentLabel,
  pii: z.array(PiiType),
  valuesQuestion: z.boolean(),
  /** Slot values, so a reference reply can name what the feedback is about. */
  slots: z.record(z.string(), z.string()),
});
export type DatasetItemMetadata = z.infer<typeof DatasetItemMetadata>;

export const DatasetItem = FeedbackTask.extend({
  category: FeedbackCategory,
  locale: z.string(),
  metadata: DatasetItemMetadata,
});
export type DatasetItem = z.infer<typeof DatasetItem>;

export const ReplyFlaw = z.enum([
  'absolute-assurance',
  'maturity-claim',
  'uncited-statistic',
  'too-short',
  'too-long',
]);
export type ReplyFlaw = z.infer<typeof ReplyFlaw>;

export const SftExample = z.object({
  id: z.string().min(1),
  taskId: z.string().min(1),
  category: FeedbackCategory,
  family: z.string().min(1),
  prompt: z.string().min(1),
  reply: z.string().min(1),
  /** Empty for a reference reply; the deliberate bad habits otherwise. */
  flaws: z.array(ReplyFlaw),
});
export type SftExample = z.infer<typeof SftExample>;
