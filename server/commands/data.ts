import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_GENERATE_OPTIONS, generateFeedback } from '../../shared/data/generator';
import { toJsonl } from '../../shared/data/jsonl';
import { DatasetItem, SftExample } from '../../shared/data/schema';
import { buildSftCorpus, DEFAULT_BAD_SHARE } from '../../shared/data/sft';
import { createGovernancePipeline } from '../../shared/governance';
import { CliUsageError, flagNumber, integerAtLeast, parseCommandArgs, share } from './args';
import { REVIEWS_HELP, runReviews } from './data-reviews';
import { createProgress } from './progress';

const HELP = `usage: edgelight data generate --out DIR [--seed S] [--n N] [--bad-share F] [--pii-share F] [--quote]
                                  [--novel-share F] [--key-words]

Writes a seeded synthetic feedback dataset, split by template family:
  DIR/train.jsonl, DIR/val.jsonl, DIR/test.jsonl   one FeedbackTask per line
  DIR/sft.jsonl                                     a reply per training item (prompt + reply + flaws)
  DIR/manifest.json                                 options and counts
  --seed        generator seed (default ${DEFAULT_GENERATE_OPTIONS.seed}); same seed, same files
  --n           number of feedback items (default ${DEFAULT_GENERATE_OPTIONS.count})
  --bad-share   share of SFT replies with deliberate bad habits (default ${DEFAULT_BAD_SHARE})
  --pii-share   share of items carrying personal data (default ${DEFAULT_GENERATE_OPTIONS.piiShare})
  --quote       SFT replies quote a clean sentence of the feedback (an experiment for the copy head;
                it measured worse than the plain corpus, docs/training.md)
  --novel-share share of training items whose noun slots (page, feature, topic, ...) come from a
                ~2,300-noun list instead of the templates' short pools, so a policy must copy
                them (default ${DEFAULT_GENERATE_OPTIONS.novelShare}); val and test never change
  --key-words   SFT prompts end with a "Key words:" line (the feedback's first three content words)
                and replies name them back; a policy trained on it keeps that prompt format. With
                --copy and --novel-share 0.5 it measured best on hand-written feedback (docs/training.md)

${REVIEWS_HELP}`;

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === '--help' || sub === '-h') {
    console.log(HELP);
    return sub ? 0 : 2;
  }
  if (sub === 'reviews') return runReviews(rest);
  if (sub !== 'generate')
    throw new CliUsageError(`unknown subcommand '${sub}' (expected 'generate' or 'reviews')`);
  const { values } = parseCommandArgs(rest, {
    out: { type: 'string' },
    seed: { type: 'string' },
    n: { type: 'string' },
    'bad-share': { type: 'string' },
    quote: { type: 'boolean' },
    'key-words': { type: 'boolean' },
    'pii-share': { type: 'string' },
    'novel-share': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!values.out) throw new CliUsageError('--out DIR is required');
  const seed = flagNumber(integerAtLeast(0), values.seed, 'seed') ?? DEFAULT_GENERATE_OPTIONS.seed;
  const count = flagNumber(integerAtLeast(1), values.n, 'n') ?? DEFAULT_GENERATE_OPTIONS.count;
  const badShare = flagNumber(share(), values['bad-share'], 'bad-share') ?? DEFAULT_BAD_SHARE;
  const piiShare = flagNumber(share(), values['pii-share'], 'pii-share') ?? DEFAULT_GENERATE_OPTIONS.piiShare;
  const novelShare =
    flagNumber(share(), values['novel-share'], 'novel-share') ?? DEFAULT_GENERATE_OPTIONS.novelShare;

  const items = generateFeedback({ seed, count, piiShare, novelShare });
  const splits = {
    train: items.filter((i) => i.metadata.split === 'train'),
    val: items.filter((i) => i.metadata.split === 'val'),
    test: items.filter((i) => i.metadata.split === 'test'),
  };
  const quote = values.quote === true;
  const keyWords = values['key-words'] === true;
  // The reference replies are the slow part (governance per item): a progress line on a terminal.
  const progress = createProgress({ total: splits.train.length, label: 'data generate: SFT replies' });
  let sft: SftExample[];
  try {
    sft = buildSftCorpus(splits.train, {
      governance: createGovernancePipeline(),
      badShare,
      seed,
      quote,
      keyWords,
      onProgress: (done) => progress.update(done),
    });
  } finally {
    progress.done();
  }
  try {
    await mkdir(values.out, { recursive: true });
    for (const [name, rows] of Object.entries(splits))
      await writeFile(join(values.out, `${name}.jsonl`), toJsonl(rows, DatasetItem));
    await writeFile(join(values.out, 'sft.jsonl'), toJsonl(sft, SftExample));
    const manifest = {
      seed,
      count,
      piiShare,
      novelShare,
      badShare,
      quote,
      keyWords,
      files: {
        train: splits.train.length,
        val: splits.val.length,
        test: splits.test.length,
        sft: sft.length,
      },
      sftFlawed: sft.filter((e) => e.flaws.length > 0).length,
      withPii: items.filter((i) => i.metadata.pii.length > 0).length,
      valuesQuestions: items.filter((i) => i.metadata.valuesQuestion).length,
    };
    await writeFile(join(values.out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    console.log(JSON.stringify({ out: values.out, ...manifest }, null, 2));
  } catch (error) {
    throw new CliUsageError(
      `cannot write to '${values.out}': ${(error as NodeJS.ErrnoException).code ?? error}`,
    );
  }
  return 0;
}
