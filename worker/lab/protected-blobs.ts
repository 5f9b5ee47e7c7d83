import type { BlobStorage } from '../../shared/policy/checkpoint';

/**
 * The store's blob table as checkpoints use it. Saved checkpoints share weight blobs with the versions the RL loop publishes (and deletes) every
 * step; deletes of blobs a saved checkpoint uses are skipped.
 */
export class ProtectedBlobs implements BlobStorage {
  private readonly kept = new Set<string>();
  constructor(private readonly inner: BlobStorage) {}
  put(sha256: string, bytes: Uint8Array) {
    return this.inner.put(sha256, bytes);
  }
  get(sha256: string) {
    return this.inner.get(sha256);
  }
  async delete(sha256: string) {
    if (!this.kept.has(sha256)) await this.inner.delete?.(sha256);
  }
  async protect(manifestId: string): Promise<void> {
    this.kept.add(manifestId);
    const manifest = await this.inner.get(manifestId);
    if (!manifest) return;
    const files = (
      JSON.parse(new TextDecoder().decode(manifest)) as { files?: Record<string, { sha256: string }> }
    ).files;
    for (const file of Object.values(files ?? {})) this.kept.add(file.sha256);
  }
}
