import { readFile } from 'node:fs/promises';
import { createBaselinePolicy } from '../../shared/agent/baseline-policy';
import { createFeedbackAgent, type ScoredReply } from '../../shared/agent/feedback-agent';
import type { ReplyPolicy } from '../../shared/agent/policy';
import { REPORTED_TERMS } from '../../shared/agent/reward';
import { type PolicyResolver, runRunners } from '../../shared/agent/runner';
import { FeedbackTask } from '../../shared/agent/task';
import { generateFeedback } from '../../shared/data/generator';
import { parseJsonl } from '../../shared/data/jsonl';
import { SftExample } from '../../shared/data/schema';
import { buildSftCorpus } from '../../shared/data/sft';
import { createGovernancePipeline } from '../../shared/governance';
import type { GovernancePipeline } from '../../shared/governance/types';
import { HttpLightningStore } from '../../shared/store/http';
import { createNodeFetch } from '../node-fetch';
import { InMemoryLightningStore } from '../../shared/store/memory';
import type { LightningStore } from '../../shared/store/store';
import type { NamedResourcesInput } from '../../shared/store/types';
import { CliUsageError, flagNumber, nonNegativeNumber, parseCommandArgs, positiveInteger } from './args';
import { createProgress } from './progress';

const HELP = `usage: edgelight rollouts --data FILE.jsonl [--n N] [--group G] [--runners R]
                          [--policy CKPT | --llm URL --model M | --sft FILE.jsonl]
                          [--db PATH | --server URL [--token T]] [--seed S]
                          [--temperature T] [--max-tokens N] [--backend wasm|cpu|webgpu]

Runs the feedback agent over the tasks of a JSON Lines file (one FeedbackTask per line:
{"id", "text", "category"?, "locale"?, "metadata"?}) and prints a JSON summary: rollouts,
rollouts/s, reward mean/std per term, hard zeros, violation counts.
  --data         tasks (required); an invalid line is reported with its number and nothing runs
  --n            run only the first N tasks
  --group        replies drafted per task, the GRPO group size (default 4)
  --runners      runners working side by side on the store (default 2)
  --policy       a checkpoint folder (or a run folder with 'latest') from 'edgelight train'
  --llm/--model  an OpenAI-compatible endpoint (llama.cpp, Ollama, vLLM), e.g. http://127.0.0.1:8080/v1
  --backend      tfjs backend for --policy: wasm (default), cpu or webgpu
  --sft          the baseline's reply corpus (default: generated with the default seed)
                 Without --policy or --llm the baseline policy drafts: it samples replies of the
                 SFT corpus written for the same category ("policy": "baseline-sft-corpus").
  --db           a SQLite store file (default: an in-memory store, gone when the command ends)
  --server       an edgelight (or Agent Lightning v0.3) server's store, e.g. http://127.0.0.1:8787
  --seed         sampling seed (default 7)`;

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new CliUsageError(
      `cannot read ${what} '${path}': ${(error as NodeJS.ErrnoException).code ?? error}`,
    );
  }
}

function reportInvalidLines(path: string, issues: { line: number; message: string }[]): never {
  const shown = issues.slice(0, 20).map((i) => `  ${path}:${i.line}: ${i.message}`);
  const more = issues.length > 20 ? [`  … and ${issues.length - 20} more`] : [];
  throw new CliUsageError([`${issues.length} invalid line(s) in ${path}:`, ...shown, ...more].join('\n'));
}

