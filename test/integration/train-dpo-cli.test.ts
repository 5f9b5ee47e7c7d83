// `edgelight train --algo dpo|kto` in-process on a micro policy: a two-step SFT checkpoint is the
// starting policy (and so the reference), small pair / label files are the data. Checked: the metrics
// printed and recorded, the checkpoint and its trainer state, an exact resume, and bad data lines
// reported with their numbers.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli as cli } from '../helpers/cli';

let dir: string;
let sft: string;
let pairsFile: string;
let labelsFile: string;

const prompt = (category: string, feedback: string) =>
  `Category: ${category}\nSentiment: negative\nFeedback: ${feedback}\nReply:`;
const login = prompt('website-bug', 'The login page is broken.');
const docs = prompt('content-gap', 'No docs on rules.');
const dark = prompt('feature-request', 'Add dark mode.');
const pairs = [
  {
    prompt: login,
    chosen: 'Sorry about the login page; we are looking into it.',
    rejected: 'Login login login works great!!!',
  },
  { prompt: docs, chosen: 'Thank you. We will add a rules page.', rejected: 'No.' },
  {
    prompt: dark,
    chosen: 'Thanks for asking about dark mode; we have noted it.',
    rejected: 'Dark mode is done and perfect.',
  },
  {
    prompt: login,
    chosen: 'Thanks for telling us; the login page is being fixed.',
    rejected: 'Try again later maybe.',
  },
];
const labels = pairs.flatMap((p) => [
  { prompt: p.prompt, completion: p.chosen, label: true },
  { prompt: p.prompt, completion: p.rejected, label: false },
]);

// A micro model: the mechanics are the same at any size.
const micro = ['--backend', 'cpu', '--seed', '3', '--log-every', '1'];

const preferenceArgs = (algo: 'dpo' | 'kto', out: string, steps: number, ...extra: string[]) => [
  'train',
  '--algo',
  algo,
  '--data',
  algo === 'dpo' ? pairsFile : labelsFile,
  '--init',
  sft,
  '--out',
  out,
  '--steps',
  String(steps),
  '--batch',
  '2',
  '--lr',
  '3e-3',
  '--lr-horizon',
  '4',
  ...micro,
  ...extra,
];

