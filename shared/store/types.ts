import { z } from 'zod';

// The data shapes of the LightningStore, one zod schema per concept. Field names follow Agent
// Lightning v0.3's REST schema (test/fixtures/agl-store-openapi-v0.3.0.json) exactly, snake_case,
// so the REST layer is a straight mapping and Agent Lightning's Python clients read them as-is.
// Times are seconds since the epoch (floats), as Agent Lightning's `time.time()`.

/** Ids travel in URL paths, so they are restricted to a safe alphabet (no `/`, `..` or spaces). */
export const StoreId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,199}$/, 'ids are 1-200 characters of [A-Za-z0-9._:@-]');
export type StoreId = z.infer<typeof StoreId>;

export const RolloutStatus = z.enum([
  'queuing',
  'preparing',
  'running',
  'succeeded',
  'failed',
  'cancelled',
  'requeuing',
]);
export type RolloutStatus = z.infer<typeof RolloutStatus>;

export const AttemptStatus = z.enum([
  'preparing',
  'running',
  'succeeded',
  'failed',
  'timeout',
  'unresponsive',
]);
export type AttemptStatus = z.infer<typeof AttemptStatus>;

export const WorkerStatus = z.enum(['idle', 'busy', 'unknown']);
export type WorkerStatus = z.infer<typeof WorkerStatus>;

export const RolloutMode = z.enum(['train', 'val', 'test']);
export type RolloutMode = z.infer<typeof RolloutMode>;

export const Metadata = z.record(z.string(), z.unknown());
export type Metadata = z.infer<typeof Metadata>;

/** Retries and timeouts of one rollout. `null` timeouts mean "never". */
export const RolloutConfig = z.object({
  timeout_seconds: z.number().positive().nullable().default(null),
  unresponsive_seconds: z.number().positive().nullable().default(null),
  max_attempts: z.number().int().min(1).default(1),
  retry_condition: z.array(AttemptStatus).default([]),
});
export type RolloutConfig = z.infer<typeof RolloutConfig>;
export type RolloutConfigInput = z.input<typeof RolloutConfig>;

export const Rollout = z.object({
  rollout_id: StoreId,
  input: z.unknown(),
  start_time: z.number(),
  end_time: z.number().nullable().default(null),
  mode: RolloutMode.nullable().default(null),
  resources_id: StoreId.nullable().default(null),
  status: RolloutStatus.default('queuing'),
  config: RolloutConfig.default(RolloutConfig.parse({})),
  metadata: Metadata.nullable().default(null),
});
export type Rollout = z.infer<typeof Rollout>;

export const Attempt = z.object({
  rollout_id: StoreId,
  attempt_id: StoreId,
  sequence_id: z.number().int().min(1),
  start_time: z.number(),
  end_time: z.number().nullable().default(null),
  status: AttemptStatus.default('preparing'),
  worker_id: StoreId.nullable().default(null),
  last_heartbeat_time: z.number().nullable().default(null),
  metadata: Metadata.nullable().default(null),
});
export type Attempt = z.infer<typeof Attempt>;

/** A rollout paired with its active (latest) attempt. */
export const AttemptedRollout = Rollout.extend({ attempt: Attempt });
export type AttemptedRollout = z.infer<typeof AttemptedRollout>;

/** What queries return: a rollout, with its latest attempt attached once it has one. */
export const RolloutWithAttempt = Rollout.extend({ attempt: Attempt.optional() });
export type RolloutWithAttempt = z.infer<typeof RolloutWithAttempt>;

// ---------------------------------------------------------------------------------------------
// Spans: Agent Lightning's canonical span (an OpenTelemetry ReadableSpan, serialisable).

export const AttributeValue = z.union([
  z.string(),
  z.boolean(),
  z.number(),
  z.array(z.string()),
  z.array(z.boolean()),
  z.array(z.number()),
]);
export type AttributeValue = z.infer<typeof AttributeValue>;

export const Attributes = z.record(z.string(), AttributeValue);
export type Attributes = z.infer<typeof Attributes>;

export const TraceStatus = z.looseObject({
  status_code: z.enum(['UNSET', 'OK', 'ERROR']),
  description: z.string().nullable().optional(),
});
export type TraceStatus = z.infer<typeof TraceStatus>;

export const SpanContext = z.looseObject({
  trace_id: z.string(),
  span_id: z.string(),
  is_remote: z.boolean(),
  trace_state: z.record(z.string(), z.string()),
});
export type SpanContext = z.infer<typeof SpanContext>;