async function openStore(values: {
  db?: string;
  server?: string;
  token?: string;
}): Promise<{ store: LightningStore; kind: string }> {
  if (values.db && values.server) throw new CliUsageError('use either --db or --server, not both');
  if (values.server) {
    if (!/^https?:\/\//.test(values.server))
      throw new CliUsageError(`--server must be an http(s) URL, got '${values.server}'`);
    return {
      store: new HttpLightningStore({
        baseUrl: values.server,
        token: values.token,
        fetch: createNodeFetch(),
      }),
      kind: `http:${values.server}`,
    };
  }
  if (values.db) {
    // Loaded only when asked for: better-sqlite3 is a native module the other paths never need.
    const { openSqliteStore } = await import('../store/sqlite');
    try {
      return { store: openSqliteStore(values.db), kind: `sqlite:${values.db}` };
    } catch (error) {
      throw new CliUsageError(`cannot open SQLite store '${values.db}': ${(error as Error).message}`);
    }
  }
  return { store: new InMemoryLightningStore(), kind: 'memory' };
}

/** Loads a trained checkpoint through the policy package (tfjs is imported on this path only). */
async function loadCheckpointPolicy(
  path: string,
  backend: string,
): Promise<{ policy: ReplyPolicy; backend: string }> {
  const [directory, { policyFromCheckpoint }, { TransformerReplyPolicy }, { selectBackend }] =
    await Promise.all([
      import('../checkpoints/directory'),
      import('../../shared/policy/checkpoint-policy'),
      import('../../shared/policy/reply-policy'),
      import('../../shared/train/backend'),
    ]);
  let backendName: string;
  try {
    backendName = (await selectBackend({ prefer: backend as 'wasm' | 'cpu' | 'webgpu' })).name;
  } catch (error) {
    throw new CliUsageError(`--backend ${backend}: ${(error as Error).message}`);
  }
  try {
    const dir = await directory.resolveCheckpointDirectory(path);
    const { id, checkpoint } = await directory.readCheckpointDirectory(dir);
    const { policy, tokenizer } = policyFromCheckpoint(checkpoint);
    return { policy: new TransformerReplyPolicy({ id, policy, tokenizer }), backend: backendName };
  } catch (error) {
    throw new CliUsageError(`cannot load checkpoint '${path}': ${(error as Error).message}`);
  }
}

async function baselineCorpus(sftPath: string | undefined, governance: GovernancePipeline) {
  if (sftPath) {
    const { records, issues } = parseJsonl(await readText(sftPath, 'SFT corpus'), SftExample);
    if (issues.length) reportInvalidLines(sftPath, issues);
    if (records.length === 0) throw new CliUsageError(`SFT corpus '${sftPath}' is empty`);
    return records;
  }
  const train = generateFeedback().filter((item) => item.metadata.split === 'train');
  return buildSftCorpus(train, { governance });
}

interface Moments {
  n: number;
  sum: number;
  sumSq: number;
}
const moments = (): Moments => ({ n: 0, sum: 0, sumSq: 0 });
const add = (m: Moments, x: number) => {
  m.n++;
  m.sum += x;
  m.sumSq += x * x;
};
const round = (x: number) => Math.round(x * 10_000) / 10_000;
const summarise = (m: Moments) => {
  const mean = m.n ? m.sum / m.n : 0;
  return { mean: round(mean), std: round(Math.sqrt(Math.max(0, m.n ? m.sumSq / m.n - mean * mean : 0))) };
};

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    data: { type: 'string' },
    n: { type: 'string' },
    group: { type: 'string' },
    runners: { type: 'string' },
    policy: { type: 'string' },
    llm: { type: 'string' },
    model: { type: 'string' },
    sft: { type: 'string' },
    db: { type: 'string' },
    server: { type: 'string' },
    token: { type: 'string' },
    seed: { type: 'string' },
    temperature: { type: 'string' },
    'max-tokens': { type: 'string' },
    backend: { type: 'string', default: 'wasm' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!values.data) throw new CliUsageError('--data FILE.jsonl is required');
  if (values.policy && values.llm) throw new CliUsageError('use either --policy or --llm, not both');
  if (values.llm && !values.model) throw new CliUsageError('--llm needs --model');
  if (values.model && !values.llm) throw new CliUsageError('--model goes with --llm');
  if (values.sft && (values.policy || values.llm))
    throw new CliUsageError('--sft feeds the baseline policy; drop it with --policy or --llm');
  if (values.llm && !/^https?:\/\//.test(values.llm))
    throw new CliUsageError(`--llm must be an http(s) URL, got '${values.llm}'`);
  if (!['wasm', 'cpu', 'webgpu'].includes(values.backend))
    throw new CliUsageError('--backend must be wasm, cpu or webgpu');
  if (argv.some((a) => a === '--backend' || a.startsWith('--backend=')) && !values.policy) {
    throw new CliUsageError('--backend applies to --policy only');
  }
  const group = flagNumber(positiveInteger(), values.group, 'group') ?? 4;
  const runnerCount = flagNumber(positiveInteger(), values.runners, 'runners') ?? 2;
  const seed = flagNumber(positiveInteger(), values.seed, 'seed') ?? 7;
  const limit = flagNumber(positiveInteger(), values.n, 'n');
  const temperature = flagNumber(nonNegativeNumber(), values.temperature, 'temperature');
  const maxTokens = flagNumber(positiveInteger(), values['max-tokens'], 'max-tokens');

  const { records, issues } = parseJsonl(await readText(values.data, 'data file'), FeedbackTask);
  if (issues.length) reportInvalidLines(values.data, issues);
  const tasks = limit === undefined ? records : records.slice(0, limit);
  if (tasks.length === 0) throw new CliUsageError(`no tasks in '${values.data}'`);

  const governance = createGovernancePipeline();
  let resources: NamedResourcesInput;
  let resolvePolicy: PolicyResolver | undefined;
  let policyName: string;
  let backendName: string | undefined;
  if (values.policy) {
    const loaded = await loadCheckpointPolicy(values.policy, values.backend);
    const policy = loaded.policy;
    backendName = loaded.backend;
    resources = { policy: { resource_type: 'policy', checkpoint_id: policy.id } };
    resolvePolicy = () => policy;
    policyName = policy.id;
  } else if (values.llm) {
    resources = {
      llm: { resource_type: 'llm', endpoint: values.llm, model: values.model!, sampling_parameters: {} },
    };
    policyName = `llm:${values.model}`;
  } else {
    const baseline = createBaselinePolicy(await baselineCorpus(values.sft, governance), seed);
    resources = { policy: { resource_type: 'policy', checkpoint_id: baseline.id } };
    resolvePolicy = () => baseline;
    policyName = baseline.id;
  }

  const { store, kind } = await openStore(values);
  const terms = Object.fromEntries(['primary', ...REPORTED_TERMS].map((t) => [t, moments()])) as Record<
    string,
    Moments
  >;
  const violations: Record<string, number> = {};
  const hardZeros: Record<string, number> = { 'pii-leak': 0, blocked: 0 };
  let replies = 0;
  let redacted = 0;
  let sendable = 0;
  const failedChecks: Record<string, number> = {};
  const onReply = (scored: ScoredReply) => {
    replies++;
    if (scored.verdict.pii.length > 0 || scored.verdict.decision === 'block') redacted++;
    add(terms.primary, scored.reward.primary);
    for (const t of REPORTED_TERMS) add(terms[t], scored.reward.terms[t]);
    for (const rule of scored.reward.violations) violations[rule] = (violations[rule] ?? 0) + 1;
    if (scored.reward.hardZero) hardZeros[scored.reward.hardZero]++;
    if (scored.reward.quality.sendable) sendable++;
    for (const check of scored.reward.quality.failed) failedChecks[check] = (failedChecks[check] ?? 0) + 1;
  };
  const agent = createFeedbackAgent({ governance, group, seed, temperature, maxTokens, onReply });
  const failures: Record<string, number> = {};

  try {
    const resourcesUpdate = await store.addResources(resources);
    const started = performance.now();
    // Rollouts finished / total, rate and ETA on a terminal's stderr (nothing when it is not one).
    const progress = createProgress({ total: tasks.length, label: 'rollouts', unit: 'rollouts' });
    await store.enqueueRollouts(
      tasks.map((task) => {
        const split = (task.metadata as { split?: unknown } | undefined)?.split;
        const mode = split === 'train' || split === 'val' || split === 'test' ? split : null;
        return {
          input: task,
          mode,
          resources_id: resourcesUpdate.resources_id,
          metadata: { task_id: task.id },
        };
      }),
    );
    const stats = await runRunners(runnerCount, {
      store,
      agent,
      resolvePolicy,
      stopWhenEmpty: true,
      warn: (m) => {
        progress.clear();
        console.error(m);
      },
      hooks: {
        onRolloutEnd: (_rollout, outcome) => {
          if (outcome.error) failures[outcome.error.message] = (failures[outcome.error.message] ?? 0) + 1;
          progress.tick();
        },
      },
    }).finally(() => progress.done());
    const seconds = (performance.now() - started) / 1000;
    const rollouts = stats.reduce((s, r) => s + r.rollouts, 0);
    const succeeded = stats.reduce((s, r) => s + r.succeeded, 0);
    const summary = {
      policy: policyName,
      ...(backendName ? { backend: backendName } : {}),
      store: kind,
      tasks: tasks.length,
      group,
      runners: runnerCount,
      rollouts,
      succeeded,
      failed: rollouts - succeeded,
      replies,
      seconds: round(seconds),
      rollouts_per_s: round(rollouts / seconds),
      replies_per_s: round(replies / seconds),
      reward: Object.fromEntries(Object.entries(terms).map(([t, m]) => [t, summarise(m)])),
      hard_zero: hardZeros,
      sendable_rate: replies ? round(sendable / replies) : 0,
      failed_checks: failedChecks,
      replies_stored_redacted: redacted,
      violations,
      ...(Object.keys(failures).length ? { failures } : {}),
    };
    console.log(JSON.stringify(summary, null, 2));
    return rollouts > 0 && succeeded === rollouts ? 0 : 1;
  } finally {
    await store.close();
  }
}
