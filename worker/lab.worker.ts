import * as Comlink from 'comlink';
import type { GovernancePipeline, TextKind, Verdict } from '../shared/governance/types';
import * as dataset from './lab/dataset';
import { LabDatabase } from './lab/lab-db';
import { DatasetFilter, Page } from './lab/protocol';

// The app's main worker. It composes the isomorphic modules of shared/ (governance, store, agent,
// trainer, sync) and exposes them to the page over comlink. Heavy modules load on first use, so the
// worker starts fast and tfjs is fetched only when training or sampling begins.

export type LabEvent = { type: 'ready' };

type Listener = (event: LabEvent) => void;
const listeners = new Map<number, Listener>();
let nextListenerId = 1;

function emit(event: LabEvent): void {
  for (const listener of listeners.values()) listener(event);
}

let pipeline: Promise<GovernancePipeline> | undefined;
function governance(): Promise<GovernancePipeline> {
  pipeline ??= import('../shared/governance/index').then((m) => m.createGovernancePipeline());
  return pipeline;
}

const db = new LabDatabase();

const MAX_FEEDBACK_CHARS = 100_000;

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

  generateDataset: (request: unknown) => dataset.generateDataset(db, request),
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
};

export type LabApi = typeof api;

Comlink.expose(api);
emit({ type: 'ready' });