export const SpanEvent = z.looseObject({
  name: z.string(),
  attributes: Attributes,
  timestamp: z.number().nullable().optional(),
});
export type SpanEvent = z.infer<typeof SpanEvent>;

export const SpanLink = z.looseObject({
  context: SpanContext,
  attributes: Attributes.nullable().optional(),
});
export type SpanLink = z.infer<typeof SpanLink>;

export const OtelResource = z.object({
  attributes: Attributes,
  schema_url: z.string(),
});
export type OtelResource = z.infer<typeof OtelResource>;

/** A stored span. Unknown extra fields are kept (Agent Lightning keeps pydantic extras too). */
export const Span = z.looseObject({
  rollout_id: StoreId,
  attempt_id: StoreId,
  sequence_id: z.number().int().min(1),
  trace_id: z.string().min(1),
  span_id: z.string().min(1),
  parent_id: z.string().nullable(),
  name: z.string(),
  status: TraceStatus,
  attributes: Attributes,
  events: z.array(SpanEvent),
  links: z.array(SpanLink),
  start_time: z.number().nullable(),
  end_time: z.number().nullable(),
  context: SpanContext.nullable(),
  parent: SpanContext.nullable(),
  resource: OtelResource,
});
export type Span = z.infer<typeof Span>;

/**
 * What `addSpan` accepts: a span whose bookkeeping fields may be left out. A missing
 * `sequence_id` is assigned by the store (the next one of its attempt); the rest get the
 * defaults below.
 */
export const SpanInput = z.looseObject({
  rollout_id: StoreId,
  attempt_id: StoreId,
  sequence_id: z.number().int().min(1).optional(),
  trace_id: z.string().min(1),
  span_id: z.string().min(1),
  parent_id: z.string().nullable().default(null),
  name: z.string(),
  status: TraceStatus.default({ status_code: 'UNSET' }),
  attributes: Attributes.default({}),
  events: z.array(SpanEvent).default([]),
  links: z.array(SpanLink).default([]),
  start_time: z.number().nullable().default(null),
  end_time: z.number().nullable().default(null),
  context: SpanContext.nullable().default(null),
  parent: SpanContext.nullable().default(null),
  resource: OtelResource.default({ attributes: {}, schema_url: '' }),
});
export type SpanInput = z.input<typeof SpanInput>;

// ---------------------------------------------------------------------------------------------
// Resources: named, versioned bundles (an LLM endpoint, a prompt template, a policy checkpoint).

const SamplingParameters = z.record(z.string(), z.unknown());

export const LlmResource = z.looseObject({
  resource_type: z.literal('llm'),
  endpoint: z.string(),
  model: z.string(),
  api_key: z.string().nullable().optional(),
  sampling_parameters: SamplingParameters.default({}),
});
export const ProxyLlmResource = z.looseObject({
  resource_type: z.literal('proxy_llm'),
  endpoint: z.string(),
  model: z.string(),
  api_key: z.string().nullable().optional(),
  sampling_parameters: SamplingParameters.default({}),
});
export const PromptTemplateResource = z.looseObject({
  resource_type: z.literal('prompt_template'),
  template: z.string(),
  engine: z.enum(['jinja', 'f-string', 'poml']),
});
/**
 * edgelight's trainable policy: a checkpoint (content-addressed safetensors + config + tokenizer)
 * named by id. Not in Agent Lightning's schema; its Python clients see an unknown resource type.
 */
export const PolicyResource = z.looseObject({
  resource_type: z.literal('policy'),
  checkpoint_id: z.string().min(1),
  metadata: Metadata.optional(),
});

export const Resource = z.discriminatedUnion('resource_type', [
  LlmResource,
  ProxyLlmResource,
  PromptTemplateResource,
  PolicyResource,
]);
export type Resource = z.infer<typeof Resource>;

export const NamedResources = z.record(z.string().min(1), Resource);
export type NamedResources = z.infer<typeof NamedResources>;
export type NamedResourcesInput = z.input<typeof NamedResources>;

export const ResourcesUpdate = z.object({
  resources_id: StoreId,
  create_time: z.number(),
  update_time: z.number(),
  version: z.number().int().min(1),
  resources: NamedResources,
});
export type ResourcesUpdate = z.infer<typeof ResourcesUpdate>;

// ---------------------------------------------------------------------------------------------
// Workers (Agent Lightning's runners, seen from the store).

