// The same seeded train step on cpu, wasm and webgpu (Dawn in Node on SwiftShader) agrees: the loss
// within 1e-4 relative, every gradient within 1e-3 of its own largest magnitude, and the weights after
// one AdamW step within 1e-4 absolute. (float32 sums in different orders differ by ~1e-6 relative;
// AdamW's normalised update of a near-zero gradient is the most sensitive quantity, hence 1e-4.)
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type BackendName, selectBackend } from '../../../shared/train/backend';
import { compareFingerprints, PARITY_TOLERANCE, trainStepFingerprint } from '../../../shared/train/parity';

const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER)) process.env.VK_ICD_FILENAMES = SWIFTSHADER;

async function fingerprintOn(backend: BackendName) {
  await selectBackend({ prefer: backend });
  return trainStepFingerprint();
}

describe('backend parity of one train step', () => {
  it('cpu, wasm and webgpu (SwiftShader) agree on loss, gradients and the updated weights', async () => {
    const cpu = await fingerprintOn('cpu');
    expect(cpu.backend).toBe('cpu');
    expect(cpu.loss).toBeGreaterThan(3); // ≈ ln 40 at init
    // The step moved the weights, so the comparison is not of untouched initial values.
    const moved = cpu.after['h.0.attn.wqkv'].map((x, i) => Math.abs(x - cpu.before['h.0.attn.wqkv'][i]));
    expect(Math.max(...moved)).toBeGreaterThan(1e-3);
    for (const backend of ['wasm', 'webgpu'] as const) {
      const other = await fingerprintOn(backend);
      expect(other.backend).toBe(backend);
      const report = compareFingerprints(cpu, other);
      expect(report.lossRelative, backend).toBeLessThan(PARITY_TOLERANCE.lossRelative);
      expect(report.gradRelative, `${backend} worst gradient ${report.worst}`).toBeLessThan(
        PARITY_TOLERANCE.gradRelative,
      );
      expect(report.weightAbsolute, backend).toBeLessThan(PARITY_TOLERANCE.weightAbsolute);
    }
  });
});
