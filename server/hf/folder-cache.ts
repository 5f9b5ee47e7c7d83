// The Hub cache on disk, for Node callers (the CLI, the server): one file per (endpoint, repo,
// revision, file) under a root folder, partials beside it as `<file>.part`, completed by a rename so
// a reader never sees half a file under the real name.
import { appendFile, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { DEFAULT_HUB_ENDPOINT } from '../../shared/hf/hub';
import { type HubCache, type HubFileKey, hubKeySegments } from '../../shared/hf/hub-cache';
import { OWNER_ONLY_DIR, OWNER_ONLY_FILE } from '../write-file-atomic';

/** `~/.cache/edgelight/hub` unless `EDGELIGHT_HUB_CACHE` names another folder. */
export function defaultHubCacheFolder(env: NodeJS.ProcessEnv = process.env): string {
  return env.EDGELIGHT_HUB_CACHE || join(homedir(), '.cache', 'edgelight', 'hub');
}

/** The Hub to download from: `HF_ENDPOINT` (huggingface_hub's variable, for mirrors) or huggingface.co. */
export function hubEndpointFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  const endpoint = env.HF_ENDPOINT?.trim();
  if (!endpoint) return DEFAULT_HUB_ENDPOINT;
  try {
    new URL(endpoint);
  } catch {
    throw new Error(`HF_ENDPOINT is not a URL: ${JSON.stringify(endpoint)}`);
  }
  return endpoint.replace(/\/+$/, '');
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException)?.code === 'ENOENT';
}

export class FolderHubCache implements HubCache {
  readonly root: string;

  constructor(root: string = defaultHubCacheFolder()) {
    this.root = root;
  }

  /** Where the complete file for `key` lives (its partial is this path + `.part`). */
  pathOf(key: HubFileKey): string {
    return join(this.root, ...hubKeySegments(key));
  }

  async completeSize(key: HubFileKey): Promise<number | null> {
    try {
      return (await stat(this.pathOf(key))).size;
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  async readComplete(key: HubFileKey, start = 0, end?: number): Promise<Uint8Array> {
    const path = this.pathOf(key);
    if (start === 0 && end === undefined) return new Uint8Array(await readFile(path));
    const file = await open(path, 'r');
    try {
      const stop = end ?? (await file.stat()).size;
      const out = new Uint8Array(Math.max(0, stop - start));
      const { bytesRead } = await file.read(out, 0, out.byteLength, start);
      return out.subarray(0, bytesRead);
    } finally {
      await file.close();
    }
  }

  async partialLength(key: HubFileKey): Promise<number> {
    try {
      return (await stat(`${this.pathOf(key)}.part`)).size;
    } catch (error) {
      if (isMissing(error)) return 0;
      throw error;
    }
  }

  async readPartial(key: HubFileKey): Promise<Uint8Array> {
    try {
      return new Uint8Array(await readFile(`${this.pathOf(key)}.part`));
    } catch (error) {
      if (isMissing(error)) return new Uint8Array(0);
      throw error;
    }
  }

  async appendPartial(key: HubFileKey, chunk: Uint8Array): Promise<void> {
    const path = `${this.pathOf(key)}.part`;
    await mkdir(dirname(path), { recursive: true, mode: OWNER_ONLY_DIR });
    await appendFile(path, chunk, { mode: OWNER_ONLY_FILE });
  }

  async discardPartial(key: HubFileKey): Promise<void> {
    await rm(`${this.pathOf(key)}.part`, { force: true });
  }

  async complete(key: HubFileKey): Promise<void> {
    const path = this.pathOf(key);
    // An fsync before the rename, so a power cut cannot leave the complete name on unwritten bytes.
    const part = await open(`${path}.part`, 'r+');
    try {
      await part.sync();
    } finally {
      await part.close();
    }
    await rename(`${path}.part`, path);
  }
}