export const Worker = z.object({
  worker_id: StoreId,
  status: WorkerStatus.default('unknown'),
  heartbeat_stats: Metadata.nullable().default(null),
  last_heartbeat_time: z.number().nullable().default(null),
  last_dequeue_time: z.number().nullable().default(null),
  last_busy_time: z.number().nullable().default(null),
  last_idle_time: z.number().nullable().default(null),
  current_rollout_id: StoreId.nullable().default(null),
  current_attempt_id: StoreId.nullable().default(null),
});
export type Worker = z.infer<typeof Worker>;

// ---------------------------------------------------------------------------------------------
// Requests.

/** `enqueueRollout(s)`: a rollout to be queued. A missing `resources_id` means "latest". */
export const EnqueueRolloutRequest = z.object({
  input: z.unknown(),
  mode: RolloutMode.nullable().optional(),
  resources_id: StoreId.nullable().optional(),
  config: RolloutConfig.nullable().optional(),
  metadata: Metadata.nullable().optional(),
});
export type EnqueueRolloutRequest = z.input<typeof EnqueueRolloutRequest>;

/** `startRollout`: a rollout that starts right away (attempt 1, status `preparing`). */
export const RolloutRequest = EnqueueRolloutRequest.extend({
  worker_id: StoreId.nullable().optional(),
});
export type RolloutRequest = z.input<typeof RolloutRequest>;

export const DequeueRequest = z.object({
  worker_id: StoreId.nullable().optional(),
  limit: z.number().int().min(1).max(10_000).default(1),
});
export type DequeueRequest = z.input<typeof DequeueRequest>;

/**
 * Partial updates. A key that is absent leaves the field unchanged; a key present with `null`
 * sets the field to null (only where the field is nullable). This is Agent Lightning's
 * UNSET-vs-None distinction, expressed as key presence so it survives JSON unchanged.
 */
export const RolloutUpdate = z.strictObject({
  input: z.unknown().optional(),
  mode: RolloutMode.nullable().optional(),
  resources_id: StoreId.nullable().optional(),
  status: RolloutStatus.optional(),
  config: RolloutConfig.optional(),
  metadata: Metadata.nullable().optional(),
});
export type RolloutUpdate = z.input<typeof RolloutUpdate>;

export const AttemptUpdate = z.strictObject({
  status: AttemptStatus.optional(),
  worker_id: StoreId.nullable().optional(),
  last_heartbeat_time: z.number().nullable().optional(),
  metadata: Metadata.nullable().optional(),
});
export type AttemptUpdate = z.input<typeof AttemptUpdate>;

export const WorkerUpdate = z.strictObject({
  heartbeat_stats: Metadata.nullable().optional(),
});
export type WorkerUpdate = z.input<typeof WorkerUpdate>;

/**
 * `waitForRollouts`: timeout in seconds; 0 polls once, `null` or `Infinity` waits until all are
 * finished (Infinity is read as null, since JSON cannot carry it).
 */
export const WaitForRolloutsRequest = z.object({
  rollout_ids: z.array(StoreId),
  timeout: z
    .preprocess((v) => (v === Number.POSITIVE_INFINITY ? null : v), z.number().min(0).nullable())
    .default(null),
});
export type WaitForRolloutsRequest = z.input<typeof WaitForRolloutsRequest>;

// ---------------------------------------------------------------------------------------------
// Queries: filter, sort, paginate. `limit: -1` means "all". Rows tie-break on their primary key,
// and nulls sort first in ascending order, so every implementation returns the same order.

export const SortOrder = z.enum(['asc', 'desc']);
export const FilterLogic = z.enum(['and', 'or']);

const page = {
  limit: z.number().int().min(-1).default(-1),
  offset: z.number().int().min(0).default(0),
  sort_order: SortOrder.default('asc'),
};

export const ROLLOUT_SORT_FIELDS = ['rollout_id', 'start_time', 'end_time', 'status', 'mode'] as const;
export const RolloutQuery = z.object({
  status_in: z.array(RolloutStatus).nullable().optional(),
  rollout_id_in: z.array(z.string()).nullable().optional(),
  rollout_id_contains: z.string().nullable().optional(),
  filter_logic: FilterLogic.default('and'),
  sort_by: z.enum(ROLLOUT_SORT_FIELDS).nullable().default(null),
  ...page,
});
export type RolloutQuery = z.input<typeof RolloutQuery>;

export const ATTEMPT_SORT_FIELDS = ['sequence_id', 'attempt_id', 'start_time', 'end_time', 'status'] as const;
export const AttemptQuery = z.object({
  sort_by: z.enum(ATTEMPT_SORT_FIELDS).nullable().default('sequence_id'),
  ...page,
});
export type AttemptQuery = z.input<typeof AttemptQuery>;

