import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJsonlStrict } from '../../shared/data/jsonl';
import { DatasetItem, SftExample } from '../../shared/data/schema';
import { checkpointFromPolicy } from '../../shared/policy/checkpoint-policy';
import { createPolicy } from '../../shared/policy/model';
import { PolicyTokenizer } from '../../shared/policy/tokenizer';
import { trainByteLevelBpe } from '../../shared/policy/tokenizer-train';
import { InMemoryLightningStore } from '../../shared/store/memory';
import { writeCheckpointDirectory } from '../../server/checkpoints/directory';
import { openSqliteStore } from '../../server/store/sqlite';
import { createApp } from '../../server/app';
import { listen, type RunningServer } from '../../server/listen';
import { runCli } from '../helpers/cli';

const cli = runCli;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'edgelight-rollouts-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('edgelight data generate', () => {
  it('writes family-disjoint splits, an SFT corpus and a manifest', async () => {
    const { code, stdout } = await cli('data', 'generate', '--out', dir, '--n', '400', '--seed', '3');
    expect(code).toBe(0);
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    expect(JSON.parse(stdout)).toMatchObject({ seed: 3, count: 400 });
    const splits = Object.fromEntries(
      ['train', 'val', 'test'].map((s) => [
        s,
        parseJsonlStrict(readFileSync(join(dir, `${s}.jsonl`), 'utf8'), DatasetItem),
      ]),
    );
    expect(splits.train.length + splits.val.length + splits.test.length).toBe(400);
    const families = (s: string) => new Set(splits[s].map((i: DatasetItem) => i.metadata.family));
    for (const f of families('test')) expect(families('train').has(f)).toBe(false);
    for (const f of families('val')) expect(families('train').has(f)).toBe(false);
    const sft = parseJsonlStrict(readFileSync(join(dir, 'sft.jsonl'), 'utf8'), SftExample);
    expect(sft).toHaveLength(splits.train.length);
    expect(manifest.sftFlawed).toBe(Math.round(splits.train.length * 0.2));
  });

  it("writes a quoting SFT corpus with --quote (the copy head's), the same items otherwise", async () => {
    const quoting = join(dir, 'quote');
    const { code } = await cli('data', 'generate', '--out', quoting, '--n', '400', '--seed', '3', '--quote');
    expect(code).toBe(0);
    expect(JSON.parse(readFileSync(join(quoting, 'manifest.json'), 'utf8')).quote).toBe(true);
    const read = (d: string) => parseJsonlStrict(readFileSync(join(d, 'sft.jsonl'), 'utf8'), SftExample);
    const [plain, quoted] = [read(dir), read(quoting)];
    expect(quoted.map((e) => e.prompt)).toEqual(plain.map((e) => e.prompt));
    expect(plain.filter((e) => /(wrote|words|put it): "/.test(e.reply))).toHaveLength(0);
    expect(quoted.filter((e) => /(wrote|words|put it): "/.test(e.reply)).length).toBeGreaterThan(
      0.7 * quoted.length,
    );
  });

  it('writes a key-words SFT corpus with --key-words: the same items, each prompt with the line', async () => {
    const keyed = join(dir, 'key-words');
    const { code } = await cli(
      'data',
      'generate',
      '--out',
      keyed,
      '--n',
      '400',
      '--seed',
      '3',
      '--key-words',
    );
    expect(code).toBe(0);
    expect(JSON.parse(readFileSync(join(keyed, 'manifest.json'), 'utf8')).keyWords).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')).keyWords).toBe(false);
    const read = (d: string) => parseJsonlStrict(readFileSync(join(d, 'sft.jsonl'), 'utf8'), SftExample);
    const [plain, withLine] = [read(dir), read(keyed)];
    expect(withLine.map((e) => e.prompt.replace(/\nKey words: [^\n]*/, ''))).toEqual(
      plain.map((e) => e.prompt),
    );
    expect(withLine.every((e) => /\nKey words: [^\n]*\nReply:$/.test(e.prompt))).toBe(true);
    expect(readFileSync(join(keyed, 'test.jsonl'), 'utf8')).toBe(
      readFileSync(join(dir, 'test.jsonl'), 'utf8'),
    );
  });

  it('rejects a bad share with a usage error', async () => {
    const { code, stderr } = await cli('data', 'generate', '--out', dir, '--bad-share', '3');
    expect(code).toBe(2);
    expect(stderr).toMatch(/--bad-share must be a number in \[0, 1\]/);
  });
});

describe('edgelight rollouts', () => {
  it('runs the baseline policy over a dataset and prints the summary', async () => {
    const { code, stdout } = await cli(
      'rollouts',
      '--data',
      join(dir, 'test.jsonl'),
      '--n',
      '12',
      '--group',
      '3',
    );
    expect(code).toBe(0);
    const summary = JSON.parse(stdout);
    expect(summary).toMatchObject({
      policy: 'baseline-sft-corpus',
      store: 'memory',
      tasks: 12,
      group: 3,
      rollouts: 12,
      succeeded: 12,
      failed: 0,
      replies: 36,
    });
    expect(summary.rollouts_per_s).toBeGreaterThan(0);
    for (const term of ['primary', 'length', 'tone', 'integrity', 'overselling', 'acknowledgement']) {
      expect(summary.reward[term].mean).toBeGreaterThanOrEqual(0);
      expect(summary.reward[term].mean).toBeLessThanOrEqual(1);
      expect(summary.reward[term].std).toBeGreaterThanOrEqual(0);
    }
    expect(summary.hard_zero).toHaveProperty('pii-leak');
    expect(typeof summary.violations).toBe('object');
  });

  it('writes rollouts and spans to a server store with --server', async () => {
    const backing = new InMemoryLightningStore();
    const server: RunningServer = await listen(createApp({ store: backing, token: 'cli-token' }));
    try {
      const { code, stdout, stderr } = await cli(
        'rollouts',
        '--data',
        join(dir, 'val.jsonl'),
        '--n',
        '3',
        '--group',
        '2',
        '--server',
        server.url,
        '--token',
        'cli-token',
      );
      expect(stderr).toBe('');
      expect(code).toBe(0);
      expect(JSON.parse(stdout)).toMatchObject({ store: `http:${server.url}`, rollouts: 3 });
      const rollouts = await backing.queryRollouts({ status_in: ['succeeded'] });
      expect(rollouts.total).toBe(3);
      const spans = await backing.querySpans({
        rollout_id: rollouts.items[0].rollout_id,
        name: 'agentlightning.reward',
      });
      expect(spans.total).toBe(2);
    } finally {
      await server.close();
    }
  });

  it('writes rollouts and spans to a SQLite file with --db', async () => {
    const file = join(dir, 'rollouts.sqlite');
    const { code, stdout } = await cli(
      'rollouts',
      '--data',
      join(dir, 'val.jsonl'),
      '--n',
      '4',
      '--group',
      '2',
      '--db',
      file,
    );
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ store: `sqlite:${file}`, rollouts: 4 });
    const store = openSqliteStore(file);
    try {
      const rollouts = await store.queryRollouts({ status_in: ['succeeded'] });
      expect(rollouts.total).toBe(4);
      const replies = await store.querySpans({
        rollout_id: rollouts.items[0].rollout_id,
        name: 'agentlightning.object',
      });
      expect(replies.total).toBe(2);
    } finally {
      await store.close();
    }
  });

  it('drafts with a trained checkpoint given by --policy', async () => {
    // A micro policy (untrained weights): this checks the loading and the wiring, not the replies.
    const texts = parseJsonlStrict(readFileSync(join(dir, 'train.jsonl'), 'utf8'), DatasetItem).map(
      (i) => i.text,
    );
    const tokenizer = PolicyTokenizer.fromJson(trainByteLevelBpe(texts.slice(0, 40), { vocabSize: 300 }));
    const policy = createPolicy(
      {
        vocabSize: tokenizer.vocabSize,
        blockSize: 96,
        nLayer: 1,
        nHead: 2,
        nEmbd: 16,
        padId: tokenizer.padId,
      },
      { seed: 1 },
    );
    const checkpointDir = join(dir, 'checkpoint');
    const id = await writeCheckpointDirectory(checkpointDir, await checkpointFromPolicy(policy, tokenizer));
    const { code, stdout } = await cli(
      'rollouts',
      '--data',
      join(dir, 'test.jsonl'),
      '--n',
      '2',
      '--group',
      '2',
      '--policy',
      checkpointDir,
      '--backend',
      'cpu',
      '--max-tokens',
      '8',
    );
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({
      policy: id,
      backend: 'cpu',
      rollouts: 2,
      succeeded: 2,
      replies: 4,
    });
  });

  it('reports an invalid task line with its number and runs nothing', async () => {
    const file = join(dir, 'bad.jsonl');
    writeFileSync(file, `${JSON.stringify({ id: 'ok', text: 'fine' })}\n{"id": "x"}\nnot json\n`);
    const { code, stderr, stdout } = await cli('rollouts', '--data', file);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/2 invalid line\(s\)/);
    expect(stderr).toMatch(/bad\.jsonl:2: text/);
    expect(stderr).toMatch(/bad\.jsonl:3: not JSON/);
  });

  it('explains flag mistakes in one line', async () => {
    const data = join(dir, 'test.jsonl');
    const cases: [string[], RegExp][] = [
      [[], /--data FILE.jsonl is required/],
      [['--data', data, '--llm', 'http://127.0.0.1:1/v1'], /--llm needs --model/],
      [['--data', data, '--policy', 'a', '--llm', 'http://x/v1', '--model', 'm'], /either --policy or --llm/],
      [
        ['--data', data, '--db', join(dir, 'x.db'), '--server', 'http://127.0.0.1:1'],
        /either --db or --server/,
      ],
      [['--data', data, '--group', '0'], /--group must be a positive integer/],
      [['--data', data, '--backend', 'cpu'], /--backend applies to --policy only/],
      [['--data', join(dir, 'missing.jsonl')], /cannot read data file/],
      [['--data', data, '--policy', join(dir, 'no-such-checkpoint')], /checkpoint|policy/],
    ];
    for (const [args, message] of cases) {
      const { code, stderr } = await cli('rollouts', ...args);
      expect(code, args.join(' ')).toBe(2);
      expect(stderr).toMatch(message);
      expect(stderr).not.toMatch(/\n\s+at /); // never a stack trace
    }
  });
});
