// Where Hub downloads are kept between sessions: complete files, and partials that a later try
// continues with a range request. One interface, two homes: the browser's origin-private file system
// (below) and a folder on disk under Node (server/hf/folder-cache.ts).

/** One file of one repository at one revision on one Hub: the cache key. */
export interface HubFileKey {
  endpoint: string;
  repo: string;
  revision: string;
  file: string;
}

export interface HubCache {
  /** Size in bytes of the complete cached file, or null when it is not cached complete. */
  completeSize(key: HubFileKey): Promise<number | null>;
  /** Bytes [start, end) of the complete cached file (the whole file by default). */
  readComplete(key: HubFileKey, start?: number, end?: number): Promise<Uint8Array>;
  /** Length of the partial download kept for `key` (0 when there is none). */
  partialLength(key: HubFileKey): Promise<number>;
  /** The partial's bytes, to hash them again before a resumed download continues the hash. */
  readPartial(key: HubFileKey): Promise<Uint8Array>;
  appendPartial(key: HubFileKey, chunk: Uint8Array): Promise<void>;
  discardPartial(key: HubFileKey): Promise<void>;
  /** Turns the (verified) partial into the complete file. */
  complete(key: HubFileKey): Promise<void>;
}

/**
 * Path segments for a key: the endpoint's host (and port), the repo's owner and name, the revision,
 * then the file's own folders. Each segment is percent-encoded, so no key can name `..` or an
 * absolute path and reach outside the cache.
 */
export function hubKeySegments(key: HubFileKey): string[] {
  const endpoint = new URL(key.endpoint);
  const parts = [
    `${endpoint.protocol.replace(':', '')}_${endpoint.host}`,
    ...key.repo.split('/'),
    key.revision,
    ...key.file.split('/'),
  ];
  return parts.map((part) => {
    if (part === '' || part === '.' || part === '..') {
      throw new Error(`Hub cache key has an empty, "." or ".." path segment: ${JSON.stringify(key)}`);
    }
    return encodeURIComponent(part);
  });
}

/** A cache in memory: for one page visit (nothing survives a reload) and for callers without storage. */
export class MemoryHubCache implements HubCache {
  private readonly completed = new Map<string, Uint8Array>();
  private readonly partials = new Map<string, Uint8Array[]>();

  private id(key: HubFileKey): string {
    return hubKeySegments(key).join('/');
  }

  async completeSize(key: HubFileKey): Promise<number | null> {
    return this.completed.get(this.id(key))?.byteLength ?? null;
  }

  async readComplete(key: HubFileKey, start = 0, end?: number): Promise<Uint8Array> {
    const bytes = this.completed.get(this.id(key));
    if (!bytes) throw new Error(`Hub cache has no complete ${key.repo}/${key.file}`);
    return bytes.slice(start, end ?? bytes.byteLength);
  }

  async partialLength(key: HubFileKey): Promise<number> {
    return (this.partials.get(this.id(key)) ?? []).reduce((n, chunk) => n + chunk.byteLength, 0);
  }

  async readPartial(key: HubFileKey): Promise<Uint8Array> {
    return concatBytes(this.partials.get(this.id(key)) ?? []);
  }

  async appendPartial(key: HubFileKey, chunk: Uint8Array): Promise<void> {
    const id = this.id(key);
    const chunks = this.partials.get(id) ?? [];
    chunks.push(chunk.slice());
    this.partials.set(id, chunks);
  }

  async discardPartial(key: HubFileKey): Promise<void> {
    this.partials.delete(this.id(key));
  }

  async complete(key: HubFileKey): Promise<void> {
    const id = this.id(key);
    this.completed.set(id, concatBytes(this.partials.get(id) ?? []));
    this.partials.delete(id);
  }
}

export function concatBytes(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, chunk) => n + chunk.byteLength, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

const PARTIAL_SUFFIX = '.part';

/**
 * The browser's cache, in the origin-private file system (`navigator.storage.getDirectory()`).
 * Why OPFS rather than the Cache API: a Cache entry is one whole Response, written at once, so an
 * interrupted multi-hundred-megabyte download could only start over; an OPFS file can be appended to
 * chunk by chunk (`createWritable({ keepExistingData: true })` + `seek`), which is what resuming with
 * `Range: bytes=N-` needs. OPFS also counts against the same storage quota and is not evicted
 * entry by entry. Layout: one folder per key segment; the partial is `<file>.part`, renamed (or, where
 * `move` is missing, copied) to `<file>` once verified.
 */
