import type { BlobStorage } from '../policy/checkpoint';
import { type HttpStoreOptions, HttpTransport } from '../store/http';
import type { StoreRecordsInput } from '../store/types';
import { PullResponse, PushResponse } from './protocol';

/** The server side of sync as the syncer sees it; HttpSyncRemote is the real one. */
export interface SyncRemote {
  push(clientId: string, batchId: string, records: StoreRecordsInput): Promise<PushResponse>;
  pull(after: number, limit: number): Promise<PullResponse>;
  hasBlob(sha256: string): Promise<boolean>;
  putBlob(sha256: string, bytes: Uint8Array): Promise<void>;
  getBlob(sha256: string): Promise<Uint8Array | undefined>;
}

/** `/v1/sync/*` and `/v1/blobs/*` over HTTP, with the same retry policy as HttpLightningStore. */
export class HttpSyncRemote implements SyncRemote {
  private readonly transport: HttpTransport;

  constructor(options: HttpStoreOptions) {
    this.transport = new HttpTransport(options);
  }

  async push(clientId: string, batchId: string, records: StoreRecordsInput): Promise<PushResponse> {
    const body = { client_id: clientId, batch_id: batchId, records };
    return PushResponse.parse(await this.transport.json('POST', '/v1/sync/push', { body }));
  }

  async pull(after: number, limit: number): Promise<PullResponse> {
    return PullResponse.parse(await this.transport.json('GET', '/v1/sync/pull', { query: { after, limit } }));
  }

  async hasBlob(sha256: string): Promise<boolean> {
    const response = await this.transport.request('HEAD', `/v1/blobs/${sha256}`, { accept: [404] });
    return response.status === 200;
  }

  async putBlob(sha256: string, bytes: Uint8Array): Promise<void> {
    const response = await this.transport.request('PUT', `/v1/blobs/${sha256}`, { bytes });
    await response.body?.cancel();
  }

  async getBlob(sha256: string): Promise<Uint8Array | undefined> {
    const response = await this.transport.request('GET', `/v1/blobs/${sha256}`, { accept: [404] });
    if (response.status === 404) {
      await response.body?.cancel();
      return undefined;
    }
    return new Uint8Array(await response.arrayBuffer());
  }
}

/**
 * A server's blob folder as checkpoint storage (`saveCheckpoint` / `loadCheckpoint`): what a Node
 * trainer running against a server (`--server URL`) uses, so its checkpoints land where browsers
 * pull them. Writes skip blobs the server already has.
 */
export class HttpBlobStorage implements BlobStorage {
  private readonly remote: HttpSyncRemote;

  constructor(options: HttpStoreOptions) {
    this.remote = new HttpSyncRemote(options);
  }

  async put(sha256: string, bytes: Uint8Array): Promise<void> {
    if (await this.remote.hasBlob(sha256)) return;
    await this.remote.putBlob(sha256, bytes);
  }

  get(sha256: string): Promise<Uint8Array | undefined> {
    return this.remote.getBlob(sha256);
  }
}
