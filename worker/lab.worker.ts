import * as Comlink from 'comlink';
import type { GovernancePipeline, TextKind, Verdict } from '../shared/governance/types';
import { blobStorageOf } from '../shared/policy/checkpoint';
import { STARTER_POLICY } from '../shared/train/starter-policy';
import { DexieLightningStore } from '../shared/store/dexie';
import { DexieOutbox } from '../shared/sync/outbox';
import { OutboxRecordingStore } from '../shared/sync/recording-store';
import { baselinePolicy, checkpointReplyPolicy, draftReplies, type PolicyChoice } from './lab/agent';
import { ensureBackend } from './lab/backend';
import * as dataset from './lab/dataset';
import type { InboxDeps } from './lab/inbox';
import { LabDatabase } from './lab/lab-db';
import { DatasetFilter, Page, type SyncState, TraceFilter } from './lab/protocol';
import { ProtectedBlobs } from './lab/protected-blobs';
import { LabSync } from './lab/sync';
import * as checkpoints from './lab/checkpoints';
import * as promote from './lab/promote';
import * as starter from './lab/starter';
import { TraceIndex, traceDetail } from './lab/traces';
import { TrainingController, type TrainingEvent } from './lab/training';

// The app's main worker. It composes the isomorphic modules of shared/ (governance, store, agent,
// trainer, sync) and exposes them to the page over comlink. Heavy modules load on first use, so the
// worker starts fast and tfjs is fetched only when training or sampling begins.

export type LabEvent = { type: 'sync'; state: SyncState } | TrainingEvent;

type Listener = (event: LabEvent) => void;
const listeners = new Map<number, Listener>();
let nextListenerId = 1;

function emit(event: LabEvent): void {
  for (const listener of listeners.values()) listener(event);
}

let pipeline: Promise<GovernancePipeline> | undefined;
/**
 * The pipeline once its name data (a chunk of its own) is in: without it the PERSON recogniser would run
 * on compromise's lexicon alone, and what a rollout redacts would depend on how fast the chunk arrived.
 */
function governance(): Promise<GovernancePipeline> {
  pipeline ??= Promise.all([
    import('../shared/governance/index'),
    import('../shared/governance/pii/names').then((m) => m.loadNameData()),
  ]).then(([m]) => m.createGovernancePipeline());
  return pipeline;
}

const db = new LabDatabase();
/** The LightningStore of this browser: rollouts, attempts, spans, resources and checkpoint blobs. */
const localStore = new DexieLightningStore({ indexedDB, IDBKeyRange, name: 'edgelight-store' });
const outbox = new DexieOutbox('edgelight-sync');
/** What runners and the trainer write through, so every change is queued for sync. */
const store = new OutboxRecordingStore(localStore, outbox);
const blobs = new ProtectedBlobs(blobStorageOf(localStore));

async function clientId(): Promise<string> {
  const saved = await db.getSetting<string>('client.id');
  if (saved) return saved;
  const id = `browser-${crypto.randomUUID()}`;
  await db.setSetting('client.id', id);
  return id;
}

const traces = new TraceIndex(db, async () => localStore);
const sync = clientId().then(
  (id) =>
    new LabSync(
      db,
      localStore,
      outbox,
      blobs,
      id,
      () => {
        void sync.then((s) => s.state()).then((state) => emit({ type: 'sync', state }));
      },
      async () => {
        traces.invalidate();
        await checkpoints.registerPulledCheckpoints(db, blobs, localStore);
      },
    ),
);

const training = new TrainingController({ db, store, blobs, governance, emit });
/** The Inbox reads the local store and writes decisions through the outbox, so sync sends them. */
const inboxDeps: InboxDeps = { local: localStore, store, db, governance };
/** The Inbox's module (and the reply readers it pulls in) loads on the page's first visit, not at start. */
const inbox = () => import('./lab/inbox');
/** The reviews as training data (the Train page's counts); loaded with the page's first look at them. */
const reviewData = () => import('./lab/review-data');

const MAX_FEEDBACK_CHARS = 100_000;

/** The starter policy's files, served by the app itself (web/public/starter-policy/ → <base>starter-policy/). */
const fetchStarterFile = starter.fetchFromApp(
  new URL(`${import.meta.env.BASE_URL}${STARTER_POLICY.path}`, self.location.origin),
);

/** The newest checkpoint as a policy, or the SFT-corpus baseline before any training. */
async function currentPolicy(): Promise<PolicyChoice> {
  const newest = await db.checkpoints.orderBy('createdAt').last();
  if (newest) {
    await ensureBackend('auto');
    return { policy: await checkpointReplyPolicy(blobs, newest.id), kind: 'checkpoint' };
  }
  return { policy: await baselinePolicy(db, await governance()), kind: 'baseline' };
}

