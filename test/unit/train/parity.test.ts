// The same seeded train step on cpu, wasm and webgpu (Dawn in Node on SwiftShader) agrees: the loss
// within 1e-4 relative, every gradient within 1e-3 of its own largest magnitude, and the weights after
// one AdamW step within 1e-4 absolute. (float32 sums in different orders differ by ~1e-6 relative;
// AdamW's normalised update of a near-zero gradient is the most sensitive quantity, hence 1e-4.)
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type BackendName, selectBackend } from '../../../shared/train/backend';
import {
  compareFingerprints,
  PARITY_CONFIG,
  PARITY_COPY_BATCH,
  PARITY_TOLERANCE,
  trainStepFingerprint,
} from '../../../shared/train/parity';

const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER)) process.env.VK_ICD_FILENAMES = SWIFTSHADER;

async function fingerprintOn(backend: BackendName, copy: boolean) {
  await selectBackend({ prefer: backend });
  return copy ? trainStepFingerprint({ ...PARITY_CONFIG, copy }, PARITY_COPY_BATCH) : trainStepFingerprint();
}

describe('backend parity of one train step', () => {
  it.each([
    ['', false],
    [' (with the copy head)', true],
  ])(
    'cpu, wasm and webgpu (SwiftShader) agree on loss, gradients and the updated weights%s',
    async (_, copy) => {
      const cpu = await fingerprintOn('cpu', copy);
      expect(cpu.backend).toBe('cpu');
      // ≈ ln 40 at init; below it with the copy head, whose pointer already puts mass on repeated tokens.
      if (copy) expect(cpu.loss).toBeLessThan(Math.log(40) - 0.5);
      else expect(cpu.loss).toBeGreaterThan(3);
      // The step moved the weights, so the comparison is not of untouched initial values.
      const moved = cpu.after['h.0.attn.wqkv'].map((x, i) => Math.abs(x - cpu.before['h.0.attn.wqkv'][i]));
      expect(Math.max(...moved)).toBeGreaterThan(1e-3);
      if (copy) expect(Math.max(...cpu.grads['copy.wk'].map(Math.abs))).toBeGreaterThan(1e-4); // the pointer learns
      for (const backend of ['wasm', 'webgpu'] as const) {
        const other = await fingerprintOn(backend, copy);
        expect(other.backend).toBe(backend);
        const report = compareFingerprints(cpu, other);
        expect(report.lossRelative, backend).toBeLessThan(PARITY_TOLERANCE.lossRelative);
        expect(report.gradRelative, `${backend} worst gradient ${report.worst}`).toBeLessThan(
          PARITY_TOLERANCE.gradRelative,
        );
        expect(report.weightAbsolute, backend).toBeLessThan(PARITY_TOLERANCE.weightAbsolute);
      }
    },
  );
});