export class OpfsHubCache implements HubCache {
  constructor(
    private readonly root: () => Promise<FileSystemDirectoryHandle> = () => navigator.storage.getDirectory(),
  ) {}

  private async folderAndName(
    key: HubFileKey,
    create: boolean,
  ): Promise<[FileSystemDirectoryHandle, string] | null> {
    const segments = ['edgelight-hub', ...hubKeySegments(key)];
    const name = segments.pop() as string;
    let folder = await this.root();
    for (const segment of segments) {
      try {
        folder = await folder.getDirectoryHandle(segment, { create });
      } catch (error) {
        if (!create && isNotFound(error)) return null;
        throw error;
      }
    }
    return [folder, name];
  }

  private async file(key: HubFileKey, suffix: string, create: boolean): Promise<FileSystemFileHandle | null> {
    const place = await this.folderAndName(key, create);
    if (!place) return null;
    try {
      return await place[0].getFileHandle(place[1] + suffix, { create });
    } catch (error) {
      if (!create && isNotFound(error)) return null;
      throw error;
    }
  }

  async completeSize(key: HubFileKey): Promise<number | null> {
    const handle = await this.file(key, '', false);
    return handle ? (await handle.getFile()).size : null;
  }

  async readComplete(key: HubFileKey, start = 0, end?: number): Promise<Uint8Array> {
    const handle = await this.file(key, '', false);
    if (!handle) throw new Error(`Hub cache has no complete ${key.repo}/${key.file}`);
    const file = await handle.getFile();
    return new Uint8Array(await file.slice(start, end ?? file.size).arrayBuffer());
  }

  async partialLength(key: HubFileKey): Promise<number> {
    const handle = await this.file(key, PARTIAL_SUFFIX, false);
    return handle ? (await handle.getFile()).size : 0;
  }

  async readPartial(key: HubFileKey): Promise<Uint8Array> {
    const handle = await this.file(key, PARTIAL_SUFFIX, false);
    return handle ? new Uint8Array(await (await handle.getFile()).arrayBuffer()) : new Uint8Array(0);
  }

  async appendPartial(key: HubFileKey, chunk: Uint8Array): Promise<void> {
    const handle = (await this.file(key, PARTIAL_SUFFIX, true)) as FileSystemFileHandle;
    const size = (await handle.getFile()).size;
    const writable = await handle.createWritable({ keepExistingData: true });
    await writable.seek(size);
    await writable.write(chunk as Uint8Array<ArrayBuffer>);
    // The bytes reach the file only at close(); a tab closed before this loses this chunk alone.
    await writable.close();
  }

  async discardPartial(key: HubFileKey): Promise<void> {
    const place = await this.folderAndName(key, false);
    if (!place) return;
    await place[0].removeEntry(place[1] + PARTIAL_SUFFIX).catch((error) => {
      if (!isNotFound(error)) throw error;
    });
  }

  async complete(key: HubFileKey): Promise<void> {
    const place = (await this.folderAndName(key, true)) as [FileSystemDirectoryHandle, string];
    const [folder, name] = place;
    const partial = await folder.getFileHandle(name + PARTIAL_SUFFIX);
    // `move` (a rename within OPFS) is in Chromium and Firefox but not in every lib.dom typing.
    const movable = partial as FileSystemFileHandle & { move?: (name: string) => Promise<void> };
    if (typeof movable.move === 'function') {
      await folder.removeEntry(name).catch(() => {});
      await movable.move(name);
      return;
    }
    const target = await folder.getFileHandle(name, { create: true });
    const writable = await target.createWritable();
    await (await partial.getFile()).stream().pipeTo(writable);
    await folder.removeEntry(name + PARTIAL_SUFFIX);
  }
}

function isNotFound(error: unknown): boolean {
  return (
    error instanceof DOMException && (error.name === 'NotFoundError' || error.name === 'TypeMismatchError')
  );
}
