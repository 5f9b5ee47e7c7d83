// /v1/chat/completions on edgelight's own policy: an OpenAI-shaped request becomes the policy's feedback
// prompt, G = n replies are sampled in one batched generate call, and the call is recorded as a rollout
// in exactly the shape the feedback agent writes (one reply span per choice with prompt ids, completion
// ids and log-probabilities), so a reward attached afterwards makes it training data (Agent Lightning
// v1.0's "serve the model through an OpenAI-compatible endpoint that records each call").
//
// Messages → prompt (docs/serving.md): the policy only knows one prompt, buildFeedbackPrompt's. The LAST
// user message is the feedback; it is governed first, so the prompt holds its redacted text and its
// sentiment as the agent's prompt does; `metadata.category` (one of FeedbackCategory) fills the category
// line ("unknown" without it). System, assistant and earlier user messages do not reach the policy;
// they are kept (redacted) in the rollout's input. Nothing is stored unredacted: every stored message,
// the `user` field and a reply that governance finds PII in go through governance first.
import { z } from 'zod';
import { REPLY_ATTR, REPLY_OBJECT_TYPE } from '../../shared/agent/feedback-agent';
import { buildFeedbackPrompt } from '../../shared/agent/prompt';
import {
  AGL_OBJECT,
  AGL_REWARD,
  ATTR,
  linkAttributes,
  type RewardValue,
  rewardAttributes,
} from '../../shared/agent/semconv';
import { FeedbackCategory } from '../../shared/agent/task';
import { createGovernancePipeline } from '../../shared/governance';
import { loadNameData } from '../../shared/governance/pii/names';
import type { GovernancePipeline, Verdict } from '../../shared/governance/types';
import { type BlobStorage, CHECKPOINT_ID } from '../../shared/policy/checkpoint';
import type { GeneratedSequence } from '../../shared/policy/sampling';
import {
  DEFAULT_MAX_NEW_TOKENS,
  decodeReply,
  encodePrompt,
  promptBudget,
} from '../../shared/policy/sequence';
import type { PolicyTokenizer } from '../../shared/policy/tokenizer';
import type { LightningStore } from '../../shared/store/store';
import type { Attributes, SpanInput } from '../../shared/store/types';
import { StoreId } from '../../shared/store/types';
import { DirectoryBlobStorage } from '../checkpoints/directory';
import { GenerationBatcher } from './generation-batch';
import { PolicyCache } from './policy-cache';
import { ensureServed } from './served';

/** The rollout input kind of a recorded chat completion. */
export const CHAT_INPUT_KIND = 'edgelight.chat-completion';
/** `model` that means "whatever the server serves now" (server/serving/served.ts). */
export const SERVED_MODEL = 'served';
/** The response id is this prefix and the rollout id. */
export const COMPLETION_ID_PREFIX = 'chatcmpl-';
/** Why a recorded reply stopped (`stop` or `length`), beside the agent's reply attributes. */
export const FINISH_REASON_ATTR = 'edgelight.chat.finish_reason';

const MAX_TEXT = 20_000; // a FeedbackTask's text limit
const MAX_TOTAL_TEXT = 50_000;
const MAX_TOP_LOGPROBS = 20;

const TextPart = z.object({ type: z.literal('text'), text: z.string().max(MAX_TEXT) });
const MessageContent = z.union([z.string().max(MAX_TEXT), z.array(TextPart).min(1).max(32)]);

export const ChatMessage = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
  content: MessageContent.nullable().optional(),
  name: z.string().max(256).optional(),
});
export type ChatMessage = z.infer<typeof ChatMessage>;

const positiveTokens = z.number().int().min(1).max(1_000_000);

/**
 * The request. Unknown fields are ignored (OpenAI adds parameters often; a client library may send
 * them with defaults), fields this policy cannot honour are refused by name (tools, non-text content).
 */
