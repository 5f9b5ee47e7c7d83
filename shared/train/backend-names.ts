import { z } from 'zod';

/** The tfjs backends the project runs on, and a request for one ('auto': the fastest that works). */
export const BackendNameSchema = z.enum(['webgpu', 'webgl', 'wasm', 'cpu']);
export type BackendName = z.infer<typeof BackendNameSchema>;
export const BackendRequestSchema = z.enum(['auto', 'webgpu', 'webgl', 'wasm', 'cpu'], {
  error: 'auto, webgpu, webgl, wasm or cpu',
});
export type BackendRequest = z.infer<typeof BackendRequestSchema>;
