import type { ModelCost } from '../../shared/hf/inspect';

// What the page and the Hugging Face worker (hf.worker.ts) exchange.

/** A repo on a Hub: its id, the Hub's URL (a mirror, or https://huggingface.co), a revision, a token. */
export type HubTarget = { repo: string; endpoint: string; revision: string; token?: string };

/** What a Hub model costs before downloading it, and whether the policy runs its architecture. */
export type ModelCheck = {
  cost: ModelCost;
  supported: { ok: true } | { ok: false; reason: string };
};

/** A file of a picked folder, named relative to that folder (`model.safetensors`). */
export type PickedFile = { name: string; file: File };

/** Where an import stands: downloading (bytes of all files), converting (bytes read), saving. */
export type HfProgress = {
  phase: 'download' | 'convert' | 'save';
  file: string;
  bytes: number;
  total: number | null;
};
