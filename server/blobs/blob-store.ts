import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream, type Stats } from 'node:fs';
import { type FileHandle, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';

/** A blob id is the SHA-256 of its bytes in lowercase hex: nothing else can name a file here. */
export const SHA256_HEX = /^[0-9a-f]{64}$/;

export class BlobTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`blob exceeds the limit of ${maxBytes} bytes`);
  }
}

export class BlobHashMismatchError extends Error {
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`blob content hashes to ${actual}, not ${expected}`);
  }
}

export type BlobInfo = { sha256: string; size: number };

/**
 * Where files that do not match their name go: a folder beside the blob folder (`DIR/blobs` →
 * `DIR/blobs-quarantine`), so an operator can inspect them; nothing here deletes them.
 */
export function quarantineDirOf(blobRoot: string): string {
  return join(dirname(blobRoot), `${basename(blobRoot)}-quarantine`);
}

/** The SHA-256 of a whole open file, read in 1 MiB pieces (memory stays bounded whatever its size). */
export async function hashHandle(handle: FileHandle): Promise<string> {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(1 << 20);
  let position = 0;
  for (;;) {
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
    if (bytesRead === 0) break;
    hash.update(buffer.subarray(0, bytesRead));
    position += bytesRead;
  }
  return hash.digest('hex');
}

/** The SHA-256 of the file at `path`. */
export async function hashFile(path: string): Promise<string> {
  const handle = await open(path, 'r');
  try {
    return await hashHandle(handle);
  } finally {
    await handle.close();
  }
}

/**
 * Moves `path` into `quarantineDir` under a name that keeps the original one and never overwrites an
 * earlier piece of evidence (`<name>.<UTC time>.<random>`). Resolves to the new path, or null when the
 * file had already gone (another request quarantined or replaced it first).
 */