export const ChatCompletionRequest = z
  .looseObject({
    model: z.string().min(1).max(200),
    messages: z.array(ChatMessage).min(1).max(64),
    max_tokens: positiveTokens.nullable().optional(),
    max_completion_tokens: positiveTokens.nullable().optional(),
    temperature: z.number().min(0).max(2).nullable().optional(),
    top_p: z.number().gt(0).max(1).nullable().optional(),
    n: z.number().int().min(1).max(8).nullable().optional(),
    seed: z
      .number()
      .int()
      .min(-(2 ** 53))
      .max(2 ** 53)
      .nullable()
      .optional(),
    stream: z.boolean().nullable().optional(),
    stream_options: z.object({ include_usage: z.boolean().optional() }).nullable().optional(),
    logprobs: z.boolean().nullable().optional(),
    top_logprobs: z.number().int().min(0).max(MAX_TOP_LOGPROBS).nullable().optional(),
    stop: z
      .union([z.string().min(1).max(256), z.array(z.string().min(1).max(256)).max(4)])
      .nullable()
      .optional(),
    user: z.string().max(256).optional(),
    metadata: z.record(z.string().max(64), z.string().max(512)).nullable().optional(),
    tools: z.undefined({ error: 'tools are not supported: the policy only writes replies' }).optional(),
    functions: z
      .undefined({ error: 'functions are not supported: the policy only writes replies' })
      .optional(),
  })
  .superRefine((body, ctx) => {
    // Every message is governed before it is stored; bound the work one request can ask for.
    const total = body.messages.reduce((n, m) => n + textOf(m).length, 0);
    if (total > MAX_TOTAL_TEXT)
      ctx.addIssue({
        code: 'custom',
        path: ['messages'],
        message: `the messages hold ${total} characters; at most ${MAX_TOTAL_TEXT} are accepted`,
      });
    if (!body.messages.some((m) => m.role === 'user'))
      ctx.addIssue({ code: 'custom', path: ['messages'], message: 'needs a user message (the feedback)' });
    if (body.top_logprobs != null && body.top_logprobs > 0 && body.logprobs !== true)
      ctx.addIssue({ code: 'custom', path: ['top_logprobs'], message: 'top_logprobs needs logprobs: true' });
    const category = body.metadata?.category;
    if (category !== undefined && !FeedbackCategory.safeParse(category).success)
      ctx.addIssue({
        code: 'custom',
        path: ['metadata', 'category'],
        message: `must be one of ${FeedbackCategory.options.join(', ')}`,
      });
  });
export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequest>;

/** `POST /v1/chat/completions/{id}/reward`. */
export const ChatRewardRequest = z.strictObject({
  reward: z.union([
    z.number(),
    z.object({ primary: z.number() }).catchall(z.number()) as z.ZodType<
      { primary: number } & Record<string, number>
    >,
  ]),
  choice: z.number().int().min(0).max(7).default(0),
});
export type ChatRewardRequest = z.infer<typeof ChatRewardRequest>;

/** An error in OpenAI's shape; the route answers it with `status`. */
export class ChatError extends Error {
  constructor(
    readonly status: 400 | 404 | 409 | 415 | 503,
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
    readonly type = status === 503 ? 'server_error' : 'invalid_request_error',
  ) {
    super(message);
  }

