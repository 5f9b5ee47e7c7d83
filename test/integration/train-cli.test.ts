// `edgelight train` and `edgelight eval` in-process on a handful of short examples: exact resume,
// checkpoint layout, the eval report's shape, SFT → GRPO, and usage errors.
import { QUALITY_CHECKS } from '../../shared/agent/quality/checks';
import { spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../server/app';
import { BlobStore } from '../../server/blobs/blob-store';
import { listen } from '../../server/listen';
import { SqliteLightningStore } from '../../server/store/sqlite';
import { runCli } from '../helpers/cli';

let dir: string;
let sftFile: string;
let tasksFile: string;

const prompt = (category: string, feedback: string) =>
  `Category: ${category}\nSentiment: negative\nFeedback: ${feedback}\nReply:`;
const sftRows = [
  [
    prompt('website-bug', 'The login page is broken.'),
    'Sorry about the login page. We are still evaluating it.',
  ],
  [
    prompt('content-gap', 'No docs on rules.'),
    'Thank you. The rules page is preliminary and we will add more.',
  ],
  [prompt('positive', 'Great work!'), 'Thank you for the kind words about the project.'],
  [prompt('feature-request', 'Add dark mode.'), 'Thanks for asking about dark mode; we have noted it.'],
  [prompt('noise', 'asdf'), 'We could not tell what you needed; please reply with more detail.'],
  [
    prompt('framework-issue', 'The audit log is empty.'),
    'Sorry about the audit log. This research prototype has limitations.',
  ],
];
const tasks = [
  { id: 't1', text: 'The login page is broken again.', category: 'website-bug' },
  { id: 't2', text: 'Please add a dark mode.', category: 'feature-request' },
  { id: 't3', text: 'Lovely project, thank you!', category: 'positive' },
];

const cli = runCli;
const BIN = fileURLToPath(new URL('../../bin/edgelight.mjs', import.meta.url));

const sftArgs = (out: string, steps: number, ...extra: string[]) => [
  'train',
  '--preset',
  'tiny',
  '--algo',
  'sft',
  '--backend',
  'cpu',
  '--steps',
  String(steps),
  '--data',
  sftFile,
  '--out',
  out,
  '--batch',
  '2',
  '--vocab-size',
  '300',
  '--lr-horizon',
  '4',
  '--warmup',
  '1',
  '--seed',
  '3',
  '--log-every',
  '1',
  // A micro model: the mechanics are the same at any size.
  '--n-layer',
  '1',
  '--n-head',
  '2',
  '--n-embd',
  '16',
  '--block-size',
  '64',
  ...extra,
];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgelight-train-'));
  sftFile = join(dir, 'sft.jsonl');
  tasksFile = join(dir, 'tasks.jsonl');
  await writeFile(sftFile, sftRows.map(([p, r]) => JSON.stringify({ prompt: p, reply: r })).join('\n'));
  await writeFile(tasksFile, tasks.map((t) => JSON.stringify(t)).join('\n'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('edgelight train / eval', () => {
  it('resumes bit for bit: 4 steps == 2 steps, save, resume, 2 steps', async () => {
    const straight = join(dir, 'straight');
    const split = join(dir, 'split');
    const a = await cli(...sftArgs(straight, 4));
    expect(a.code).toBe(0);
    expect(a.stdout.split('\n').filter((l) => l.startsWith('step '))).toHaveLength(4);
    expect(a.stdout).toMatch(/step 4\/4 .*loss \d+\.\d+ .*tok\/s \d+ .*eta/);
    expect((await cli(...sftArgs(split, 2))).code).toBe(0);
    const resumed = await cli(...sftArgs(split, 2, '--init', split));
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toMatch(/resuming at step 2/);
    expect((await readFile(join(split, 'latest'), 'utf8')).trim()).toBe('step-000004');
    for (const file of [
      'model.safetensors',
      'optimizer.safetensors',
      'trainer_state.json',
      'manifest.json',
    ]) {
      const x = await readFile(join(straight, 'step-000004', file));
      const y = await readFile(join(split, 'step-000004', file));
      expect(Buffer.compare(x, y), file).toBe(0);
    }
  });

  it('stops after the current step on Ctrl-C, saves that step, and exits 0', async () => {
    const out = join(dir, 'interrupted');
    const child = spawn(process.execPath, [BIN, ...sftArgs(out, 100_000)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await new Promise<void>((resolve) =>
      child.stdout.on('data', (chunk) => {
        stdout += chunk;
        if (/^step 1\//m.test(stdout)) resolve();
      }),
    );
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(stderr).toMatch(/SIGINT: stopping after this step/);
    expect(stderr).toMatch(/done \(stopped\): \d+ steps/);
    const latest = (await readFile(join(out, 'latest'), 'utf8')).trim();
    const state = JSON.parse(await readFile(join(out, latest, 'trainer_state.json'), 'utf8'));
    expect(state.step).toBeGreaterThanOrEqual(1);
    expect(latest).toBe(`step-${String(state.step).padStart(6, '0')}`);
  });

  it('evaluates a checkpoint and prints exactly the report fields', async () => {
    const { code, stdout: out } = await cli(
      'eval',
      '--checkpoint',
      join(dir, 'straight'),
      '--in',
      tasksFile,
      '--samples',
      '2',
      '--max-new-tokens',
      '8',
      '--backend',
      'cpu',
    );
    expect(code).toBe(0);
    const report = JSON.parse(out);
    expect(Object.keys(report)).toEqual([
      'n',
      'reward_mean',
      'reward_std',
      'terms',
      'violation_rate',
      'sendable_rate',
      'failed_checks',
      'words_mean',
      'samples',
    ]);
    expect(report.n).toBe(3);
    expect(Object.keys(report.failed_checks)).toEqual([...QUALITY_CHECKS]);
    expect(report.sendable_rate).toBeGreaterThanOrEqual(0);
    expect(report.sendable_rate).toBeLessThanOrEqual(1);
    expect(Object.keys(report.violation_rate)).toEqual(['inst_016', 'inst_017', 'inst_018', 'pii', 'any']);
    expect(report.samples).toHaveLength(5);
    expect(report.reward_mean).toBeGreaterThanOrEqual(0);

    // The same checkpoint, items and seed draft the same replies: the report repeats exactly.
    const again = await cli(
      'eval',
      ...['--checkpoint', join(dir, 'straight'), '--in', tasksFile, '--samples', '2'],
      ...['--max-new-tokens', '8', '--backend', 'cpu'],
    );
    expect(again.stdout).toBe(out);

    // --replies writes every reply (3 items × 2) with its terms; the report's samples are its first 5.
    const repliesFile = join(dir, 'replies.jsonl');
    const withReplies = await cli(
      'eval',
      ...['--checkpoint', join(dir, 'straight'), '--in', tasksFile, '--samples', '2'],
      ...['--max-new-tokens', '8', '--backend', 'cpu', '--replies', repliesFile],
    );
    expect(withReplies.stdout).toBe(out);
    const lines = (await readFile(repliesFile, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(6);
    expect(Object.keys(lines[0])).toEqual([
      'id',
      'category',
      'sample',
      'reply',
      'reward',
      'terms',
      'violations',
      'failed_checks',
    ]);
    expect(Object.keys(lines[0].terms).sort()).toEqual([
      'acknowledgement',
      'integrity',
      'length',
      'overselling',
      'quality',
      'tone',
    ]);
    expect(lines.map((l) => `${l.id}/${l.sample}`)).toEqual(
      report.samples
        .slice(0, 5)
        .map((s: { id: string }, i: number) => `${s.id}/${i % 2}`)
        .concat(`${lines[5].id}/1`),
    );
    expect(lines.slice(0, 5).map((l) => l.reply)).toEqual(
      report.samples.map((s: { reply: string }) => s.reply),
    );

    // With a reference checkpoint the report adds the replies' NLL per token under it.
    const withReference = await cli(
      'eval',
      ...['--checkpoint', join(dir, 'straight'), '--reference', join(dir, 'straight')],
      ...['--in', tasksFile, '--samples', '2', '--max-new-tokens', '8', '--backend', 'cpu'],
    );
    expect(withReference.code).toBe(0);
    const nll = JSON.parse(withReference.stdout).reference_nll;
    expect(nll).toBeGreaterThan(0);
    expect(Number.isFinite(nll)).toBe(true);
  });

  it('runs GRPO from the SFT checkpoint through the store and writes a grpo checkpoint', async () => {
    const out = join(dir, 'grpo');
    const run = await cli(
      'train',
      '--preset',
      'tiny',
      '--algo',
      'grpo',
      '--backend',
      'cpu',
      '--steps',
      '1',
      '--init',
      join(dir, 'straight'),
      '--data',
      tasksFile,
      '--out',
      out,
      '--batch',
      '2',
      '--group',
      '2',
      '--max-new-tokens',
      '8',
      '--kl-reward',
      '0.1',
    );
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/weights only/);
    expect(run.stdout).toMatch(/step 1\/1 .*reward \d\.\d+±\d\.\d+ .*viol .*kl .*loss/);
    const state = JSON.parse(await readFile(join(out, 'step-000001', 'trainer_state.json'), 'utf8'));
    expect(state).toMatchObject({
      version: 2,
      phase: 'grpo',
      step: 1,
      offset: 0,
      config: { seed: 1, group: 2 },
    });
    // Its KL reference is the checkpoint it started from, by id (and where it was found).
    expect(state.reference).toEqual({
      checkpointId: expect.stringMatching(/^[0-9a-f]{64}$/),
      path: join(dir, 'straight', 'step-000004'),
    });
    // The run folder has the resolved settings and one JSON object per step.
    expect(JSON.parse(await readFile(join(out, 'train_config.json'), 'utf8'))).toMatchObject({
      algo: 'grpo',
      steps: 1,
      batch: 2,
      lr: 3e-4,
    });
    const lines = (await readFile(join(out, 'metrics.jsonl'), 'utf8')).trim().split('\n');
    const records = lines.map((l) => JSON.parse(l));
    expect(records).toMatchObject([{ runStep: 1, phase: 'grpo', algo: 'grpo' }]);
    // Every RL step says how many sampled replies were sendable, and why the others were not.
    expect(records[0].sendableRate).toBeGreaterThanOrEqual(0);
    expect(records[0].sendableRate).toBeLessThanOrEqual(1);
    expect(Object.keys(records[0].failedChecks).sort()).toEqual([...QUALITY_CHECKS].sort());
  });

  it('trains a copy-head policy with --copy (SFT, eval, GRPO from it); the checkpoint keeps the head', async () => {
    const sft = join(dir, 'copy-sft');
    const trained = await cli(...sftArgs(sft, 2, '--copy'));
    expect(trained.code).toBe(0);
    expect(trained.stderr).toMatch(/copy head 0\.\d+ M/);
    const config = JSON.parse(await readFile(join(sft, 'step-000002', 'config.json'), 'utf8'));
    expect(config.copy).toBe(true);
    const evaluated = await cli(
      'eval',
      ...[
        '--checkpoint',
        sft,
        '--in',
        tasksFile,
        '--samples',
        '1',
        '--max-new-tokens',
        '8',
        '--backend',
        'cpu',
      ],
    );
    expect(evaluated.code).toBe(0);
    expect(JSON.parse(evaluated.stdout).n).toBe(3);
    const grpo = await cli(
      ...['train', '--algo', 'grpo', '--backend', 'cpu', '--steps', '1', '--init', sft, '--data', tasksFile],
      ...['--out', join(dir, 'copy-grpo'), '--batch', '2', '--group', '2', '--max-new-tokens', '8'],
    );
    expect(grpo.code).toBe(0);
    expect(grpo.stderr).toMatch(/copy head/);
  });

  it('keeps the prompt format of a key-words corpus: config.json records it, GRPO inherits it, a mismatch is refused', async () => {
    const keyed = join(dir, 'sft-keyed.jsonl');
    const withKeyWords = (p: string) => p.replace(/\nReply:$/, '\nKey words: login, page, broken\nReply:');
    await writeFile(
      keyed,
      sftRows.map(([p, r]) => JSON.stringify({ prompt: withKeyWords(p), reply: r })).join('\n'),
    );
    const sft = join(dir, 'keyed-sft');
    const trained = await cli(...sftArgs(sft, 1).map((a) => (a === sftFile ? keyed : a)));
    expect(trained.code).toBe(0);
    expect(trained.stderr).toMatch(/prompts with a key-words line/);
    const config = JSON.parse(await readFile(join(sft, 'step-000001', 'config.json'), 'utf8'));
    expect(config.promptKeyWords).toBe(true);
    const plainConfig = JSON.parse(
      await readFile(join(dir, 'straight', 'latest'), 'utf8').then((l) =>
        readFile(join(dir, 'straight', l.trim(), 'config.json'), 'utf8'),
      ),
    );
    expect(plainConfig.promptKeyWords).toBe(false);

    const grpo = await cli(
      ...['train', '--algo', 'grpo', '--backend', 'cpu', '--steps', '1', '--init', sft, '--data', tasksFile],
      ...['--out', join(dir, 'keyed-grpo'), '--batch', '2', '--group', '2', '--max-new-tokens', '8'],
    );
    expect(grpo.code).toBe(0);
    expect(grpo.stderr).toMatch(/prompts with a key-words line/);
    const grpoConfig = JSON.parse(
      await readFile(join(dir, 'keyed-grpo', 'step-000001', 'config.json'), 'utf8'),
    );
    expect(grpoConfig.promptKeyWords).toBe(true);

    // SFT that would change a policy's prompt format, and a corpus of both formats, are refused.
    const mixed = join(dir, 'sft-mixed.jsonl');
    await writeFile(
      mixed,
      sftRows
        .map(([p, r], i) => JSON.stringify({ prompt: i % 2 ? withKeyWords(p) : p, reply: r }))
        .join('\n'),
    );
    const cases: Array<[string[], RegExp]> = [
      [
        ['train', '--algo', 'sft', '--steps', '1', '--backend', 'cpu', '--init', sft, '--data', sftFile],
        /trained on prompts with a "Key words:" line and the SFT corpus's prompts are without it/,
      ],
      [
        ['train', '--algo', 'sft', '--steps', '1', '--backend', 'cpu', '--data', mixed],
        /SFT corpus: 3 of 6 prompts have a "Key words:" line and the rest do not/,
      ],
    ];
    for (const [argv, message] of cases) {
      const { code, stderr } = await cli(...argv);
      expect(code, argv.join(' ')).toBe(2);
      expect(stderr).toMatch(message);
    }
  });

  it('resumes GRPO bit for bit, KL reference included: 3 steps == 2 steps, save, resume, 1 step', async () => {
    const grpo = (out: string, steps: number, init: string) =>
      cli(
        ...['train', '--preset', 'tiny', '--algo', 'grpo', '--backend', 'cpu', '--steps', String(steps)],
        ...['--init', init, '--data', tasksFile, '--out', out, '--batch', '2', '--group', '4'],
        ...['--max-new-tokens', '48', '--lr', '1e-3', '--seed', '4', '--kl-reward', '0.5'],
      );
    const straight = join(dir, 'grpo-straight');
    const split = join(dir, 'grpo-split');
    const a = await grpo(straight, 3, join(dir, 'straight'));
    expect(a.code).toBe(0);
    expect((await grpo(split, 2, join(dir, 'straight'))).code).toBe(0);
    const resumed = await grpo(split, 1, split);
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toMatch(/resuming at step 2/);
    // The resumed run kept the SFT checkpoint as its KL reference (recorded in the trainer state).
    const state = JSON.parse(await readFile(join(split, 'step-000003', 'trainer_state.json'), 'utf8'));
    expect(state.reference.path).toBe(join(dir, 'straight', 'step-000004'));
    const straightState = JSON.parse(
      await readFile(join(straight, 'step-000003', 'trainer_state.json'), 'utf8'),
    );
    expect(state.reference).toEqual(straightState.reference);
    // Step 3 sampled the same replies (same rewards) and ended in the same weights and moments.
    const rewardOf = (stdout: string) => /^step 3\/3 {2}(reward \S+)/m.exec(stdout)?.[1];
    expect(rewardOf(resumed.stdout)).toBe(rewardOf(a.stdout));
    expect(rewardOf(a.stdout)).not.toMatch(/±0\.000/);
    for (const file of ['model.safetensors', 'optimizer.safetensors']) {
      const x = await readFile(join(straight, 'step-000003', file));
      const y = await readFile(join(split, 'step-000003', file));
      expect(Buffer.compare(x, y), file).toBe(0);
    }
  });

  it('runs GRPO against a server with --server: rollouts, spans and policy versions land there', async () => {
    const serverDir = join(dir, 'server');
    const serverStore = new SqliteLightningStore({ path: join(dir, 'server.sqlite') });
    const blobs = new BlobStore(serverDir, 1 << 26);
    await blobs.init();
    const server = await listen(createApp({ store: serverStore, blobs, token: 'train-test' }));
    try {
      const args = ['train', '--preset', 'tiny', '--algo', 'grpo', '--backend', 'cpu', '--steps', '1'];
      const rest = ['--init', join(dir, 'straight'), '--data', tasksFile, '--out', join(dir, 'grpo-remote')];
      const shape = ['--batch', '2', '--group', '2', '--max-new-tokens', '8', '--server', server.url];
      const refused = await cli(...args, ...rest, ...shape, '--token', 'wrong');
      expect(refused.code).toBe(2);
      const run = await cli(...args, ...rest, ...shape, '--token', 'train-test');
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/step 1\/1 .*reward/);
      expect(refused.stderr).toMatch(/--server .*token/);
      const rollouts = await serverStore.queryRollouts({});
      const succeeded = rollouts.items.filter((r) => r.status === 'succeeded');
      // The trainer's metrics are a rollout of their own (one object span), so count the
      // rollouts that carry a reward rather than picking one: batch 2 means two rewarded rollouts.
      const names = await Promise.all(
        succeeded.map(async (r) => (await serverStore.querySpans({ rollout_id: r.rollout_id })).items),
      );
      const rewarded = names.filter((spans) => spans.some((sp) => sp.name === 'agentlightning.reward'));
      expect(rewarded.length).toBe(2);
      const latest = await serverStore.getLatestResources();
      const policy = latest?.resources.policy as { checkpoint_id?: string } | undefined;
      expect(policy?.checkpoint_id).toMatch(/^[0-9a-f]{64}$/);
    } finally {
      await server.close();
      await serverStore.close();
    }
  });

  it('takes settings from --config with flags overriding it, and prints the resolved config', async () => {
    const file = join(dir, 'run.json');
    await writeFile(
      file,
      JSON.stringify({ algo: 'grpo', steps: 5, group: 4, lr: 1e-4, init: join(dir, 'straight') }),
    );
    const printed = await cli('train', '--config', file, '--group', '6', '--print-config');
    expect(printed.code).toBe(0);
    expect(JSON.parse(printed.stdout)).toMatchObject({
      algo: 'grpo',
      steps: 5,
      group: 6,
      lr: 1e-4,
      batch: 4,
      warmup: 0,
      beta: 0.1,
      klReward: 0.2,
      maxNewTokens: 160,
      saveEvery: 100,
    });
    await writeFile(file, JSON.stringify({ algo: 'sft', steps: 1, stepz: 2 }));
    const unknown = await cli('train', '--config', file, '--print-config');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown setting 'stepz'/);
    // --help lists every setting of TrainConfig as a flag, with its default.
    const help = await cli('train', '--help');
    for (const flag of ['--kl-reward', '--sft-steps', '--lr-horizon', '--save-every', '--max-new-tokens'])
      expect(help.stdout).toContain(flag);
    expect(help.stdout).toMatch(/--group .*\[default 8\]/);
  });

  it('refuses a mismatched resume and says what differs; reads a checkpoint written before trainer states were versioned', async () => {
    const grpo = join(dir, 'grpo');
    const rloo = await cli(
      ...['train', '--algo', 'rloo', '--backend', 'cpu', '--steps', '1', '--init', grpo, '--data', tasksFile],
      ...['--out', join(dir, 'rloo'), '--batch', '2', '--group', '2', '--max-new-tokens', '8'],
    );
    expect(rloo.code).toBe(2);
    expect(rloo.stderr).toMatch(/continues a grpo run, and rloo was asked: resume it with algo grpo/);
    const shape = await cli(
      ...sftArgs(join(dir, 'shape'), 1, '--init', join(dir, 'straight'), '--n-embd', '32'),
    );
    expect(shape.code).toBe(2);
    expect(shape.stderr).toMatch(/nEmbd 32 was asked but the checkpoint has 16/);

    // A version-1 trainer state (as edgelight wrote them before): resumes, keeping its recorded horizon.
    const legacy = join(dir, 'legacy');
    await cp(join(dir, 'split', 'step-000004'), join(legacy, 'step-000002'), { recursive: true });
    await writeFile(join(legacy, 'latest'), 'step-000002\n');
    const v1 = {
      step: 2,
      algo: 'sft',
      seed: 3,
      rng: [],
      cursor: 4,
      options: { lrHorizon: 4, preset: 'tiny' },
    };
    await writeFile(join(legacy, 'step-000002', 'trainer_state.json'), JSON.stringify(v1));
    await rm(join(legacy, 'step-000002', 'manifest.json'));
    const resumed = await cli(...sftArgs(join(dir, 'legacy-out'), 1, '--init', legacy));
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toMatch(/resuming at step 2/);
    await writeFile(
      join(legacy, 'step-000002', 'trainer_state.json'),
      JSON.stringify({ version: 2, step: 1 }),
    );
    const broken = await cli(...sftArgs(join(dir, 'legacy-out2'), 1, '--init', legacy));
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/trainer_state\.json: phase: /);
  });

  it('runs RL from random weights with sftSteps 0; the seeded start is its reference, also on resume', async () => {
    const out = join(dir, 'grpo-scratch');
    const args = (steps: number, ...extra: string[]) => [
      ...['train', '--algo', 'grpo', '--backend', 'cpu', '--steps', String(steps), '--sft-steps', '0'],
      ...['--n-layer', '1', '--n-head', '2', '--n-embd', '16', '--block-size', '64', '--vocab-size', '300'],
      ...[
        '--data',
        tasksFile,
        '--out',
        out,
        '--batch',
        '2',
        '--group',
        '2',
        '--max-new-tokens',
        '8',
        '--seed',
        '5',
      ],
      ...extra,
    ];
    expect((await cli(...args(1))).code).toBe(0);
    const first = JSON.parse(await readFile(join(out, 'step-000001', 'trainer_state.json'), 'utf8'));
    expect(first.reference).toEqual({ initSeed: 5 });
    const resumed = await cli(...args(1, '--init', out));
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resuming at step 1/);
    const second = JSON.parse(await readFile(join(out, 'step-000002', 'trainer_state.json'), 'utf8'));
    expect(second.reference).toEqual({ initSeed: 5 });
  });

  it('reports usage mistakes in one line with exit code 2', async () => {
    const bad = join(dir, 'bad.jsonl');
    await writeFile(bad, `${JSON.stringify({ prompt: 'p', reply: 'r' })}\n{"prompt": 1}\n`);
    const cases: Array<[string[], RegExp]> = [
      [['train', '--steps', '1'], /--algo must be sft, grpo, rloo, dpo or kto/],
      [['train', '--algo', 'sft'], /give steps or minutes/],
      [['train', '--algo', 'sft', '--steps', '1', '--batch', 'x'], /--batch must be an integer/],
      [
        ['train', '--algo', 'sft', '--steps', '1', '--config', join(dir, 'nope.json')],
        /cannot read --config/,
      ],
      [['train', '--algo', 'sft', '--steps', '0'], /--steps must be an integer ≥ 1/],
      [['train', '--algo', 'sft', '--steps', '1', '--data', bad, '--backend', 'cpu'], /line 2/],
      [
        ['train', '--algo', 'sft', '--steps', '1', '--init', join(dir, 'nothing-here')],
        /init .*neither a checkpoint/,
      ],
      [
        ['train', '--algo', 'sft', '--steps', '1', '--init', join(dir, 'straight'), '--copy'],
        /a copy head was asked but the checkpoint has none/,
      ],
      [['eval', '--checkpoint', join(dir, 'straight')], /--in FILE\.jsonl is required/],
      [['eval', '--checkpoint', join(dir, 'nope'), '--in', tasksFile], /--checkpoint .*neither a checkpoint/],
      [['eval', '--checkpoint', join(dir, 'straight'), '--in', tasksFile, '--samples', 'x'], /--samples/],
      [
        [
          'eval',
          '--checkpoint',
          join(dir, 'straight'),
          '--in',
          tasksFile,
          '--replies',
          join(dir, 'no', 'r.jsonl'),
        ],
        /cannot write --replies .*ENOENT/,
      ],
    ];
    for (const [argv, message] of cases) {
      const { code, stderr: err } = await cli(...argv);
      expect(code, argv.join(' ')).toBe(2);
      expect(err).toMatch(message);
      expect(err).not.toMatch(/\n\s+at /);
    }
  });
});
