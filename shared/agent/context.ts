import type { LightningStore } from '../store/store';
import type {
  AttemptedRollout,
  Attributes,
  LlmResource,
  NamedResources,
  Span,
  SpanInput,
} from '../store/types';
import type { z } from 'zod';
import type { ReplyPolicy } from './policy';
import {
  AGL_ANNOTATION,
  AGL_EXCEPTION,
  AGL_MESSAGE,
  AGL_OBJECT,
  AGL_OPERATION,
  AGL_REWARD,
  ATTR,
  flattenAttributes,
  type RewardValue,
  rewardAttributes,
  safeJson,
} from './semconv';

// The emitters of one attempted rollout. Agent Lightning binds them to the active rollout through
// Python context variables; a browser has no AsyncLocalStorage, so here they live on an explicit
// context object handed to the agent. Every emit writes one span to the store straight away (a span
// is also the attempt's heartbeat); `flush()` waits for all of them.

export interface ResolvedResources {
  /** The bundle the rollout ran with (null when the store has none). */
  resourcesId: string | null;
  named: NamedResources;
  /** The `policy` resource (or an `llm` one) turned into something that drafts replies. */
  policy: ReplyPolicy | null;
  /** The `llm` resource as configured: an OpenAI-compatible endpoint and model. */
  llm: z.infer<typeof LlmResource> | null;
}

export interface Operation {
  /** Emitters whose spans are children of this operation's span. */
  readonly context: RolloutContext;
  setInput(input: unknown): void;
  setOutput(output: unknown): void;
}

export interface RolloutContext {
  readonly rollout: AttemptedRollout;
  readonly resources: ResolvedResources;
  readonly workerId: string | null;
  /** Fires when the runner is asked to stop; a long agent should return early. */
  readonly signal: AbortSignal;
  emitMessage(body: string, attributes?: Record<string, unknown>): Promise<Span | null>;
  emitReward(reward: RewardValue, attributes?: Record<string, unknown>): Promise<Span | null>;
  emitObject(value: unknown, attributes?: Record<string, unknown>): Promise<Span | null>;
  emitException(error: unknown, attributes?: Record<string, unknown>): Promise<Span | null>;
  emitAnnotation(attributes: Record<string, unknown>): Promise<Span | null>;
  /** Runs `fn` inside an `agentlightning.operation` span; a throw is recorded and rethrown. */
  operation<T>(name: string, fn: (op: Operation) => Promise<T> | T, input?: unknown): Promise<T>;
  /** How many reward spans this rollout has emitted (the SDK warns on a duplicate returned reward). */
  readonly rewardCount: number;
  /** Waits until every span emitted so far is stored. */
  flush(): Promise<void>;
}

export interface ContextOptions {
  store: LightningStore;
  rollout: AttemptedRollout;
  resources: ResolvedResources;
  workerId: string | null;
  signal: AbortSignal;
  now?: () => number;
}