  toJSON() {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export interface TopLogprob {
  token: string;
  logprob: number;
  bytes: number[];
}
export interface TokenLogprob extends TopLogprob {
  top_logprobs: TopLogprob[];
}

export interface ChatChoice {
  index: number;
  message: { role: 'assistant'; content: string; refusal: null };
  logprobs: { content: TokenLogprob[]; refusal: null } | null;
  finish_reason: 'stop' | 'length';
}

export interface ChatUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  system_fingerprint: string;
  choices: ChatChoice[];
  usage: ChatUsage;
}

/** What a streaming answer is told while the policy writes. */
export interface CompletionListener {
  /** The rollout exists: the id is known (sent in every chunk). */
  onStart?(info: { id: string; model: string; created: number }): void | Promise<void>;
  /** New text of choice `index` (and its tokens' log-probabilities when asked). */
  onDelta?(index: number, content: string, logprobs: TokenLogprob[] | null): void | Promise<void>;
}

export interface ChatServingOptions {
  store: LightningStore;
  /** The server's checkpoint blobs (the same folder the blob routes serve). */
  blobs: BlobStorage;
  policies: PolicyCache;
  /** Default: createGovernancePipeline() on first use. */
  governance?: GovernancePipeline;
  /** Epoch seconds (tests). */
  now?: () => number;
}

interface ResolvedModel {
  checkpointId: string;
  /** The served policy's resources update when `model` was `served`. */
  resourcesId: string | null;
}

const encoder = new TextEncoder();
const tokenBytes = (text: string) => Array.from(encoder.encode(text));

function randomHex(bytes: number): string {
  const buffer = new Uint8Array(bytes);
  globalThis.crypto.getRandomValues(buffer);
  return Array.from(buffer, (b) => b.toString(16).padStart(2, '0')).join('');
}

function textOf(message: ChatMessage): string {
  const content = message.content;
  if (content == null) return '';
  return typeof content === 'string' ? content : content.map((p) => p.text).join('\n');
}

/** The log-softmax (temperature 1) top k of one row of logits, most likely first. */
function topLogprobsOf(
  logits: Float32Array,
  offset: number,
  vocab: number,
  k: number,
  tokenizer: PolicyTokenizer,
): TopLogprob[] {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < vocab; i++) max = Math.max(max, logits[offset + i]);
  let sumExp = 0;
  for (let i = 0; i < vocab; i++) sumExp += Math.exp(logits[offset + i] - max);
  const logZ = max + Math.log(sumExp);
  const best: number[] = []; // token ids, descending logit; k ≤ 20 so insertion is cheapest
  for (let i = 0; i < vocab; i++) {
    const l = logits[offset + i];
    if (best.length === k && l <= logits[offset + best[k - 1]]) continue;
    let at = best.length;
    while (at > 0 && logits[offset + best[at - 1]] < l) at--;
    best.splice(at, 0, i);
    if (best.length > k) best.pop();
  }
  return best.map((id) => {
    const token = tokenizer.decode([id]);
    return { token, logprob: logits[offset + id] - logZ, bytes: tokenBytes(token) };
  });
}

/** The text not yet safe to send: the longest end of `text` that begins some stop string. */
function stopHoldback(text: string, stops: readonly string[]): number {
  let hold = 0;
  for (const stop of stops)
    for (let k = Math.min(stop.length - 1, text.length); k > hold; k--)
      if (text.endsWith(stop.slice(0, k))) {
        hold = k;
        break;
      }
  return hold;
}

/**
 * One choice as it is decoded: its visible text (up to eos, cut at a stop string), how many of its
 * tokens that text used, and what has been streamed.
 */
class ChoiceTracker {
  /** Tokens the answer (and the record) keeps: all of them, or up to the one that completed a stop string. */
  kept = 0;
  stopped = false;
  text = '';
  streamed = '';
  /** Log-probability entries not yet streamed. */
  private pendingLogprobs: TokenLogprob[] = [];
  readonly logprobs: TokenLogprob[] = [];

  constructor(
    private readonly tokenizer: PolicyTokenizer,
    private readonly stops: readonly string[],
  ) {}

  /** Reads the row after a step; returns the text to stream now ('' when nothing is safe yet). */
  advance(row: GeneratedSequence, top: TopLogprob[] | null, withLogprobs: boolean): string {
    if (this.stopped) return '';
    const n = row.tokens.length;
    if (n === this.kept) return '';
    const token = row.tokens[n - 1];
    this.kept = n;
    const isEos = token === this.tokenizer.eosId;
    if (withLogprobs && !isEos) {
      const text = this.tokenizer.decode([token]);
      const entry = {
        token: text,
        logprob: row.logprobs[n - 1],
        bytes: tokenBytes(text),
        top_logprobs: top ?? [],
      };
      this.logprobs.push(entry);
      this.pendingLogprobs.push(entry);
    }
    let full = decodeReply(this.tokenizer, row.tokens);
    for (const stop of this.stops) {
      const at = full.indexOf(stop);
      if (at >= 0) {
        full = full.slice(0, at);
        this.stopped = true;
      }
    }
    this.text = full;
    // Hold back a half-decoded character (U+FFFD at the end) and what may yet become a stop string.
    let safe = this.stopped || isEos ? full : full.replace(/\uFFFD+$/, '');
    if (!this.stopped) safe = safe.slice(0, safe.length - stopHoldback(safe, this.stops));
    if (!safe.startsWith(this.streamed) || safe.length === this.streamed.length) return '';
    const delta = safe.slice(this.streamed.length);
    this.streamed = safe;
    return delta;
  }

