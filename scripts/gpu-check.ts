// The checks that need a real GPU, run on a lent GPU machine (docs/benchmarks.md "On a GPU machine").
// `scripts/gpu-bundle.sh` bundles this file with Node and Dawn into .gpu/, which travels to a machine
// that has neither; there: `.gpu/run.sh [sft-steps] [grpo-steps]`.
//
//   1. the WebGPU adapter Dawn finds, and whether the backend selector calls it software;
//   2. parity: the seeded train step on cpu vs webgpu (same tolerances as the SwiftShader tests);
//   3. `bench train` on webgpu for tiny and small (tokens/s, roofline vs tf.matMul on webgpu, KV cache);
//   4. the `train` command end to end on webgpu: SFT, then GRPO from that checkpoint.
// Each part prints one JSON line tagged `gpu-check`; a failing part is reported and the next one runs.
import * as tf from '../shared/policy/tfjs';
import { run as benchTrain } from '../bench/train';
import { run as trainCommand } from '../server/commands/train';
import { probeBackend, selectBackend } from '../shared/train/backend';
import { compareFingerprints, PARITY_TOLERANCE, trainStepFingerprint } from '../shared/train/parity';

const [sftSteps = '60', grpoSteps = '4', out = '.gpu-out'] = process.argv.slice(2);
// GPU_CHECK_PARTS=adapter,parity runs only those parts (a quick try on SwiftShader before a lease).
const only = process.env.GPU_CHECK_PARTS?.split(',');

function report(part: string, value: unknown) {
  console.log(JSON.stringify({ 'gpu-check': part, ...(value as object) }));
}

async function part(name: string, body: () => Promise<unknown>) {
  if (only && !only.includes(name)) return;
  const start = performance.now();
  try {
    const value = await body();
    report(name, { ok: true, seconds: (performance.now() - start) / 1000, ...(value as object) });
  } catch (e) {
    report(name, { ok: false, seconds: (performance.now() - start) / 1000, error: String(e) });
  }
}

await part('adapter', async () => probeBackend('webgpu'));

await part('parity', async () => {
  await selectBackend({ prefer: 'cpu' });
  const cpu = await trainStepFingerprint();
  const info = await selectBackend({ prefer: 'webgpu' });
  const gpu = await trainStepFingerprint();
  const r = compareFingerprints(cpu, gpu);
  const t = PARITY_TOLERANCE;
  const pass =
    r.lossRelative < t.lossRelative && r.gradRelative < t.gradRelative && r.weightAbsolute < t.weightAbsolute;
  return { backend: info, loss: { cpu: cpu.loss, webgpu: gpu.loss }, ...r, pass };
});

await part('bench-train', async () => benchTrain(['--backends=webgpu', '--presets=tiny,small']));

await part('train-sft', async () => {
  const code = await trainCommand(
    ['--preset', 'tiny', '--algo', 'sft', '--backend', 'webgpu', '--steps', sftSteps, '--out', `${out}/sft`],
    {},
  );
  return { exitCode: code, numTensorsAfter: tf.memory().numTensors };
});

await part('train-grpo', async () => {
  const code = await trainCommand(
    [
      ...['--algo', 'grpo', '--backend', 'webgpu', '--steps', grpoSteps, '--group', '4'],
      ...['--init', `${out}/sft`, '--out', `${out}/grpo`],
    ],
    {},
  );
  return { exitCode: code };
});
process.exit(0);
