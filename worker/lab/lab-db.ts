import Dexie, { type EntityTable } from 'dexie';

// The lab's own IndexedDB database: the dataset, the training runs (their settings and metric
// history, so a reload shows them and a stopped run can resume) and small settings such as the
// sync target. Rollouts, spans, resources and checkpoint blobs live in the LightningStore's own
// database (shared/store), not here.

export type ExampleRecord = {
  id: string;
  split: string;
  category: string;
  sentiment: string;
  /** Insertion order, so browsing lists examples as they were generated or imported. */
  order: number;
  /** The example as the dataset module defines it, stored whole. */
  example: unknown;
};

export type RunRecord = {
  id: string;
  createdAt: number;
  updatedAt: number;
  /** The run as the worker's training controller keeps it (config, status, metrics, samples). */
  state: unknown;
};

/** One rollout as the trace explorer lists it: enough to filter and sort without reading spans. */
export type TraceRecord = {
  rollout_id: string;
  status: string;
  mode: string;
  /** The mean primary reward of the latest attempt's reward spans; -Infinity when it has none. */
  reward: number;
  start_time: number;
  end_time: number | null;
  attempts: number;
  preview: string;
};

/** A checkpoint this lab saved or imported; its files live as blobs in the store's blob table. */
export type CheckpointRecord = {
  id: string;
  createdAt: number;
  step: number;
  runId: string | null;
  preset: string;
  algorithm: string;
  /** The run's figures when it was saved (reward mean, loss, ...). */
  metrics: Record<string, number>;
  /** `starter`: the starter policy the app ships (worker/lab/starter.ts). */
  source: 'trained' | 'imported' | 'pulled' | 'starter';
  /** A name to show beside the id (the starter policy's); most checkpoints have none. */
  name?: string;
};

export type SettingRecord = { key: string; value: unknown };

export class LabDatabase extends Dexie {
  examples!: EntityTable<ExampleRecord, 'id'>;
  runs!: EntityTable<RunRecord, 'id'>;
  traces!: EntityTable<TraceRecord, 'rollout_id'>;
  checkpoints!: EntityTable<CheckpointRecord, 'id'>;
  settings!: EntityTable<SettingRecord, 'key'>;

  constructor(name = 'edgelight-lab') {
    super(name);
    this.version(1).stores({
      examples: 'id, order, split, category, sentiment',
      runs: 'id, updatedAt',
      traces: 'rollout_id, start_time, status, mode, reward',
      checkpoints: 'id, createdAt',
      settings: 'key',
    });
  }

  async getSetting<T>(key: string): Promise<T | undefined> {
    return (await this.settings.get(key))?.value as T | undefined;
  }

  async setSetting(key: string, value: unknown): Promise<void> {
    await this.settings.put({ key, value });
  }
}
