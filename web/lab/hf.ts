import { signal } from '@preact/signals';
import * as Comlink from 'comlink';
import { DEFAULT_HUB_ENDPOINT } from '../../shared/hf/hub';
import type { CheckpointRow } from '../../worker/lab/protocol';
import { lab } from './client';
import type { HfApi } from './hf.worker';
import type { HfProgress, HubTarget, PickedFile } from './hf-types';

// The page's side of the Hugging Face work: the worker that does it (created on first use), importing a
// model into the lab's checkpoint store, the names of imported models, the Hub settings, and saving files.

let remote: Comlink.Remote<HfApi> | undefined;

export function hf(): Comlink.Remote<HfApi> {
  if (!remote) {
    const worker = new Worker(new URL('./hf.worker.ts', import.meta.url), {
      type: 'module',
      name: 'edgelight-hf',
    });
    remote = Comlink.wrap<HfApi>(worker);
  }
  return remote;
}

let nextJob = 1;

/** One cancellable import: `cancel()` stops the download or conversion (a partial download is kept). */
export type ImportJob = { done: Promise<CheckpointRow>; cancel: () => void };

/**
 * Imports a Hub model (downloaded into the OPFS cache first) or a picked folder as a checkpoint of this lab
 * (weights only: it has no optimizer or trainer state), remembered under `label`.
 */
export function importHfModel(
  from: { hub: HubTarget } | { files: PickedFile[] },
  label: string,
  onProgress: (p: HfProgress) => void,
): ImportJob {
  const job = nextJob++;
  const progress = Comlink.proxy(onProgress);
  const done = (async () => {
    const bundle =
      'hub' in from
        ? await hf().importHub(job, from.hub, progress)
        : await hf().importFiles(job, from.files, progress);
    const row = await lab().importCheckpoint(Comlink.transfer(bundle, [bundle.buffer]));
    rememberHfModel(row.id, label);
    return row;
  })();
  return { done, cancel: () => void hf().cancel(job) };
}

/** A worker error arrives as a plain Error; an AbortError means the user cancelled. */
export function isCancel(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || /cancel/i.test(error.message));
}

/**
 * An error of a Hub request as a person reads it: a browser says only "Failed to fetch" when the Hub is
 * unreachable or does not allow this page's origin (CORS), so that case names the Hub.
 */
export function hubErrorMessage(error: unknown, endpoint: string): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/failed to fetch|networkerror|load failed/i.test(message))
    return `could not reach ${endpoint} (offline, a wrong Hub URL, or a Hub that does not allow this page's origin): ${message}`;
  return message;
}

// ── Names of imported models (kept in this browser: the checkpoint store lists them as "imported") ─────

const NAMES_KEY = 'edgelight-hf-models';

function readNames(): Record<string, string> {
  try {
    const parsed = JSON.parse(localStorage.getItem(NAMES_KEY) ?? '{}') as unknown;
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, string>)
      : {};
  } catch {
    return {};
  }
}

/** Checkpoint id → the Hugging Face model it was imported from ("owner/name", a folder's name). */
export const hfModelNames = signal<Record<string, string>>(readNames());

export function rememberHfModel(id: string, label: string): void {
  const names = { ...readNames(), [id]: label };
  localStorage.setItem(NAMES_KEY, JSON.stringify(names));
  hfModelNames.value = names;
}

// ── Hub settings ─────────────────────────────────────────────────────────────────────────────────────

const ENDPOINT_KEY = 'edgelight-hub-endpoint';

export function savedHubEndpoint(): string {
  return localStorage.getItem(ENDPOINT_KEY) || DEFAULT_HUB_ENDPOINT;
}

export function saveHubEndpoint(endpoint: string): void {
  if (endpoint === DEFAULT_HUB_ENDPOINT) localStorage.removeItem(ENDPOINT_KEY);
  else localStorage.setItem(ENDPOINT_KEY, endpoint);
}

// ── The Hub cache's room in this browser ─────────────────────────────────────────────────────────────

/** OpfsHubCache's folder in the origin-private file system (shared/hf/hub-cache.ts). */
const HUB_CACHE_FOLDER = 'edgelight-hub';

async function folderBytes(folder: FileSystemDirectoryHandle): Promise<number> {
  let total = 0;
  // entries() is in every OPFS browser but not in every lib.dom typing.
  const entries = (folder as unknown as { values(): AsyncIterable<FileSystemHandle> }).values();
  for await (const entry of entries) {
    if (entry.kind === 'file') total += (await (entry as FileSystemFileHandle).getFile()).size;
    else total += await folderBytes(entry as FileSystemDirectoryHandle);
  }
  return total;
}

/** Bytes of downloaded Hub files (complete and partial) kept in this browser. */
export async function hubCacheBytes(): Promise<number> {
  const root = await navigator.storage.getDirectory();
  try {
    return await folderBytes(await root.getDirectoryHandle(HUB_CACHE_FOLDER));
  } catch (error) {
    if (error instanceof DOMException && error.name === 'NotFoundError') return 0;
    throw error;
  }
}

/** Deletes every downloaded Hub file; checkpoints imported from them stay in the lab. */
export async function clearHubCache(): Promise<void> {
  const root = await navigator.storage.getDirectory();
  await root.removeEntry(HUB_CACHE_FOLDER, { recursive: true }).catch((error: unknown) => {
    if (!(error instanceof DOMException && error.name === 'NotFoundError')) throw error;
  });
}

// ── Files ────────────────────────────────────────────────────────────────────────────────────────────

/** The picked folder's files, named relative to it (a folder picker names them "folder/file"). */
export function pickedFiles(files: Iterable<File>): PickedFile[] {
  return [...files].map((file) => {
    const relative = file.webkitRelativePath;
    const slash = relative ? relative.indexOf('/') : -1;
    return { name: slash < 0 ? file.name : relative.slice(slash + 1), file };
  });
}

/** Saves each file as a download under its own name (what `from_pretrained` expects in a folder). */
export function saveFiles(files: Record<string, Uint8Array>): string[] {
  const names = Object.keys(files).sort();
  for (const name of names) {
    const url = URL.createObjectURL(new Blob([files[name] as Uint8Array<ArrayBuffer>]));
    const link = document.createElement('a');
    link.href = url;
    link.download = name;
    link.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
  return names;
}

/** 1,234,567 → "1.2 MB" (decimal units, as the Hub shows sizes). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = -1;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

/** 494,032,768 → "494 M" parameters. */
export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return String(n);
}