const stepLines = (stdout: string) => stdout.split('\n').filter((l) => l.startsWith('step '));
const metrics = async (out: string) =>
  (await readFile(join(out, 'metrics.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgelight-dpo-'));
  sft = join(dir, 'sft');
  pairsFile = join(dir, 'pairs.jsonl');
  labelsFile = join(dir, 'labels.jsonl');
  const sftFile = join(dir, 'sft.jsonl');
  await writeFile(
    sftFile,
    pairs.map((p) => JSON.stringify({ prompt: p.prompt, reply: p.chosen })).join('\n'),
  );
  await writeFile(pairsFile, pairs.map((p) => JSON.stringify(p)).join('\n'));
  await writeFile(labelsFile, labels.map((l) => JSON.stringify(l)).join('\n'));
  const made = await cli(
    'train',
    '--algo',
    'sft',
    '--steps',
    '2',
    '--data',
    sftFile,
    '--out',
    sft,
    '--batch',
    '2',
    '--vocab-size',
    '300',
    '--n-layer',
    '1',
    '--n-head',
    '2',
    '--n-embd',
    '16',
    '--block-size',
    '64',
    ...micro,
  );
  expect(made.code, made.stderr).toBe(0);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('edgelight train --algo dpo / kto', () => {
  it('runs DPO from a checkpoint: margins and accuracy printed, recorded, and a checkpoint saved', async () => {
    const out = join(dir, 'dpo');
    const run = await cli(...preferenceArgs('dpo', out, 2));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/data: 4 preference pairs/);
    const lines = stepLines(run.stdout);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(
      /^step 2\/2 .*loss \d+\.\d+ .*chosen -?\d+\.\d+ {2}rejected -?\d+\.\d+ {2}margin -?\d+\.\d+ {2}acc \d+\.\d%/,
    );
    const [first, second] = await metrics(out);
    // The reference is the starting policy: the first step's margins are exactly 0, its loss log 2.
    expect(first).toMatchObject({ algo: 'dpo', phase: 'dpo', runStep: 1, 'rewards/margins': 0 });
    expect(first.loss).toBeCloseTo(Math.log(2), 5);
    for (const key of [
      'rewards/chosen',
      'rewards/rejected',
      'rewards/margins',
      'rewards/accuracies',
      'logps/chosen',
      'logps/rejected',
    ])
      expect(typeof second[key], key).toBe('number');
    expect(second['logps/chosen']).toBeLessThan(0);
    const state = JSON.parse(await readFile(join(out, 'step-000002', 'trainer_state.json'), 'utf8'));
    expect(state).toMatchObject({
      phase: 'dpo',
      step: 2,
      config: { algo: 'dpo', beta: 0.1, labelSmoothing: 0 },
    });
    expect(state.reference.checkpointId).toMatch(/^[0-9a-f]{64}$/);
    expect((await readFile(join(out, 'latest'), 'utf8')).trim()).toBe('step-000002');
  });

  it('resumes DPO bit for bit: 4 steps == 2 steps, save, resume, 2 steps', async () => {
    const straight = join(dir, 'dpo-straight');
    const split = join(dir, 'dpo-split');
    const extra = ['--label-smoothing', '0.1'];
    expect((await cli(...preferenceArgs('dpo', straight, 4, ...extra))).code).toBe(0);
    expect((await cli(...preferenceArgs('dpo', split, 2, ...extra))).code).toBe(0);
    const resumed = await cli(
      ...preferenceArgs('dpo', split, 2, ...extra).map((a) => (a === sft ? split : a)),
    );
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resuming at step 2/);
    for (const file of ['model.safetensors', 'optimizer.safetensors', 'trainer_state.json']) {
      const x = await readFile(join(straight, 'step-000004', file));
      const y = await readFile(join(split, 'step-000004', file));
      expect(Buffer.compare(x, y), file).toBe(0);
    }
  });

  it('runs KTO on labelled replies and prints z₀ as kl with the rewards of each side', async () => {
    const out = join(dir, 'kto');
    const run = await cli(...preferenceArgs('kto', out, 2, '--undesirable-weight', '1.5'));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(
      /data: 8 labelled replies \(4 desirable, 4 undesirable; λ_D 1\.50, balanced, λ_U 1\.5\)/,
    );
    expect(stepLines(run.stdout)[1]).toMatch(/^step 2\/2 .*kl \d+\.\d+ .*loss \d+\.\d+ /);
    const records = await metrics(out);
    expect(records).toHaveLength(2);
    expect(records[0]).toMatchObject({ algo: 'kto', kl: 0 });
    for (const r of records) expect(r.kl).toBeGreaterThanOrEqual(0);
    const state = JSON.parse(await readFile(join(out, 'step-000002', 'trainer_state.json'), 'utf8'));
    expect(state).toMatchObject({ phase: 'kto', config: { undesirableWeight: 1.5 } });
    // λ_D was not given: balanced from the labels (the info line above), recorded as not set.
    expect(state.config.desirableWeight).toBeUndefined();
  });

  it('reports bad data lines with their numbers, and what dpo / kto need, in one line with exit 2', async () => {
    const bad = join(dir, 'bad-pairs.jsonl');
    await writeFile(
      bad,
      [
        JSON.stringify(pairs[0]),
        JSON.stringify({ prompt: login, chosen: 'Fine.' }),
        'not json',
        JSON.stringify({ prompt: login, chosen: 'Same.', rejected: 'Same.' }),
      ].join('\n'),
    );
    const badLabels = join(dir, 'bad-labels.jsonl');
    await writeFile(
      badLabels,
      `${JSON.stringify(labels[0])}\n${JSON.stringify({ ...labels[1], label: 'no' })}\n`,
    );
    const cases: Array<[string[], RegExp]> = [
      [
        ['train', '--algo', 'dpo', '--steps', '1', '--data', bad, '--init', sft, ...micro],
        /line 2: rejected/,
      ],
      [
        ['train', '--algo', 'dpo', '--steps', '1', '--data', bad, '--init', sft, ...micro],
        /line 3: not JSON/,
      ],
      [
        ['train', '--algo', 'dpo', '--steps', '1', '--data', bad, '--init', sft, ...micro],
        /line 4: rejected: chosen and rejected are the same reply/,
      ],
      [
        ['train', '--algo', 'kto', '--steps', '1', '--data', badLabels, '--init', sft, ...micro],
        /line 2: label: label must be true/,
      ],
      [['train', '--algo', 'dpo', '--steps', '1', '--init', sft, ...micro], /dpo reads --data/],
      [
        ['train', '--algo', 'kto', '--steps', '1', '--data', labelsFile, ...micro],
        /kto starts from a trained policy: give init/,
      ],
      [['train', '--algo', 'dpo', '--steps', '1', '--beta', '0'], /dpo \/ kto need beta > 0/],
      [
        ['train', '--algo', 'dpo', '--steps', '1', '--label-smoothing', '0.5'],
        /--label-smoothing must be a number < 0.5/,
      ],
    ];
    for (const [argv, message] of cases) {
      const { code, stderr } = await cli(...argv);
      expect(code, argv.join(' ')).toBe(2);
      expect(stderr, argv.join(' ')).toMatch(message);
    }
  });
});