  /** What is left to send at the end (the final text when it no longer extends what was streamed). */
  rest(): string {
    return this.text.startsWith(this.streamed) ? this.text.slice(this.streamed.length) : '';
  }

  get hasPendingLogprobs(): boolean {
    return this.pendingLogprobs.length > 0;
  }

  takeLogprobs(): TokenLogprob[] {
    const out = this.pendingLogprobs;
    this.pendingLogprobs = [];
    return out;
  }
}

/** One choice as it is recorded. */
export interface RecordedReply {
  rolloutId: string;
  attemptId: string;
  traceId: string;
  index: number;
  text: string;
  verdict: Verdict;
  prompt: string;
  checkpointId: string;
  group: number;
  promptIds: number[];
  tokens: number[];
  logprobs: number[];
  finish: 'stop' | 'length';
}

/**
 * The span of one recorded choice, as the feedback agent writes a reply (shared/agent/feedback-agent.ts)
 * and rl-data.ts reads it. `time` in epoch seconds.
 */
export function replySpanOf(reply: RecordedReply, time: number): SpanInput {
  const { verdict } = reply;
  // A reply that leaked personal data is stored redacted and without its tokens (they would spell it).
  const mustRedact = verdict.pii.length > 0;
  const storedText = mustRedact ? verdict.redacted : reply.text;
  const attributes: Attributes = {
    [ATTR.objectType]: REPLY_OBJECT_TYPE,
    [ATTR.objectJson]: JSON.stringify({ index: reply.index, text: storedText }),
    [REPLY_ATTR.index]: reply.index,
    [REPLY_ATTR.text]: storedText,
    [REPLY_ATTR.redacted]: mustRedact,
    [REPLY_ATTR.decision]: verdict.decision,
    [REPLY_ATTR.violations]: verdict.violations.map((v) => v.rule),
    [REPLY_ATTR.pii]: verdict.pii.map((p) => p.type),
    [REPLY_ATTR.prompt]: reply.prompt,
    [REPLY_ATTR.policyId]: reply.checkpointId,
    [REPLY_ATTR.group]: reply.group,
    [FINISH_REASON_ATTR]: reply.finish,
    [ATTR.promptTokenIds]: reply.promptIds,
    ...(mustRedact ? {} : { [ATTR.responseTokenIds]: reply.tokens, [ATTR.responseLogprobs]: reply.logprobs }),
  };
  return {
    rollout_id: reply.rolloutId,
    attempt_id: reply.attemptId,
    trace_id: reply.traceId,
    span_id: randomHex(8),
    parent_id: null,
    name: AGL_OBJECT,
    attributes,
    start_time: time,
    end_time: time,
    status: { status_code: 'OK' },
  };
}

export class ChatService {
  private governancePipeline: Promise<GovernancePipeline> | null = null;
  /** Reward writes per rollout, one at a time, so "already rewarded" is decided without a race. */
  private readonly rewardLocks = new Map<string, Promise<unknown>>();

  /** Requests waiting for one policy are sampled together (generation-batch.ts). */
  private readonly batcher: GenerationBatcher;

  constructor(readonly options: ChatServingOptions) {
    this.batcher = new GenerationBatcher(options.policies);
  }

  private now(): number {
    return this.options.now ? this.options.now() : Date.now() / 1000;
  }

  governance(): Promise<GovernancePipeline> {
    this.governancePipeline ??= (async () => {
      await loadNameData();
      return this.options.governance ?? createGovernancePipeline();
    })();
    return this.governancePipeline;
  }

  /** `served` or a checkpoint id in the blob folder; anything else is a 404 model_not_found. */
  async resolveModel(model: string): Promise<ResolvedModel> {
    if (model === SERVED_MODEL) {
      const served = await ensureServed(this.options.store, this.options.blobs);
      return { checkpointId: served.checkpointId, resourcesId: served.resourcesId };
    }
    if (CHECKPOINT_ID.test(model) && (await this.options.policies.has(model)))
      return { checkpointId: model, resourcesId: await this.resourcesNaming(model) };
    throw new ChatError(
      404,
      `The model '${model.slice(0, 200)}' does not exist: use '${SERVED_MODEL}' or the id of a checkpoint in this server's blob folder`,
      'model',
      'model_not_found',
    );
  }

