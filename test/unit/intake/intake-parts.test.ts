// The intake's small parts (issue 20): key flags and their validation, the idempotency ledger, the
// bounded admission queue.
import { describe, expect, it } from 'vitest';
import { bodyFingerprint, IdempotencyLedger, idempotencyLookup } from '../../../server/intake/idempotency';
import { IntakeKeyError, IntakeKeys, parseIntakeFlags } from '../../../server/intake/keys';
import { AdmissionQueue, QueueFullError } from '../../../server/intake/queue';

describe('intake keys', () => {
  it('parses NAME=KEY, NAME=@FILE and per-key origins', () => {
    const files: Record<string, string> = { '/keys/blog': 'blog-key-from-file-0123\n' };
    const configs = parseIntakeFlags(
      ['shop=shop-key-0123456789ab', 'blog=@/keys/blog'],
      ['shop=https://shop.example,https://www.shop.example', 'blog=http://localhost:3000'],
      (path) => files[path] ?? '',
    );
    expect(configs).toEqual([
      {
        name: 'shop',
        key: 'shop-key-0123456789ab',
        origins: ['https://shop.example', 'https://www.shop.example'],
      },
      { name: 'blog', key: 'blog-key-from-file-0123', origins: ['http://localhost:3000'] },
    ]);
    const keys = new IntakeKeys(configs);
    expect(keys.match('shop-key-0123456789ab')?.name).toBe('shop');
    expect(keys.match('blog-key-from-file-0123')?.origins.has('http://localhost:3000')).toBe(true);
    expect(keys.match('shop-key-0123456789a')).toBeNull();
    expect(keys.match(undefined)).toBeNull();
    expect([...keys.allOrigins()].sort()).toEqual([
      'http://localhost:3000',
      'https://shop.example',
      'https://www.shop.example',
    ]);
  });

  it.each([
    [['shop=short'], [], /16-256/],
    [['shop'], [], /NAME=KEY/],
    [['bad name=shop-key-0123456789ab'], [], /key name/],
    [['a=shop-key-0123456789ab', 'a=other-key-0123456789ab'], [], /twice/],
    [['a=shop-key-0123456789ab', 'b=shop-key-0123456789ab'], [], /same key/],
    [['a=shop-key-0123456789ab'], ['b=https://x.example'], /--intake-key/],
    [['a=shop-key-0123456789ab'], ['a=https://x.example/path'], /scheme:\/\/host/],
    [['a=shop-key-0123456789ab'], ['a=*'], /scheme:\/\/host/],
  ])('refuses %j %j', (keys, origins, message) => {
    expect(() => parseIntakeFlags(keys, origins, () => '')).toThrow(IntakeKeyError);
    expect(() => parseIntakeFlags(keys, origins, () => '')).toThrow(message);
  });
});

describe('idempotency ledger', () => {
  it('replays the same body, refuses another, frees a key whose first request failed', async () => {
    const ledger = new IdempotencyLedger();
    const lookup = idempotencyLookup('shop', 'k1');
    const body = bodyFingerprint('k1', '["hello"]');
    const first = ledger.claim(lookup, body);
    expect(first.kind).toBe('new');
    const retry = ledger.claim(lookup, body);
    expect(retry.kind).toBe('replay');
    if (first.kind === 'new') first.settle('ro-1');
    if (retry.kind === 'replay') expect(await retry.itemId).toBe('ro-1');
    expect(ledger.claim(lookup, bodyFingerprint('k1', '["other"]')).kind).toBe('conflict');
    // The same idempotency key under another intake key is another submission.
    expect(ledger.claim(idempotencyLookup('blog', 'k1'), body).kind).toBe('new');

    const failing = ledger.claim(idempotencyLookup('shop', 'k2'), body);
    if (failing.kind === 'new') failing.fail();
    expect(ledger.claim(idempotencyLookup('shop', 'k2'), body).kind).toBe('new');
  });

  it('forgets entries after their time and past its size', () => {
    let now = 1000;
    const ledger = new IdempotencyLedger(() => now, 60, 3);
    for (const k of ['a', 'b', 'c', 'd']) ledger.claim(k, 'f');
    expect(ledger.size).toBe(3);
    now += 61;
    ledger.claim('e', 'f');
    expect(ledger.size).toBe(1);
  });

  it('keeps no key in clear: the fingerprint depends on the idempotency key', () => {
    expect(idempotencyLookup('shop', 'secret-key')).not.toContain('secret-key');
    expect(bodyFingerprint('k1', 'text')).not.toBe(bodyFingerprint('k2', 'text'));
  });
});

describe('admission queue', () => {
  it('runs one job at a time, keeps `capacity` waiting and refuses the rest with a wait', async () => {
    const queue = new AdmissionQueue(2);
    const order: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const jobs = [0, 1, 2].map((i) =>
      queue.run(async () => {
        if (i === 0) await gate;
        order.push(i);
        return i;
      }),
    );
    expect(queue.load).toBe(3);
    await expect(queue.run(() => 3)).rejects.toBeInstanceOf(QueueFullError);
    release();
    expect(await Promise.all(jobs)).toEqual([0, 1, 2]);
    expect(order).toEqual([0, 1, 2]);
    expect(queue.load).toBe(0);
    expect(queue.retryAfterSeconds()).toBeGreaterThanOrEqual(1);
  });
});
