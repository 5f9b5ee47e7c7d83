// `npm run bench -- rollouts`: the feedback agent's costs on this machine. Reward throughput alone
// (the pure scoring over verdicts the agent already holds) against reward + governing the reply
// (what each RL sample pays), and end-to-end rollouts/s on the in-memory store with the baseline
// policy for 1 runner against 4 concurrent runners. Every comparison is measured in the same run.
// Flags: --tasks N (default 200), --group G (default 4).
import { createBaselinePolicy } from '../shared/agent/baseline-policy';
import { createFeedbackAgent } from '../shared/agent/feedback-agent';
import { rewardFeedbackReply } from '../shared/agent/reward';
import { runRunners } from '../shared/agent/runner';
import { generateFeedback } from '../shared/data/generator';
import { buildSftCorpus } from '../shared/data/sft';
import { createGovernancePipeline } from '../shared/governance';
import { InMemoryLightningStore } from '../shared/store/memory';

const flag = (flags: string[], name: string, fallback: number) => {
  const hit = flags.find((f) => f.startsWith(`--${name}=`));
  return hit ? Number(hit.split('=')[1]) : fallback;
};
const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

export async function run(flags: string[]) {
  const taskCount = flag(flags, 'tasks', 200);
  const group = flag(flags, 'group', 4);
  const governance = createGovernancePipeline();
  const items = generateFeedback();
  const corpus = buildSftCorpus(
    items.filter((i) => i.metadata.split === 'train'),
    { governance },
  );
  const tasks = items.filter((i) => i.metadata.split === 'test').slice(0, taskCount);

  // Reward alone vs reward + governing the reply, over the same (task, reply) pairs.
  const pairs = tasks.map((task, k) => ({ task, reply: corpus[k % corpus.length].reply }));
  const feedbackVerdicts = pairs.map((p) => governance.govern(p.task.text, 'feedback'));
  const replyVerdicts = pairs.map((p) => governance.govern(p.reply, 'response'));
  let t = performance.now();
  for (let rep = 0; rep < 5; rep++) {
    for (const [k, p] of pairs.entries()) {
      rewardFeedbackReply(p.reply, p.task, { feedback: feedbackVerdicts[k], reply: replyVerdicts[k] });
    }
  }
  const rewardOnlyPerS = (5 * pairs.length) / ((performance.now() - t) / 1000);
  t = performance.now();
  for (const [k, p] of pairs.entries()) {
    rewardFeedbackReply(p.reply, p.task, {
      feedback: feedbackVerdicts[k],
      reply: governance.govern(p.reply, 'response'),
    });
  }
  const rewardWithGovernPerS = pairs.length / ((performance.now() - t) / 1000);

  async function rollouts(runners: number, taskList = tasks) {
    const store = new InMemoryLightningStore();
    const policy = createBaselinePolicy(corpus, 7);
    await store.addResources({ policy: { resource_type: 'policy', checkpoint_id: policy.id } });
    await store.enqueueRollouts(taskList.map((input) => ({ input })));
    const agent = createFeedbackAgent({ governance, group, seed: 7 });
    const start = performance.now();
    const stats = await runRunners(runners, {
      store,
      agent,
      resolvePolicy: () => policy,
      stopWhenEmpty: true,
    });
    const seconds = (performance.now() - start) / 1000;
    const done = stats.reduce((n, s) => n + s.succeeded, 0);
    return {
      rollouts: done,
      rollouts_per_s: round(done / seconds),
      replies_per_s: round((done * group) / seconds),
    };
  }
  await rollouts(2, tasks.slice(0, 20)); // warm-up: JIT and the NLP models' first use
  const one = await rollouts(1);
  const four = await rollouts(4);

  return {
    tasks: tasks.length,
    group,
    reward_only_per_s: round(rewardOnlyPerS),
    reward_with_reply_governance_per_s: round(rewardWithGovernPerS),
    governance_share_of_reward_cost: round(1 - rewardWithGovernPerS / rewardOnlyPerS, 3),
    runners_1: one,
    runners_4: four,
    speedup_4_vs_1: round(four.rollouts_per_s / one.rollouts_per_s, 2),
    note: 'baseline-sft-corpus policy (no model), in-memory store; one Node thread, so runners overlap only on I/O',
  };
}