  /**
   * The newest resources update (of the last 100) whose `policy` is this checkpoint, so a rollout points
   * at the bundle it ran with; null when none does (the store then records its latest, as AGL does).
   */
  private async resourcesNaming(checkpointId: string): Promise<string | null> {
    const page = await this.options.store.queryResources({
      sort_by: 'update_time',
      sort_order: 'desc',
      limit: 100,
    });
    const update = page.items.find(
      (u) =>
        u.resources.policy?.resource_type === 'policy' && u.resources.policy.checkpoint_id === checkpointId,
    );
    return update?.resources_id ?? null;
  }

  /** The models a client may name: `served`, the served checkpoint and the policies the store has published. */
  async listModels(): Promise<Array<{ id: string; object: 'model'; created: number; owned_by: string }>> {
    const served = await ensureServed(this.options.store, this.options.blobs);
    const models = [
      {
        id: SERVED_MODEL,
        object: 'model' as const,
        created: Math.floor(served.since),
        owned_by: 'edgelight',
      },
    ];
    const seen = new Set<string>();
    const add = async (id: string, created: number) => {
      if (seen.has(id) || !(await this.options.policies.has(id))) return;
      seen.add(id);
      models.push({ id, object: 'model', created: Math.floor(created), owned_by: 'edgelight' });
    };
    await add(served.checkpointId, served.since);
    const page = await this.options.store.queryResources({
      sort_by: 'update_time',
      sort_order: 'desc',
      limit: 100,
    });
    for (const update of page.items)
      for (const resource of Object.values(update.resources))
        if (resource.resource_type === 'policy') await add(resource.checkpoint_id, update.update_time);
    return models;
  }

