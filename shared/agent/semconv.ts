import type { Attributes, AttributeValue, Span } from '../store/types';

// Agent Lightning's span conventions (agentlightning/semconv.py and emitter/*.py, v0.3), so spans
// written here read the same to Agent Lightning's adapters and to edgelight's algorithms.
// One deliberate choice: rewards use the span name `agentlightning.reward` (the edgelight contract)
// with v0.3's list-shaped attributes (`agentlightning.reward.0.name` / `.0.value`, the first being
// the primary), which is what Agent Lightning's `get_rewards_from_span` reads on any span.

export const AGL_REWARD = 'agentlightning.reward';
export const AGL_MESSAGE = 'agentlightning.message';
export const AGL_OBJECT = 'agentlightning.object';
export const AGL_EXCEPTION = 'agentlightning.exception';
export const AGL_ANNOTATION = 'agentlightning.annotation';
export const AGL_OPERATION = 'agentlightning.operation';

export const ATTR = {
  reward: 'agentlightning.reward',
  messageBody: 'agentlightning.message.body',
  objectType: 'agentlightning.object.type',
  objectLiteral: 'agentlightning.object.literal',
  objectJson: 'agentlightning.object.json',
  operationName: 'agentlightning.operation.name',
  operationInput: 'agentlightning.operation.input',
  operationOutput: 'agentlightning.operation.output',
  tag: 'agentlightning.tag',
  link: 'agentlightning.link',
  // OpenTelemetry's exception conventions, which Agent Lightning's exception emitter uses.
  exceptionType: 'exception.type',
  exceptionMessage: 'exception.message',
  exceptionStacktrace: 'exception.stacktrace',
  // Token-level data of one sampled completion, as Agent Lightning's LLM proxy records it.
  promptTokenIds: 'prompt_token_ids',
  responseTokenIds: 'response_token_ids',
  responseLogprobs: 'edgelight.response_logprobs',
} as const;

/**
 * Resource attributes (`LightningResourceAttributes`) that say which rollout and attempt a span
 * exported over OTLP belongs to; a span attribute of the same name overrides the resource's.
 */
export const RESOURCE_ATTR = {
  rolloutId: 'agentlightning.rollout_id',
  attemptId: 'agentlightning.attempt_id',
  /** A decimal integer; without it the store issues the next sequence id. */
  spanSequenceId: 'agentlightning.span_sequence_id',
  tracerName: 'agentlightning.tracer.name',
} as const;

/** A reward: a number, or a primary value with named terms (`{ primary, length, tone, ... }`). */
export type RewardValue = number | ({ primary: number } & Record<string, number>);

export interface RewardDimension {
  name: string;
  value: number;
}

export function rewardDimensions(reward: RewardValue): RewardDimension[] {
  if (typeof reward === 'number') {
    if (!Number.isFinite(reward)) throw new TypeError(`reward must be a finite number, got ${reward}`);
    return [{ name: 'primary', value: reward }];
  }
  const dims: RewardDimension[] = [];
  for (const [name, value] of Object.entries(reward)) {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new TypeError(`reward term '${name}' must be a finite number, got ${String(value)}`);
    }
    dims.push({ name, value });
  }
  // The primary comes first: Agent Lightning treats the first dimension as the reward.
  dims.sort((a, b) => Number(b.name === 'primary') - Number(a.name === 'primary'));
  if (dims[0]?.name !== 'primary') throw new TypeError('a multi-dimensional reward needs a `primary` term');
  return dims;
}

export function rewardAttributes(reward: RewardValue): Attributes {
  const attributes: Attributes = {};
  rewardDimensions(reward).forEach((d, i) => {
    attributes[`${ATTR.reward}.${i}.name`] = d.name;
    attributes[`${ATTR.reward}.${i}.value`] = d.value;
  });
  return attributes;
}

/** The reward dimensions a span carries (empty when it carries none). */
export function readRewards(span: Pick<Span, 'attributes'>): RewardDimension[] {
  const dims: RewardDimension[] = [];
  for (let i = 0; ; i++) {
    const name = span.attributes[`${ATTR.reward}.${i}.name`];
    const value = span.attributes[`${ATTR.reward}.${i}.value`];
    if (typeof name !== 'string' || typeof value !== 'number') return dims;
    dims.push({ name, value });
  }
}

/** `{ primary, ...terms }` of a reward span, or null. */
export function readReward(span: Pick<Span, 'attributes'>): Record<string, number> | null {
  const dims = readRewards(span);
  if (dims.length === 0) return null;
  return Object.fromEntries(dims.map((d) => [d.name, d.value]));
}

/** Links a span to another by span id (Agent Lightning's `make_link_attributes`). */
export function linkAttributes(links: Record<string, string>): Attributes {
  const attributes: Attributes = {};
  Object.entries(links).forEach(([key, value], i) => {
    attributes[`${ATTR.link}.${i}.key_match`] = key;
    attributes[`${ATTR.link}.${i}.value_match`] = value;
  });
  return attributes;
}

/**
 * Span attributes are scalars or arrays of one scalar type. Nested objects are flattened with dotted
 * keys (as Agent Lightning's `flatten_attributes`); anything else is stored as JSON text.
 */
export function flattenAttributes(value: Record<string, unknown>, prefix = ''): Attributes {
  const out: Attributes = {};
  for (const [key, v] of Object.entries(value)) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (v === undefined || v === null) continue;
    if (typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) {
      out[name] = v;
    } else if (Array.isArray(v) && isUniformScalarArray(v)) {
      out[name] = v as AttributeValue;
    } else if (typeof v === 'object' && !Array.isArray(v)) {
      Object.assign(out, flattenAttributes(v as Record<string, unknown>, name));
    } else {
      out[name] = safeJson(v);
    }
  }
  return out;
}

function isUniformScalarArray(values: unknown[]): boolean {
  if (values.length === 0) return true;
  const type = typeof values[0];
  if (type !== 'string' && type !== 'number' && type !== 'boolean') return false;
  return values.every((v) => typeof v === type && (type !== 'number' || Number.isFinite(v)));
}

export function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
