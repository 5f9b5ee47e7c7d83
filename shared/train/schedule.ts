// Learning-rate schedule: linear warm-up from 0, then cosine decay to `minLr` at `totalSteps` (and flat after).
// A pure function of the step, so a resumed run gets exactly the rate it would have had.
import { z } from 'zod';

export const ScheduleConfigSchema = z
  .object({
    lr: z.number().positive(),
    warmupSteps: z.number().int().min(0).default(0),
    totalSteps: z.number().int().min(1),
    minLr: z.number().min(0).default(0),
  })
  .refine((s) => s.minLr <= s.lr, { message: 'minLr must be ≤ lr' });
export type ScheduleConfig = z.infer<typeof ScheduleConfigSchema>;
export type ScheduleConfigInput = z.input<typeof ScheduleConfigSchema>;

/** The learning rate for optimizer step `step` (0-based: the first update uses step 0). */
export function learningRateAt(step: number, schedule: ScheduleConfig): number {
  const { lr, warmupSteps, totalSteps, minLr } = schedule;
  if (step < warmupSteps) return (lr * (step + 1)) / (warmupSteps + 1);
  if (step >= totalSteps) return minLr;
  const span = Math.max(1, totalSteps - warmupSteps);
  const progress = (step - warmupSteps) / span; // [0, 1)
  return minLr + 0.5 * (lr - minLr) * (1 + Math.cos(Math.PI * progress));
}
