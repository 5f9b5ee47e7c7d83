import { z } from 'zod';

/** The built-in model shapes (their configs: PRESETS in model.ts). A leaf module, so forms can import it. */
export const PresetNameSchema = z.enum(['tiny', 'small', 'llama-tiny'], {
  error: 'tiny, small or llama-tiny',
});
export type PresetName = z.infer<typeof PresetNameSchema>;