export const SPAN_SORT_FIELDS = [
  'sequence_id',
  'start_time',
  'end_time',
  'name',
  'span_id',
  'trace_id',
] as const;
/** `attempt_id: "latest"` narrows to the rollout's latest attempt. */
export const SpanQuery = z.object({
  rollout_id: StoreId,
  attempt_id: z.string().nullable().optional(),
  trace_id: z.string().nullable().optional(),
  trace_id_contains: z.string().nullable().optional(),
  span_id: z.string().nullable().optional(),
  span_id_contains: z.string().nullable().optional(),
  parent_id: z.string().nullable().optional(),
  parent_id_contains: z.string().nullable().optional(),
  name: z.string().nullable().optional(),
  name_contains: z.string().nullable().optional(),
  filter_logic: FilterLogic.default('and'),
  sort_by: z.enum(SPAN_SORT_FIELDS).nullable().default('sequence_id'),
  ...page,
});
export type SpanQuery = z.input<typeof SpanQuery>;

export const WORKER_SORT_FIELDS = [
  'worker_id',
  'status',
  'last_heartbeat_time',
  'last_dequeue_time',
  'last_busy_time',
  'last_idle_time',
] as const;
export const WorkerQuery = z.object({
  status_in: z.array(WorkerStatus).nullable().optional(),
  worker_id_contains: z.string().nullable().optional(),
  filter_logic: FilterLogic.default('and'),
  sort_by: z.enum(WORKER_SORT_FIELDS).nullable().default(null),
  ...page,
});
export type WorkerQuery = z.input<typeof WorkerQuery>;

export const RESOURCES_SORT_FIELDS = ['resources_id', 'version', 'create_time', 'update_time'] as const;
export const ResourcesQuery = z.object({
  resources_id: z.string().nullable().optional(),
  resources_id_contains: z.string().nullable().optional(),
  sort_by: z.enum(RESOURCES_SORT_FIELDS).nullable().default(null),
  ...page,
});
export type ResourcesQuery = z.input<typeof ResourcesQuery>;

/** One page of results; `total` counts every match, `limit` echoes the request (-1 = all). */
export function PaginatedResult<T extends z.ZodType>(item: T) {
  return z.object({
    items: z.array(item),
    limit: z.number().int(),
    offset: z.number().int(),
    total: z.number().int(),
  });
}
export type PaginatedResult<T> = { items: T[]; limit: number; offset: number; total: number };

export const StoreStatistics = z.looseObject({
  name: z.string(),
  total_rollouts: z.number().int(),
  total_attempts: z.number().int(),
  total_spans: z.number().int(),
  total_resources: z.number().int(),
  total_workers: z.number().int(),
  uptime: z.number(),
  rollouts_by_status: z.record(RolloutStatus, z.number().int()),
  queue_length: z.number().int(),
});
export type StoreStatistics = z.infer<typeof StoreStatistics>;

export const TERMINAL_ROLLOUT_STATUSES: readonly RolloutStatus[] = ['succeeded', 'failed', 'cancelled'];
export const QUEUED_ROLLOUT_STATUSES: readonly RolloutStatus[] = ['queuing', 'requeuing'];
export const ACTIVE_ROLLOUT_STATUSES: readonly RolloutStatus[] = ['preparing', 'running'];
export const TERMINAL_ATTEMPT_STATUSES: readonly AttemptStatus[] = [
  'succeeded',
  'failed',
  'timeout',
  'unresponsive',
];

// ---------------------------------------------------------------------------------------------
// Records moved between stores by sync (push and pull): whole rows, imported idempotently by id.

export const StoreRecords = z.object({
  rollouts: z.array(Rollout).default([]),
  attempts: z.array(Attempt).default([]),
  spans: z.array(Span).default([]),
  resources: z.array(ResourcesUpdate).default([]),
  workers: z.array(Worker).default([]),
});
export type StoreRecords = z.infer<typeof StoreRecords>;
export type StoreRecordsInput = z.input<typeof StoreRecords>;

/** How many rows of each kind an import wrote (a row already up to date counts as skipped). */
export const ImportResult = z.object({
  written: z.object({
    rollouts: z.number().int(),
    attempts: z.number().int(),
    spans: z.number().int(),
    resources: z.number().int(),
    workers: z.number().int(),
  }),
  skipped: z.number().int(),
});
export type ImportResult = z.infer<typeof ImportResult>;