function randomHex(bytes: number): string {
  const buffer = new Uint8Array(bytes);
  globalThis.crypto.getRandomValues(buffer);
  return Array.from(buffer, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function describeError(error: unknown): { type: string; message: string; stack: string } {
  if (error instanceof Error) return { type: error.name, message: error.message, stack: error.stack ?? '' };
  return { type: typeof error, message: safeJson(error), stack: '' };
}

/** Shared state of one attempt: trace id, pending writes, reward count. */
class AttemptTrace {
  readonly traceId = randomHex(16);
  pending = new Set<Promise<unknown>>();
  rewardCount = 0;
  constructor(readonly options: ContextOptions) {}

  now(): number {
    return this.options.now ? this.options.now() : Date.now() / 1000;
  }

  write(span: SpanInput): Promise<Span | null> {
    const promise = this.options.store.addSpan(span);
    this.pending.add(promise);
    // A failed write is reported to whoever awaits it and by flush(); it never escapes unhandled.
    promise.then(
      () => this.pending.delete(promise),
      () => undefined,
    );
    return promise;
  }
}

function createContext(trace: AttemptTrace, parentId: string | null): RolloutContext {
  const { rollout, resources, workerId, signal } = trace.options;
  const span = (
    name: string,
    attributes: Attributes,
    extra: Partial<SpanInput> = {},
  ): Promise<Span | null> => {
    const time = trace.now();
    return trace.write({
      rollout_id: rollout.rollout_id,
      attempt_id: rollout.attempt.attempt_id,
      trace_id: trace.traceId,
      span_id: randomHex(8),
      parent_id: parentId,
      name,
      attributes,
      start_time: time,
      end_time: time,
      status: { status_code: 'OK' },
      ...extra,
    });
  };
  const flat = (attributes?: Record<string, unknown>) => (attributes ? flattenAttributes(attributes) : {});

  const context: RolloutContext = {
    rollout,
    resources,
    workerId,
    signal,
    get rewardCount() {
      return trace.rewardCount;
    },
    emitMessage(body, attributes) {
      if (typeof body !== 'string') throw new TypeError('emitMessage takes a string');
      return span(AGL_MESSAGE, { ...flat(attributes), [ATTR.messageBody]: body });
    },
    emitReward(reward, attributes) {
      const rewardAttrs = rewardAttributes(reward);
      trace.rewardCount++;
      return span(AGL_REWARD, { ...flat(attributes), ...rewardAttrs });
    },
    emitObject(value, attributes) {
      const type = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
      const attrs: Attributes = { [ATTR.objectType]: type, ...flat(attributes) };
      if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
        attrs[ATTR.objectLiteral] = value;
      } else {
        attrs[ATTR.objectJson] = safeJson(value);
      }
      return span(AGL_OBJECT, attrs);
    },
    emitException(error, attributes) {
      const e = describeError(error);
      return span(
        AGL_EXCEPTION,
        {
          ...flat(attributes),
          [ATTR.exceptionType]: e.type,
          [ATTR.exceptionMessage]: e.message,
          [ATTR.exceptionStacktrace]: e.stack,
        },
        { status: { status_code: 'ERROR', description: e.message } },
      );
    },
    emitAnnotation(attributes) {
      return span(AGL_ANNOTATION, flat(attributes));
    },
    async operation(name, fn, input) {
      const spanId = randomHex(8);
      const start = trace.now();
      const attributes: Attributes = { [ATTR.operationName]: name };
      const op: Operation = {
        context: createContext(trace, spanId),
        setInput: (value) => {
          attributes[ATTR.operationInput] = typeof value === 'string' ? value : safeJson(value);
        },
        setOutput: (value) => {
          attributes[ATTR.operationOutput] = typeof value === 'string' ? value : safeJson(value);
        },
      };
      if (input !== undefined) op.setInput(input);
      const finish = (status: SpanInput['status']) =>
        trace.write({
          rollout_id: rollout.rollout_id,
          attempt_id: rollout.attempt.attempt_id,
          trace_id: trace.traceId,
          span_id: spanId,
          parent_id: parentId,
          name: AGL_OPERATION,
          attributes,
          start_time: start,
          end_time: trace.now(),
          status,
        });
      try {
        const result = await fn(op);
        if (result !== undefined && attributes[ATTR.operationOutput] === undefined) op.setOutput(result);
        await finish({ status_code: 'OK' });
        return result;
      } catch (error) {
        const e = describeError(error);
        attributes[ATTR.exceptionType] = e.type;
        attributes[ATTR.exceptionMessage] = e.message;
        await finish({ status_code: 'ERROR', description: e.message });
        throw error;
      }
    },
    async flush() {
      // Settle in rounds: a span written while flushing is waited for too.
      while (trace.pending.size > 0) {
        const round = [...trace.pending];
        await Promise.all(round);
        for (const p of round) trace.pending.delete(p);
      }
    },
  };
  return context;
}

/** The root context of one attempt. */
export function createRolloutContext(options: ContextOptions): RolloutContext {
  return createContext(new AttemptTrace(options), null);
}
