import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
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
 * Content-addressed files under `root`. A write streams into `root/tmp/`, hashing and counting as it
 * goes, is fsynced, and only then renamed into place: a crash mid-upload leaves a temp file, never a
 * half-written blob under its final name.
 */
export class BlobStore {
  private readonly tmpDir: string;

  constructor(
    readonly root: string,
    readonly maxBytes: number,
  ) {
    this.tmpDir = join(root, 'tmp');
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

  read(sha256: string): Readable {
    return createReadStream(this.pathOf(sha256));
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
      return { sha256, size };
    } catch (error) {
      await rm(tmpPath, { force: true });
      throw error;
    }
  }
}
