// Idempotency keys of the public intake: a visitor's browser that retries a post (a timeout, a double
// click, a flaky network) must not file the feedback twice. The same key with the same body answers the
// same item id; the same key with another body is a 409. Nothing here holds a key or a text in clear:
// the lookup is a SHA-256 of (intake key name, idempotency key), and the body's fingerprint an HMAC of
// the body keyed WITH the idempotency key, so a stored fingerprint cannot be checked against a guessed
// text by anyone who does not also hold the visitor's idempotency key.
import { createHash, createHmac } from 'node:crypto';

export const IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60;
/** Entries kept at most (oldest dropped first): bounds memory whatever a client sends. */
export const IDEMPOTENCY_MAX_ENTRIES = 100_000;

/** An idempotency key as a client may send it: 1-200 printable ASCII characters (a UUID fits). */
export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;

export function idempotencyLookup(intakeName: string, key: string): string {
  return createHash('sha256').update(`${intakeName}\n${key}`, 'utf8').digest('hex');
}

/** The body's fingerprint: an HMAC keyed with the idempotency key (see the module comment). */
export function bodyFingerprint(key: string, canonicalBody: string): string {
  return createHmac('sha256', key).update(canonicalBody, 'utf8').digest('hex');
}

type Entry = {
  fingerprint: string;
  /** Settles with the item id once the first request stored it (a concurrent retry waits on it). */
  itemId: Promise<string>;
  /** Epoch seconds when the entry expires. */
  expires: number;
};

export type Claim =
  | { kind: 'new'; settle(itemId: string): void; fail(): void }
  | { kind: 'replay'; itemId: Promise<string> }
  | { kind: 'conflict' };

export class IdempotencyLedger {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly now: () => number = () => Date.now() / 1000,
    private readonly ttlSeconds = IDEMPOTENCY_TTL_SECONDS,
    private readonly maxEntries = IDEMPOTENCY_MAX_ENTRIES,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /**
   * Claims `lookup` for a request whose body has `fingerprint`. `new`: the caller stores the item and
   * settles (or fails, which frees the key for a retry); `replay`: the item id of the first request;
   * `conflict`: the key was used with another body.
   */
  claim(lookup: string, fingerprint: string): Claim {
    this.expire();
    const existing = this.entries.get(lookup);
    if (existing) {
      if (existing.fingerprint !== fingerprint) return { kind: 'conflict' };
      return { kind: 'replay', itemId: existing.itemId };
    }
    let settle!: (id: string) => void;
    let fail!: (error: Error) => void;
    const itemId = new Promise<string>((resolve, reject) => {
      settle = resolve;
      fail = reject;
    });
    itemId.catch(() => undefined); // a failed first request is reported to its own client, not here
    this.entries.set(lookup, { fingerprint, itemId, expires: this.now() + this.ttlSeconds });
    return {
      kind: 'new',
      settle,
      fail: () => {
        this.entries.delete(lookup);
        fail(new Error('the first request with this idempotency key failed'));
      },
    };
  }

  /** Records a stored item (the ledger is rebuilt from the store when the server starts). */
  remember(lookup: string, fingerprint: string, itemId: string, receivedAt: number): void {
    const expires = receivedAt + this.ttlSeconds;
    if (expires <= this.now() || this.entries.has(lookup)) return;
    this.entries.set(lookup, { fingerprint, itemId: Promise.resolve(itemId), expires });
  }

  private expire(): void {
    const t = this.now();
    // Insertion order is (nearly) expiry order: stop at the first live entry.
    for (const [lookup, entry] of this.entries) {
      if (entry.expires > t && this.entries.size < this.maxEntries) break;
      this.entries.delete(lookup);
    }
  }
}