  /**
   * Answers one request: resolves the model, governs and renders the prompt, starts the rollout, samples
   * (streaming through `listener`), records the reply spans and marks the attempt succeeded.
   */
  async complete(request: ChatCompletionRequest, listener: CompletionListener = {}): Promise<ChatCompletion> {
    const model = await this.resolveModel(request.model);
    const governance = await this.governance();
    const lastUser = request.messages.findLast((m) => m.role === 'user') as ChatMessage;
    const feedback = textOf(lastUser);
    if (!feedback.trim())
      throw new ChatError(400, 'the last user message (the feedback) is empty', 'messages');
    const verdict = governance.govern(feedback, 'feedback');
    // Stored messages hold governed text only (a system prompt or an earlier turn may name people too).
    const storedMessages = request.messages.map((m) => ({
      role: m.role,
      content:
        m === lastUser ? verdict.redacted : textOf(m) && governance.govern(textOf(m), 'feedback').redacted,
    }));

    const run = await this.options.policies.get(model.checkpointId).catch((error: Error) => {
      throw new ChatError(503, `policy ${model.checkpointId} could not be loaded: ${error.message}`, 'model');
    });
    const { blockSize } = run.policy.config;
    // The longest completion that still leaves the prompt its minimum (sequence.ts promptBudget).
    const maxCompletion = blockSize - promptBudget(blockSize, blockSize);
    const maxNewTokens = Math.min(
      request.max_completion_tokens ?? request.max_tokens ?? DEFAULT_MAX_NEW_TOKENS,
      maxCompletion,
    );
    const category = request.metadata?.category as FeedbackCategory | undefined;
    const prompt = buildFeedbackPrompt({ id: 'chat', text: feedback, category }, verdict, {
      keyWords: run.policy.config.promptKeyWords,
    });
    const promptIds = encodePrompt(run.tokenizer, prompt, promptBudget(blockSize, maxNewTokens));
    const n = request.n ?? 1;
    const seed = request.seed ?? Math.floor(Math.random() * 2 ** 31);
    const temperature = request.temperature ?? 1;
    const topP = request.top_p ?? 1;
    const stops =
      request.stop == null ? [] : typeof request.stop === 'string' ? [request.stop] : request.stop;
    const withLogprobs = request.logprobs === true;
    const topK = withLogprobs ? (request.top_logprobs ?? 0) : 0;

    const started = await this.options.store.startRollout({
      input: {
        kind: CHAT_INPUT_KIND,
        messages: storedMessages,
        model: request.model,
        checkpoint_id: model.checkpointId,
      },
      mode: 'train',
      resources_id: model.resourcesId,
      metadata: {
        source: 'chat-completions',
        sampling: { n, seed, temperature, top_p: topP, max_tokens: maxNewTokens, stop: stops },
        ...(category ? { category } : {}),
        ...(request.user ? { user: governance.govern(request.user, 'feedback').redacted } : {}),
      },
    });
    const rolloutId = started.rollout_id;
    const attemptId = started.attempt.attempt_id;
    const id = `${COMPLETION_ID_PREFIX}${rolloutId}`;
    const created = Math.floor(this.now());
    try {
      await listener.onStart?.({ id, model: model.checkpointId, created });
      const trackers = Array.from({ length: n }, () => new ChoiceTracker(run.tokenizer, stops));
      const perStep = !!listener.onDelta || stops.length > 0 || withLogprobs;
      const rows = await this.batcher.generate(model.checkpointId, {
        promptIds,
        seed,
        n,
        maxNewTokens,
        temperature,
        topP,
        onStep: perStep
          ? async ({ rows: current, logits, firstRow, vocab, loaded }) => {
              for (const [b, row] of current.entries()) {
                const tracker = trackers[b];
                if (tracker.stopped || row.tokens.length === tracker.kept) continue;
                const top =
                  topK > 0
                    ? topLogprobsOf(logits, (firstRow + b) * vocab, vocab, topK, loaded.tokenizer)
                    : null;
                const delta = tracker.advance(row, top, withLogprobs);
                if (listener.onDelta && (delta || tracker.hasPendingLogprobs))
                  await listener.onDelta(b, delta, withLogprobs ? tracker.takeLogprobs() : null);
              }
              // Let the socket write what was just queued before the next step's tfjs work.
              if (listener.onDelta) await new Promise((resolve) => setImmediate(resolve));
            }
          : undefined,
      });

      const choices: ChatChoice[] = [];
      const spans: SpanInput[] = [];
      const traceId = randomHex(16);
      let completionTokens = 0;
      for (const row of rows) {
        const tracker = trackers[row.sample];
        const kept = perStep ? tracker.kept : row.tokens.length;
        const tokens = row.tokens.slice(0, kept);
        const logprobs = row.logprobs.slice(0, kept);
        const text = perStep ? tracker.text : decodeReply(run.tokenizer, tokens);
        if (listener.onDelta) {
          const rest = tracker.rest();
          if (rest || tracker.hasPendingLogprobs)
            await listener.onDelta(row.sample, rest, withLogprobs ? tracker.takeLogprobs() : null);
        }
        const finish = tracker.stopped || row.finishReason === 'stop' ? 'stop' : 'length';
        completionTokens += tokens.length;
        choices.push({
          index: row.sample,
          message: { role: 'assistant', content: text, refusal: null },
          logprobs: withLogprobs ? { content: tracker.logprobs, refusal: null } : null,
          finish_reason: finish,
        });
        spans.push(
          replySpanOf(
            {
              rolloutId,
              attemptId,
              traceId,
              index: row.sample,
              text,
              verdict: governance.govern(text, 'response'),
              prompt,
              checkpointId: model.checkpointId,
              group: n,
              promptIds,
              tokens,
              logprobs,
              finish,
            },
            this.now(),
          ),
        );
      }
      await this.options.store.addSpans(spans);
      await this.options.store.updateAttempt(rolloutId, attemptId, { status: 'succeeded' });
      return {
        id,
        object: 'chat.completion',
        created,
        model: model.checkpointId,
        system_fingerprint: `edgelight-${model.checkpointId.slice(0, 12)}`,
        choices,
        usage: {
          prompt_tokens: promptIds.length,
          completion_tokens: completionTokens,
          total_tokens: promptIds.length + completionTokens,
        },
      };
    } catch (error) {
      await this.options.store
        .updateAttempt(rolloutId, attemptId, { status: 'failed' })
        .catch(() => undefined);
      throw error;
    }
  }

