import { access, constants } from 'node:fs/promises';
import { dirname } from 'node:path';
import { FeedbackTask } from '../../shared/agent/task';
import { JsonlError, parseJsonlStrict } from '../../shared/data/jsonl';
import { createGovernancePipeline } from '../../shared/governance';
import { agreementSummary, readAgreement } from '../../shared/review/agreement';
import { MemoryBlobStorage, saveCheckpoint } from '../../shared/policy/checkpoint';
import { policyFromCheckpoint } from '../../shared/policy/checkpoint-policy';
import { DEFAULT_MAX_NEW_TOKENS } from '../../shared/policy/sequence';
import { InMemoryLightningStore } from '../../shared/store/memory';
import { selectBackend } from '../../shared/train/backend';
import { type EvaluationReport, evaluatePolicyReplies } from '../../shared/train/loop-eval';
import { readCheckpointDirectory, resolveCheckpointDirectory } from '../checkpoints/directory';
import { writeFileAtomic } from '../write-file-atomic';
import {
  CliUsageError,
  flagNumber,
  integer,
  integerAtLeast,
  numberAtLeast,
  parseCommandArgs,
  readFlagFile,
} from './args';
import { DEFAULT_DATA_DIR } from './data-dir';
import { openStore } from './data-reviews';
import { createProgress } from './progress';

const HELP = `usage: edgelight eval --checkpoint DIR --in FILE.jsonl [--samples K] [--seed S]
       edgelight eval --reviews [--data SERVER_DATA_DIR | --server URL [--token T]] [--examples N]

Drafts K replies per feedback item with a trained checkpoint, through the same store, runners and
feedback agent as training, and prints one JSON object:
  {"n", "reward_mean", "reward_std", "terms": {...}, "violation_rate": {"inst_016", "inst_017",
   "inst_018", "pii", "any"}, "sendable_rate", "failed_checks": {"spelling", "stutter", …},
   "words_mean", "samples": [first 5 replies]}
n is the number of feedback items; the statistics are over all n × K replies. sendable_rate is the
share of replies that pass every sendability check (real words, no stutter or repetition, no
repeated sentence, no stray characters or placeholders, proper sentences, no contradicting tone);
failed_checks gives each check's share of failures. The same figures, in words, go to stderr.
  --checkpoint      a checkpoint folder, or a run folder with 'latest'
  --in              JSON Lines, one {"id", "text", "category"?} per line
  --samples         replies per item (default 4)
  --seed            sampling seed (default 1)
  --temperature     sampling temperature (default 1, as in training)
  --max-new-tokens  reply length limit (default ${DEFAULT_MAX_NEW_TOKENS})
  --backend         tfjs backend (default wasm)
  --reference       a second checkpoint (e.g. the SFT one a GRPO run started from): adds
                    "reference_nll", the replies' mean negative log-likelihood per token under it
  --replies         also write every reply to this JSON Lines file, one {"id", "category", "sample",
                    "reply", "reward", "terms", "violations", "failed_checks"} per line (written whole at the end)

With --reviews, nothing is drafted: it reads reviewers' decisions on feedback items and prints how
well the heuristic reward agrees with them, as one JSON object (shared/review/agreement.ts):
  {"items", "decided", "decisions", "compared", "chance", "top1": {"primary", "terms"},
   "pairwise": {"count", "primary", "terms"}, "rejected", "written", "edited", "examples": [...]}
top1 is the share of items whose chosen draft (approved, or the draft an edit started from) the reward
ranks first (a tie shares the credit; chance is a random pick); pairwise is the chosen draft against
each draft passed over (a tie counts half). examples are the largest disagreements: the redacted
feedback, the chosen and the reward's top draft with their rewards, and which terms preferred which.
Written replies and edits are scored with the reward too. The same in one line goes to stderr.
  --data      an 'edgelight serve' data folder to read (default ./${DEFAULT_DATA_DIR}); for a server
              that is running, prefer --server
  --server    a running edgelight server, e.g. http://127.0.0.1:8787
  --token     its bearer token (or EDGELIGHT_TOKEN)
  --examples  disagreement examples to print (default 5)`;

