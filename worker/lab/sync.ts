import type { BlobStorage } from '../../shared/policy/checkpoint';
import type { OutboxStorage } from '../../shared/sync/outbox';
import { HttpSyncRemote } from '../../shared/sync/remote';
import { type SyncLocalStore, Syncer } from '../../shared/sync/syncer';
import type { LabDatabase } from './lab-db';
import { type SyncSettings as SyncSettingsType, SyncSettings, type SyncState } from './protocol';

// The lab's sync with an edgelight server: settings persisted in the lab database, one Syncer per
// target, a short error history, and an optional timer. Everything works without a server; sync
// only moves what the local store already holds.

const SETTINGS_KEY = 'sync.settings';
const AUTO_INTERVAL_MS = 30_000;
const MAX_ERRORS = 10;

export class LabSync {
  private settings: SyncSettingsType = { url: '', token: '', auto: false };
  private syncer: Syncer | null = null;
  private running = false;
  private lastSyncAt: number | null = null;
  private lastReport: SyncState['lastReport'] = null;
  private errors: SyncState['errors'] = [];
  private timer: ReturnType<typeof setInterval> | null = null;
  private loaded: Promise<void>;

  constructor(
    private readonly db: LabDatabase,
    private readonly store: SyncLocalStore,
    private readonly outbox: OutboxStorage,
    private readonly blobs: BlobStorage,
    private readonly clientId: string,
    private readonly onChange: () => void,
    /** Runs after every pass that reached the server (e.g. listing checkpoints that arrived). */
    private readonly afterSync: () => Promise<unknown> = async () => undefined,
  ) {
    this.loaded = this.db.getSetting<SyncSettingsType>(SETTINGS_KEY).then((saved) => {
      const parsed = SyncSettings.safeParse(saved);
      if (parsed.success) this.applySettings(parsed.data);
    });
  }

  private applySettings(settings: SyncSettingsType): void {
    this.settings = settings;
    this.syncer = settings.url
      ? new Syncer({
          store: this.store,
          outbox: this.outbox,
          remote: new HttpSyncRemote({ baseUrl: settings.url, token: settings.token || undefined }),
          blobs: this.blobs,
          clientId: this.clientId,
        })
      : null;
    if (this.timer) clearInterval(this.timer);
    this.timer =
      settings.auto && settings.url ? setInterval(() => void this.syncNow(), AUTO_INTERVAL_MS) : null;
  }

  async configure(input: unknown): Promise<SyncState> {
    await this.loaded;
    const settings = SyncSettings.parse(input);
    await this.db.setSetting(SETTINGS_KEY, settings);
    this.applySettings(settings);
    return this.state();
  }

  async syncNow(): Promise<SyncState> {
    await this.loaded;
    if (!this.syncer) throw new Error('set a server URL first');
    if (this.running) return this.state();
    this.running = true;
    this.onChange();
    try {
      const report = await this.syncer.syncOnce();
      if (report.ran) {
        // A pass ends when what it pulled is listed: the Sync page polls state() while this runs, and
        // must not report the pass done before its checkpoints appear on the Checkpoints page.
        await this.afterSync();
        this.lastSyncAt = Date.now();
        this.lastReport = {
          pushedRows: report.pushed.rows,
          pushedWritten: report.pushed.written,
          pulledRows: report.pulled.rows,
          serverSeq: report.serverSeq,
          missingCheckpoints: report.missingCheckpoints,
        };
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.errors = [{ at: Date.now(), message }, ...this.errors].slice(0, MAX_ERRORS);
    } finally {
      this.running = false;
      this.onChange();
    }
    return this.state();
  }

  async state(): Promise<SyncState> {
    await this.loaded;
    return {
      settings: this.settings,
      running: this.running,
      pending: await this.outbox.size(),
      cursor: (await this.outbox.getMark('pull_cursor')) ?? 0,
      lastSyncAt: this.lastSyncAt,
      lastReport: this.lastReport,
      errors: this.errors,
    };
  }
}