  /**
   * Writes the reward of one choice of a recorded completion: an `agentlightning.reward` span with the
   * reply index, linked to the reply span (what extractReplySamples pairs). 404 for an id that is not a
   * recorded chat completion or a choice it does not have, 409 when that choice has a reward already.
   */
  async attachReward(
    completionId: string,
    body: ChatRewardRequest,
  ): Promise<{ id: string; choice: number; reward: Record<string, number>; span_id: string }> {
    const rolloutId = completionId.startsWith(COMPLETION_ID_PREFIX)
      ? completionId.slice(COMPLETION_ID_PREFIX.length)
      : '';
    const notFound = () =>
      new ChatError(404, `no recorded chat completion '${completionId.slice(0, 220)}'`, 'id', 'not_found');
    if (!StoreId.safeParse(rolloutId).success) throw notFound();
    const previous = this.rewardLocks.get(rolloutId) ?? Promise.resolve();
    const write = previous.then(async () => {
      const rollout = await this.options.store.getRolloutById(rolloutId);
      const input = rollout?.input as { kind?: unknown } | null | undefined;
      if (!rollout?.attempt || input?.kind !== CHAT_INPUT_KIND) throw notFound();
      const { items } = await this.options.store.querySpans({
        rollout_id: rolloutId,
        attempt_id: 'latest',
        limit: -1,
      });
      const reply = items.find(
        (s) =>
          s.name === AGL_OBJECT &&
          s.attributes[ATTR.objectType] === REPLY_OBJECT_TYPE &&
          s.attributes[REPLY_ATTR.index] === body.choice,
      );
      if (!reply)
        throw new ChatError(
          404,
          `chat completion ${completionId} has no choice ${body.choice}`,
          'choice',
          'not_found',
        );
      if (items.some((s) => s.name === AGL_REWARD && s.attributes[REPLY_ATTR.index] === body.choice))
        throw new ChatError(
          409,
          `choice ${body.choice} of ${completionId} has a reward already`,
          'choice',
          'conflict',
        );
      const time = this.now();
      let rewardAttrs: Attributes;
      try {
        rewardAttrs = rewardAttributes(body.reward as RewardValue);
      } catch (error) {
        throw new ChatError(400, (error as Error).message, 'reward');
      }
      const span = await this.options.store.addSpan({
        rollout_id: rolloutId,
        attempt_id: reply.attempt_id,
        trace_id: reply.trace_id,
        span_id: randomHex(8),
        parent_id: null,
        name: AGL_REWARD,
        attributes: {
          [REPLY_ATTR.index]: body.choice,
          ...linkAttributes({ span_id: reply.span_id }),
          ...rewardAttrs,
        },
        start_time: time,
        end_time: time,
        status: { status_code: 'OK' },
      });
      const reward = Object.fromEntries(
        Object.entries(rewardAttrs)
          .filter(([k]) => k.endsWith('.name'))
          .map(([k, name]) => [name as string, rewardAttrs[k.replace(/\.name$/, '.value')] as number]),
      );
      return { id: completionId, choice: body.choice, reward, span_id: span?.span_id ?? '' };
    });
    const settled = write.catch(() => undefined);
    this.rewardLocks.set(rolloutId, settled);
    void settled.then(() => {
      if (this.rewardLocks.get(rolloutId) === settled) this.rewardLocks.delete(rolloutId);
    });
    return write;
  }
}

/**
 * What `edgelight serve` mounts: the blob folder as checkpoint storage, a policy cache on wasm, and a
 * served policy that exists (the starter on a fresh server), named in the log.
 */
export async function openChatServing(
  store: LightningStore,
  blobsDir: string,
  log: (message: string) => void,
): Promise<ChatServingOptions> {
  const blobs = new DirectoryBlobStorage(blobsDir);
  const served = await ensureServed(store, blobs);
  const source = typeof served.metadata.source === 'string' ? served.metadata.source : 'promoted';
  log(
    `edgelight serve: model 'served' is checkpoint ${served.checkpointId} (${source}); POST /v1/chat/completions`,
  );
  const policies = new PolicyCache({ blobs });
  // The backend is chosen now (tfjs has one per thread; nothing may create tensors while it switches),
  // the weights in the background, so the first client waits for neither.
  await policies.backendInfo();
  policies.get(served.checkpointId).catch((error: Error) => log(`edgelight serve: ${error.message}`));
  return { store, blobs, policies };
}
