import { z } from 'zod';

// What the feedback agent works on: one piece of visitor feedback. The same schema is the rollout
// input in the store, a line of a dataset file and the generator's output.

export const FeedbackCategory = z.enum([
  'website-bug',
  'framework-issue',
  'content-gap',
  'feature-request',
  'positive',
  'noise',
]);
export type FeedbackCategory = z.infer<typeof FeedbackCategory>;
export const FEEDBACK_CATEGORIES = FeedbackCategory.options;

export const FeedbackTask = z.object({
  id: z.string().min(1),
  text: z.string().min(1).max(20_000),
  category: FeedbackCategory.optional(),
  locale: z.string().min(2).max(35).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});
export type FeedbackTask = z.infer<typeof FeedbackTask>;