/** `eval --reviews`: the heuristic reward's agreement with reviewers' decisions. */
async function runReviewAgreement(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    reviews: { type: 'boolean' },
    data: { type: 'string' },
    server: { type: 'string' },
    token: { type: 'string' },
    examples: { type: 'string', default: '5' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const examples = flagNumber(integerAtLeast(0), values.examples, 'examples');
  // The reader `edgelight data reviews` uses: one way to find a server's store.
  const store = await openStore(values);
  let report: Awaited<ReturnType<typeof readAgreement>>;
  try {
    report = await readAgreement(store, { examples, governance: createGovernancePipeline() });
  } catch (error) {
    throw new CliUsageError(`cannot read the reviews: ${(error as Error).message}`);
  } finally {
    await store.close();
  }
  console.log(JSON.stringify(report));
  console.error(agreementSummary(report));
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--reviews')) return runReviewAgreement(argv);
  const { values } = parseCommandArgs(argv, {
    checkpoint: { type: 'string' },
    in: { type: 'string' },
    samples: { type: 'string', default: '4' },
    seed: { type: 'string', default: '1' },
    temperature: { type: 'string', default: '1' },
    'max-new-tokens': { type: 'string', default: String(DEFAULT_MAX_NEW_TOKENS) },
    backend: { type: 'string', default: 'wasm' },
    reference: { type: 'string' },
    replies: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!values.checkpoint) throw new CliUsageError('--checkpoint DIR is required');
  if (!values.in) throw new CliUsageError('--in FILE.jsonl is required');
  const samples = flagNumber(integerAtLeast(1), values.samples, 'samples');
  const seed = flagNumber(integer(), values.seed, 'seed');
  const temperature = flagNumber(numberAtLeast(0), values.temperature, 'temperature');
  const maxNewTokens = flagNumber(integerAtLeast(1), values['max-new-tokens'], 'max-new-tokens');
  if (!['wasm', 'cpu', 'webgpu'].includes(values.backend))
    throw new CliUsageError('--backend must be wasm, cpu or webgpu');

  // Checked before the drafting, which takes minutes, rather than failing after it.
  if (values.replies !== undefined) await assertWritableFolder('--replies', values.replies);

  const text = await readFlagFile('--in', values.in);
  let tasks: FeedbackTask[];
  try {
    tasks = parseJsonlStrict(text, FeedbackTask);
  } catch (error) {
    if (error instanceof JsonlError) throw new CliUsageError(`--in ${values.in}: ${error.message}`);
    throw error;
  }
  if (tasks.length === 0) throw new CliUsageError(`--in ${values.in} has no feedback items`);

  const loaded = await readCheckpointArg('--checkpoint', values.checkpoint);
  const referenceLoaded = values.reference ? await readCheckpointArg('--reference', values.reference) : null;
  await selectBackend({ prefer: values.backend as 'wasm' | 'cpu' | 'webgpu' });
  const model = policyArg('--checkpoint', values.checkpoint, loaded);
  const reference = referenceLoaded ? policyArg('--reference', values.reference!, referenceLoaded) : null;
  if (reference && reference.tokenizer.toText() !== model.tokenizer.toText()) {
    model.policy.dispose();
    reference.policy.dispose();
    throw new CliUsageError('--reference must use the same tokenizer as --checkpoint');
  }
  const checkpoints = new MemoryBlobStorage();
  const checkpointId = await saveCheckpoint(checkpoints, {
    ...loaded.checkpoint,
    optimizer: undefined,
    trainer: undefined,
  });
  // Drafting takes minutes: items finished / total, rate and ETA on a terminal's stderr.
  const progress = createProgress({ total: tasks.length, label: 'eval' });
  const { report, replies } = await evaluatePolicyReplies({
    store: new InMemoryLightningStore(),
    checkpoints,
    checkpointId,
    policy: model.policy,
    tokenizer: model.tokenizer,
    tasks,
    samples,
    seed,
    governance: createGovernancePipeline(),
    sampling: { temperature, maxNewTokens },
    reference: reference?.policy,
    onProgress: (done) => progress.update(done),
  }).finally(() => progress.done());
  if (values.replies !== undefined)
    await writeFileAtomic(values.replies, replies.map((r) => `${JSON.stringify(r)}\n`).join(''));
  console.log(JSON.stringify(report));
  console.error(evaluationSummary(report));
  model.policy.dispose();
  reference?.policy.dispose();
  return 0;
}

const percent = (x: number) => `${(100 * x).toFixed(1)} %`;

/** The report in one line: "reward 0.812 ± 0.120 · sendable 63.0 % (fails: spelling 20.5 %, …) · …". */
export function evaluationSummary(report: EvaluationReport): string {
  const fails = Object.entries(report.failed_checks)
    .filter(([, share]) => share > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([check, share]) => `${check} ${percent(share)}`);
  return [
    `reward ${report.reward_mean.toFixed(3)} ± ${report.reward_std.toFixed(3)}`,
    `sendable ${percent(report.sendable_rate)}${fails.length ? ` (fails: ${fails.join(', ')})` : ''}`,
    `any violation ${percent(report.violation_rate.any)}`,
    ...(report.reference_nll === undefined ? [] : [`nll ${report.reference_nll.toFixed(3)}`]),
  ].join(' · ');
}

type LoadedCheckpoint = Awaited<ReturnType<typeof readCheckpointDirectory>>;

async function readCheckpointArg(flag: string, path: string): Promise<LoadedCheckpoint> {
  try {
    return await readCheckpointDirectory(await resolveCheckpointDirectory(path));
  } catch (error) {
    throw new CliUsageError(`${flag} ${path}: ${(error as Error).message}`);
  }
}

function policyArg(flag: string, path: string, loaded: LoadedCheckpoint) {
  try {
    return policyFromCheckpoint(loaded.checkpoint);
  } catch (error) {
    throw new CliUsageError(`${flag} ${path}: ${(error as Error).message}`);
  }
}

async function assertWritableFolder(flag: string, path: string): Promise<void> {
  try {
    await access(dirname(path), constants.W_OK);
  } catch (error) {
    throw new CliUsageError(
      `cannot write ${flag} ${path}: its folder is ${(error as NodeJS.ErrnoException).code ?? error}`,
    );
  }
}
