// Held-out implicit-reward accuracy (docs/training.md, "Preference learning"):
// Usage: node bin/tsx.mjs scripts/preference-heldout.ts TRAINED_RUN START_CHECKPOINT TEST_PAIRS.jsonl
// share of test pairs where β·(log π/π_ref)(chosen) > (rejected),
// π = the trained checkpoint, π_ref = the starting policy; also the mean margin, and log π per side.
import { readFileSync } from 'node:fs';
import { readCheckpointDirectory, resolveCheckpointDirectory } from '../server/checkpoints/directory';
import { policyFromCheckpoint } from '../shared/policy/checkpoint-policy';
import { selectBackend } from '../shared/train/backend';
import { completionLogprobs } from '../shared/train/policy-gradient';
import { encodePreferencePair } from '../shared/train/preference';

const [trained, start, file] = process.argv.slice(2);
if (!trained || !start || !file)
  throw new Error('usage: scripts/preference-heldout.ts TRAINED_RUN START_CHECKPOINT TEST_PAIRS.jsonl');
await selectBackend({ prefer: 'wasm', allowSoftware: true });
const load = async (dir: string) =>
  policyFromCheckpoint((await readCheckpointDirectory(await resolveCheckpointDirectory(dir))).checkpoint);
const a = await load(trained);
const b = await load(start);
const pairs = readFileSync(file, 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l));
const enc = pairs.map((p) => encodePreferencePair(a.tokenizer, p, a.policy.config.blockSize, 160));
const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
const seq = async (policy: typeof a.policy, side: 'chosen' | 'rejected') => {
  const out: number[] = [];
  for (let i = 0; i < enc.length; i += 32)
    out.push(
      ...(
        await completionLogprobs(
          policy,
          enc.slice(i, i + 32).map((e) => e[side]),
        )
      ).map(sum),
    );
  return out;
};
const [pc, pr, rc, rr] = [
  await seq(a.policy, 'chosen'),
  await seq(a.policy, 'rejected'),
  await seq(b.policy, 'chosen'),
  await seq(b.policy, 'rejected'),
];
const margins = pc.map((x, i) => 0.1 * (x - rc[i] - (pr[i] - rr[i])));
const acc = margins.filter((m) => m > 0).length / margins.length;
const mean = (xs: number[]) => sum(xs) / xs.length;
console.log(
  JSON.stringify({
    pairs: enc.length,
    accuracy: acc,
    margin: mean(margins),
    logpChosen: [mean(rc), mean(pc)],
    logpRejected: [mean(rr), mean(pr)],
  }),
);
