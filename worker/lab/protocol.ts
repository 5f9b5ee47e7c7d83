import { z } from 'zod';

// What the page and the lab worker exchange, beyond the shared/ types they pass through as-is.
// Inputs that come from the page are validated in the worker with these schemas.

export const LineError = z.object({ line: z.number().int().min(1), error: z.string() });
export type LineError = z.infer<typeof LineError>;

export const DatasetFilter = z.object({
  split: z.string().optional(),
  category: z.string().optional(),
  sentiment: z.string().optional(),
});
export type DatasetFilter = z.infer<typeof DatasetFilter>;

export const GenerateRequest = z.object({
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1),
  size: z.number().int().min(1).max(100_000),
  badHabitShare: z.number().min(0).max(1),
});
export type GenerateRequest = z.infer<typeof GenerateRequest>;

/** One example as the Dataset page lists it. */
export type DatasetRow = {
  id: string;
  split: string;
  category?: string;
  sentiment?: string;
  text: string;
  tags: string[];
};

export type DatasetSummary = {
  total: number;
  bySplit: Record<string, number>;
  splits: string[];
  categories: string[];
  sentiments: string[];
};

export const Page = z.object({
  offset: z.number().int().min(0),
  limit: z.number().int().min(1).max(1000),
});

export const TraceFilter = z.object({
  status: z.string().optional(),
  mode: z.string().optional(),
  minReward: z.number().optional(),
  maxReward: z.number().optional(),
  search: z.string().max(200).optional(),
});
export type TraceFilter = z.infer<typeof TraceFilter>;

/** A rollout row of the trace explorer; reward null when no reward span was recorded. */
export type TraceRow = {
  rollout_id: string;
  status: string;
  mode: string;
  reward: number | null;
  start_time: number;
  end_time: number | null;
  attempts: number;
  preview: string;
};
