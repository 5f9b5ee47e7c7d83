// `edgelight reward-model` fits a reward model to a pairs file and writes it; `train --algo grpo
// --reward-model DIR` adds its term to the reward of every drafted reply (seen in the step's terms), and a
// wrong file or a reward model on an algorithm that drafts nothing is refused with a one-line reason.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeRewardModel, REWARD_MODEL_FILE } from '../../shared/agent/reward-model';
import { runCli as cli } from '../helpers/cli';

let dir: string;
let sft: string;
let pairsFile: string;
let tasksFile: string;

const prompt = (feedback: string) =>
  `Category: website-bug\nSentiment: negative\nFeedback: ${feedback}\nReply:`;
const SUBJECTS = [
  'login page',
  'export button',
  'search box',
  'billing form',
  'upload dialog',
  'settings tab',
];
// Reviewers here chose the reply that says when the person hears back.
const pairs = SUBJECTS.flatMap((subject, i) =>
  [0, 1, 2].map((k) => ({
    prompt: prompt(`The ${subject} fails (${k}).`),
    chosen: `Sorry about the ${subject}. We will write back by Friday.`,
    rejected: `Sorry about the ${subject}. ${['We have noted it.', 'Thanks for telling us.', 'It is on our list.'][(i + k) % 3]}`,
  })),
);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgelight-rm-'));
  pairsFile = join(dir, 'pairs.jsonl');
  tasksFile = join(dir, 'tasks.jsonl');
  sft = join(dir, 'sft');
  await writeFile(pairsFile, pairs.map((p) => JSON.stringify(p)).join('\n'));
  await writeFile(
    tasksFile,
    ['The login page is broken.', 'Export fails again.']
      .map((text, i) => JSON.stringify({ id: `t${i}`, text }))
      .join('\n'),
  );
  // The review export's sft.jsonl shape ({prompt, completion}) is what SFT reads here.
  const sftFile = join(dir, 'sft.jsonl');
  await writeFile(
    sftFile,
    pairs.map((p) => JSON.stringify({ prompt: p.prompt, completion: p.chosen })).join('\n'),
  );
  const made = await cli(
    ...['train', '--algo', 'sft', '--steps', '2', '--data', sftFile, '--out', sft, '--batch', '2'],
    ...['--vocab-size', '300', '--n-layer', '1', '--n-head', '2', '--n-embd', '16', '--block-size', '64'],
    ...['--backend', 'cpu', '--seed', '3'],
  );
  expect(made.code, made.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('edgelight reward-model', () => {
  it('fits the pairs, writes the model and prints its held-out accuracy', async () => {
    const out = join(dir, 'rm');
    const run = await cli(
      'reward-model',
      '--data',
      pairsFile,
      '--out',
      out,
      '--held-out',
      '0.3',
      '--seed',
      '2',
    );
    expect(run.code, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary).toMatchObject({ out: join(out, REWARD_MODEL_FILE), epochs: 10, seed: 2 });
    expect(summary.pairs + summary.heldOutPairs).toBe(pairs.length);
    expect(summary.trainAccuracy).toBe(1);
    expect(run.stderr).toMatch(/epoch 10\/10 {2}loss \d\.\d+/);
    const model = decodeRewardModel(await readFile(join(out, REWARD_MODEL_FILE)));
    expect(model.training.pairs).toBe(summary.pairs);
  });

  it('refuses bad flags and bad data with a one-line reason', async () => {
    const noData = await cli('reward-model', '--out', join(dir, 'x'));
    expect(noData.code).toBe(2);
    expect(noData.stderr).toMatch(/--data PAIRS.jsonl is required/);
    const badShare = await cli(
      'reward-model',
      '--data',
      pairsFile,
      '--out',
      join(dir, 'x'),
      '--held-out',
      '1',
    );
    expect(badShare.stderr).toMatch(/--held-out must be a number in \[0, 1\), got '1'/);
    const bad = join(dir, 'bad.jsonl');
    await writeFile(bad, `${JSON.stringify(pairs[0])}\n{"prompt":"p","chosen":"same","rejected":"same"}\n`);
    const same = await cli('reward-model', '--data', bad, '--out', join(dir, 'x'));
    expect(same.code).toBe(2);
    expect(same.stderr).toMatch(/line 2.*chosen and rejected are the same reply/);
  });
});

describe('train --reward-model', () => {
  it('adds the learned term to every drafted reply’s reward in GRPO', async () => {
    const rm = join(dir, 'rm-all');
    expect((await cli('reward-model', '--data', pairsFile, '--out', rm, '--held-out', '0')).code).toBe(0);
    const out = join(dir, 'grpo');
    const run = await cli(
      ...['train', '--algo', 'grpo', '--backend', 'cpu', '--steps', '1', '--init', sft, '--data', tasksFile],
      ...['--out', out, '--batch', '2', '--group', '2', '--max-new-tokens', '8'],
      ...['--reward-model', rm, '--reward-model-weight', '0.5'],
    );
    expect(run.code, run.stderr).toBe(0);
    expect(`${run.stdout}${run.stderr}`).toMatch(/reward model .*rm-all: weight 0\.5, learned from 18 pairs/);
    const [record] = (await readFile(join(out, 'metrics.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(record.terms.learned).toBeGreaterThan(0);
    expect(record.terms.learned).toBeLessThan(1);
    expect(JSON.parse(await readFile(join(out, 'train_config.json'), 'utf8'))).toMatchObject({
      rewardModel: rm,
      rewardModelWeight: 0.5,
    });
  }, 120_000);

  it('refuses a file that is not a reward model, and a reward model on DPO', async () => {
    const common = ['--backend', 'cpu', '--steps', '1', '--init', sft, '--out', join(dir, 'never')];
    const wrong = await cli(
      'train',
      '--algo',
      'grpo',
      '--data',
      tasksFile,
      '--reward-model',
      pairsFile,
      ...common,
    );
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/reward model .*pairs\.jsonl: not a safetensors file/);
    const dpo = await cli(
      'train',
      '--algo',
      'dpo',
      '--data',
      pairsFile,
      '--reward-model',
      join(dir, 'rm'),
      ...common,
    );
    expect(dpo.code).toBe(2);
    expect(dpo.stderr).toMatch(/a reward model scores drafted replies: it is for grpo \/ rloo/);
  });
});