const api = {
  subscribe(listener: Listener): number {
    const id = nextListenerId++;
    listeners.set(id, listener);
    return id;
  },
  unsubscribe(id: number): void {
    listeners.delete(id);
  },

  async govern(text: string, kind: TextKind = 'feedback'): Promise<Verdict> {
    if (typeof text !== 'string') throw new Error('text must be a string');
    if (text.length > MAX_FEEDBACK_CHARS)
      throw new Error(`text is ${text.length} characters; the limit is ${MAX_FEEDBACK_CHARS}`);
    return (await governance()).govern(text, kind);
  },

  async draftReplies(request: unknown) {
    return draftReplies(store, await governance(), await currentPolicy(), request);
  },

  generateDataset: (request: unknown) => dataset.generateDataset(db, request),
  /** The default dataset (`edgelight data generate`'s defaults), which the starter policy was trained on. */
  generateDefaultDataset: () => dataset.generateDefaultDataset(db),
  importDataset: (text: unknown) => dataset.importDataset(db, text),
  exportDataset: (filter: unknown) => dataset.exportDataset(db, DatasetFilter.parse(filter ?? {})),
  datasetSummary: () => dataset.datasetSummary(db),
  async queryDataset(filter: unknown, offset: number, limit: number) {
    const page = Page.parse({ offset, limit });
    return dataset.queryDataset(db, DatasetFilter.parse(filter ?? {}), page.offset, page.limit);
  },
  async clearDataset(): Promise<void> {
    await db.examples.clear();
  },

  refreshTraces: () => traces.refresh(),
  traceFacets: () => traces.facets(),
  async queryTraces(filter: unknown, offset: number, limit: number) {
    const page = Page.parse({ offset, limit });
    return traces.query(TraceFilter.parse(filter ?? {}), page.offset, page.limit);
  },
  async traceDetail(rolloutId: string) {
    if (typeof rolloutId !== 'string') throw new Error('rolloutId must be a string');
    return traceDetail(localStore, rolloutId);
  },

  trainSnapshot: () => training.snapshot(),
  startTraining: (request: unknown) => training.start(request),
  pauseTraining: () => training.pause(),
  resumeTraining: () => training.resume(),
  stopTraining: () => training.stop(),
  /** What the reviews in this lab's store give DPO, KTO and SFT, and why not where they give nothing. */
  reviewDataSummary: async () => (await reviewData()).reviewDataSummary(store),

  syncState: async () => (await sync).state(),
  configureSync: async (settings: unknown) => (await sync).configure(settings),
  syncNow: async () => (await sync).syncNow(),

  listCheckpoints: () => checkpoints.listCheckpoints(db),
  async exportCheckpoint(id: string) {
    const bundle = await checkpoints.exportBundle(db, blobs, String(id));
    return Comlink.transfer(bundle, [bundle.bytes.buffer]);
  },
  importCheckpoint: (bytes: unknown) => checkpoints.importBundle(db, blobs, store, bytes),
  starterPolicy: () => starter.starterPolicyStatus(db, fetchStarterFile),
  importStarterPolicy: () => starter.importStarterPolicy(db, blobs, store, fetchStarterFile),
  async compareCheckpoints(request: unknown) {
    return checkpoints.compareCheckpoints(db, blobs, await governance(), request);
  },
  /** Promotes a checkpoint to served on the Sync page's server, through its gate. */
  promoteCheckpoint: async (request: unknown) =>
    promote.promoteCheckpoint((await (await sync).state()).settings, request, await clientId()),
  servedCheckpoint: async () => promote.servedCheckpoint((await (await sync).state()).settings),

  inboxList: async (filter: unknown) => (await inbox()).listInbox(inboxDeps, filter),
  inboxItem: async (rolloutId: unknown) => (await inbox()).inboxItem(inboxDeps, rolloutId),
  inboxCheckReply: async (reply: unknown) => (await inbox()).checkReply(governance, reply),
  inboxDecide: async (request: unknown) => (await inbox()).decide(inboxDeps, request),
  /** The heuristic reward's agreement with the reviews in this lab's store (Inbox and Train pages). */
  reviewAgreement: async (examples?: unknown) => (await inbox()).reviewAgreementOf(inboxDeps, examples),
  inboxReviewer: async () => (await inbox()).getReviewer(db),
  setInboxReviewer: async (name: unknown) => (await inbox()).setReviewer(db, name),
};

export type LabApi = typeof api;

Comlink.expose(api);