export async function quarantineFile(path: string, quarantineDir: string): Promise<string | null> {
  await mkdir(quarantineDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const target = join(quarantineDir, `${basename(path)}.${stamp}.${randomUUID().slice(0, 8)}`);
  try {
    await rename(path, target);
    return target;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** What `open()` finds: a verified file ready to stream, nothing, or a file that failed its hash. */
export type BlobOpenResult =
  | { status: 'ok'; info: BlobInfo; handle: FileHandle }
  | { status: 'missing' }
  | { status: 'corrupt'; sha256: string; actual: string; size: number; quarantinedAs: string | null };

/** Identity of one version of a file: a rewrite changes ctime (which no tool can set back) or size. */
const fileVersion = (s: Stats) => `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;

/** Verified files remembered at most; past it the oldest entries are forgotten (and rehashed if asked). */
const VERIFIED_CACHE_ENTRIES = 10_000;

/**
 * Content-addressed files under `root`. A write streams into `root/tmp/`, hashing and counting as it
 * goes, is fsynced, and only then renamed into place: a crash mid-upload leaves a temp file, never a
 * half-written blob under its final name.
 */
export class BlobStore {
  private readonly tmpDir: string;
  readonly quarantineDir: string;
  /** sha256 → the file version last found to hash to it, so a good file is hashed once, not per GET. */
  private readonly verified = new Map<string, string>();

  constructor(
    readonly root: string,
    readonly maxBytes: number,
    /** Where a corrupt blob is reported; the server's stderr by default. */
    private readonly log: (message: string) => void = (message) => console.error(message),
  ) {
    this.tmpDir = join(root, 'tmp');
    this.quarantineDir = quarantineDirOf(root);
  }

  async init(): Promise<void> {
    await mkdir(this.tmpDir, { recursive: true });
    // Temp files are leftovers of interrupted uploads; nothing refers to them.
    await rm(this.tmpDir, { recursive: true, force: true });
    await mkdir(this.tmpDir, { recursive: true });
  }

  private pathOf(sha256: string): string {
    if (!SHA256_HEX.test(sha256)) throw new Error(`not a sha256 id: ${sha256}`);
    return join(this.root, sha256.slice(0, 2), sha256);
  }

  async stat(sha256: string): Promise<BlobInfo | null> {
    try {
      const s = await stat(this.pathOf(sha256));
      return { sha256, size: s.size };
    } catch {
      return null;
    }
  }

  /**
   * Opens a blob and checks that its bytes hash to its name before anything is sent: the whole file is
   * hashed from the open handle (1 MiB at a time, so memory stays bounded), unless this very version of
   * the file (inode, size, mtime, ctime) was verified before. The caller streams from the same handle,
   * so a file swapped in after the check is never what is sent. A file that fails is logged and moved
   * to the quarantine folder, and reported as corrupt; the caller must close `handle` of an `ok` result.
   */
  async open(sha256: string): Promise<BlobOpenResult> {
    const path = this.pathOf(sha256);
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { status: 'missing' };
      throw error;
    }
    try {
      const before = await handle.stat();
      const version = fileVersion(before);
      if (this.verified.get(sha256) === version) {
        return { status: 'ok', info: { sha256, size: before.size }, handle };
      }
      const actual = await hashHandle(handle);
      if (actual === sha256) {
        this.remember(sha256, version);
        return { status: 'ok', info: { sha256, size: before.size }, handle };
      }
      this.verified.delete(sha256);
      // Only the file that failed is moved: if an upload replaced it meanwhile, the new one stays.
      const now = await stat(path).catch(() => null);
      const quarantinedAs =
        now && now.ino === before.ino ? await quarantineFile(path, this.quarantineDir) : null;
      this.log(
        `edgelight: blob ${sha256} is corrupt: its ${before.size} bytes hash to ${actual}; ` +
          (quarantinedAs ? `moved to ${quarantinedAs}` : 'it had already been moved or replaced'),
      );
      await handle.close();
      return { status: 'corrupt', sha256, actual, size: before.size, quarantinedAs };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** Whether the blob is present and hashes to its name; a corrupt one is quarantined as by `open`. */
  async verify(sha256: string): Promise<BlobOpenResult['status']> {
    const result = await this.open(sha256);
    if (result.status === 'ok') await result.handle.close();
    return result.status;
  }

  private remember(sha256: string, version: string): void {
    this.verified.delete(sha256);
    this.verified.set(sha256, version);
    if (this.verified.size > VERIFIED_CACHE_ENTRIES) {
      const oldest = this.verified.keys().next().value;
      if (oldest !== undefined) this.verified.delete(oldest);
    }
  }

  /** Streams `body` to disk; resolves once the blob is durable under its name, or rejects and leaves nothing. */
  async write(
    sha256: string,
    body: WebReadableStream<Uint8Array> | ReadableStream<Uint8Array>,
  ): Promise<BlobInfo> {
    const finalPath = this.pathOf(sha256);
    const tmpPath = join(this.tmpDir, `${sha256}.${randomUUID()}`);
    const hash = createHash('sha256');
    let size = 0;
    const maxBytes = this.maxBytes;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        size += chunk.length;
        if (size > maxBytes) return callback(new BlobTooLargeError(maxBytes));
        hash.update(chunk);
        callback(null, chunk);
      },
    });
    try {
      await pipeline(
        Readable.fromWeb(body as WebReadableStream<Uint8Array>),
        meter,
        createWriteStream(tmpPath),
      );
      const actual = hash.digest('hex');
      if (actual !== sha256) throw new BlobHashMismatchError(sha256, actual);
      const handle = await open(tmpPath, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      await mkdir(join(this.root, sha256.slice(0, 2)), { recursive: true });
      await rename(tmpPath, finalPath);
      const written = await stat(finalPath);
      this.remember(sha256, fileVersion(written));
      return { sha256, size };
    } catch (error) {
      await rm(tmpPath, { force: true });
      throw error;
    }
  }
}
