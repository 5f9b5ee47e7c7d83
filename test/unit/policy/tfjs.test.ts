// shared/policy/tfjs.ts under Node: tfjs-core with the CPU backend, every gradient tfjs-core ships and the
// chained tensor methods, from the generated shared/policy/tfjs-registrations.node.js, which must match
// what scripts/tfjs-registrations.ts builds from the installed tfjs-core.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildTfjsRegistrations, OUTPUT } from '../../../scripts/tfjs-registrations';
import * as tf from '../../../shared/policy/tfjs';

const coreDist = new URL('../../../node_modules/@tensorflow/tfjs-core/dist/', import.meta.url);

describe('tfjs-core with the registrations the @tensorflow/tfjs umbrella had', () => {
  it('uses a generated Node bundle that is up to date with the installed tfjs-core', async () => {
    const committed = readFileSync(OUTPUT, 'utf8');
    const fresh = await buildTfjsRegistrations();
    expect(committed === fresh, 'stale: run `node bin/tsx.mjs scripts/tfjs-registrations.ts`').toBe(true);
  });

  it("registers a gradient for every kernel in tfjs-core's register_all_gradients", () => {
    const source = readFileSync(new URL('register_all_gradients.js', coreDist), 'utf8');
    const kernels = [...source.matchAll(/from '\.\/gradients\/(\w+)_grad'/g)].map((m) => m[1]);
    expect(kernels.length).toBeGreaterThan(100);
    const registry = (globalThis as { _tfGlobals?: Map<string, Map<string, unknown>> })._tfGlobals?.get(
      'gradRegistry',
    );
    expect(registry).toBeDefined();
    expect(kernels.filter((k) => !registry!.has(k))).toEqual([]);
  });

  it('has the cpu backend, chained methods and working autodiff', async () => {
    expect(tf.findBackendFactory('cpu')).toBeDefined();
    await tf.setBackend('cpu');
    const x = tf.variable(tf.tensor1d([1, 2, 3]));
    const { value, grads } = tf.variableGrads(() =>
      tf.sum(
        tf.logSoftmax(
          x
            .reshape([1, 3])
            .matMul(tf.ones([3, 2]))
            .square(),
        ),
      ),
    );
    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    expect(grads[x.name].shape).toEqual([3]);
    tf.dispose([x, value, ...Object.values(grads)]);
  });
});
