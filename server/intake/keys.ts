// Intake keys: what lets a website post feedback without the server's token. An intake key is a
// *publishable* key (it sits in the site's HTML, like a payment provider's publishable key): it names
// the site, authorises POST /v1/feedback and nothing else, and carries the browser origins that may use
// it. A browser request whose Origin is not on its key's list is refused, so another site cannot borrow
// the key from a visitor's browser; a non-browser client with the key can post, bounded by the rate
// limits, the admission queue and governance. Rotate a leaked key by serving a new one.
import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/** A key's name: it is stored with each item (never the key), so it must be a plain label. */
export const IntakeKeyName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'a key name is 1-64 characters of [A-Za-z0-9._-]');
/** At least 16 characters: guessing one at the rate limit must take longer than its lifetime. */
export const IntakeKeySecret = z
  .string()
  .regex(/^[\x21-\x7e]{16,256}$/, 'an intake key is 16-256 printable ASCII characters without spaces');

export const IntakeKeyConfig = z.object({
  name: IntakeKeyName,
  key: IntakeKeySecret,
  /** Browser origins (`https://site.example`) allowed to post with this key; none: server-side posts only. */
  origins: z.array(z.string()).default([]),
});
export type IntakeKeyConfig = z.input<typeof IntakeKeyConfig>;

/** A configured key as the routes see it: its name and origins, never the key itself. */
export interface IntakeKey {
  readonly name: string;
  readonly origins: ReadonlySet<string>;
}

/** `scheme://host[:port]` as a browser writes it in `Origin`; null for anything else (`null`, paths). */
export function normalOrigin(value: string): string | null {
  try {
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
    if (url.username || url.password) return null;
    return url.origin;
  } catch {
    return null;
  }
}

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

export class IntakeKeyError extends Error {}

/** The configured keys; lookups compare digests in constant time and never keep the keys in clear. */
export class IntakeKeys {
  private readonly entries: { key: IntakeKey; digest: Buffer }[] = [];

  constructor(configs: readonly IntakeKeyConfig[]) {
    const names = new Set<string>();
    const digests = new Set<string>();
    for (const raw of configs) {
      const parsed = IntakeKeyConfig.safeParse(raw);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new IntakeKeyError(
          `intake key '${String(raw.name)}': ${issue.path.join('.')} ${issue.message}`,
        );
      }
      const { name, key, origins } = parsed.data;
      if (names.has(name)) throw new IntakeKeyError(`intake key '${name}' is configured twice`);
      const d = digest(key);
      if (digests.has(d.toString('hex')))
        throw new IntakeKeyError(`intake key '${name}' has the same key as another one`);
      const normal = new Set<string>();
      for (const origin of origins) {
        const o = normalOrigin(origin);
        if (o === null || o !== origin.replace(/\/$/, ''))
          throw new IntakeKeyError(
            `intake key '${name}': origin '${origin}' is not scheme://host[:port] (http or https, no path)`,
          );
        normal.add(o);
      }
      names.add(name);
      digests.add(d.toString('hex'));
      this.entries.push({ key: { name, origins: normal }, digest: d });
    }
  }

  get size(): number {
    return this.entries.length;
  }

  /** The key whose secret is `given`, or null. Every entry is compared, so the time says nothing. */
  match(given: string | undefined): IntakeKey | null {
    if (!given) return null;
    const d = digest(given);
    let found: IntakeKey | null = null;
    for (const entry of this.entries) if (timingSafeEqual(d, entry.digest)) found = entry.key;
    return found;
  }

  /** Every origin some key allows: a CORS preflight does not carry the key, so it is answered for these. */
  allOrigins(): ReadonlySet<string> {
    const out = new Set<string>();
    for (const { key } of this.entries) for (const o of key.origins) out.add(o);
    return out;
  }
}

/**
 * `serve --intake-key NAME=KEY` (or `NAME=@FILE`: the key read from a file, so it is not in the
 * process list) and `--intake-origin NAME=ORIGIN[,ORIGIN...]` (repeatable) as key configs.
 */
export function parseIntakeFlags(
  keyFlags: readonly string[],
  originFlags: readonly string[],
  readKeyFile: (path: string) => string,
): IntakeKeyConfig[] {
  const configs = new Map<string, { name: string; key: string; origins: string[] }>();
  for (const flag of keyFlags) {
    const eq = flag.indexOf('=');
    if (eq <= 0)
      throw new IntakeKeyError(`--intake-key takes NAME=KEY or NAME=@FILE, got '${flag.slice(0, 40)}'`);
    const name = flag.slice(0, eq);
    let key = flag.slice(eq + 1);
    if (key.startsWith('@')) {
      try {
        key = readKeyFile(key.slice(1)).trim();
      } catch (error) {
        throw new IntakeKeyError(
          `--intake-key ${name}: cannot read ${key.slice(1)}: ${(error as Error).message}`,
        );
      }
    }
    if (configs.has(name)) throw new IntakeKeyError(`intake key '${name}' is configured twice`);
    configs.set(name, { name, key, origins: [] });
  }
  for (const flag of originFlags) {
    const eq = flag.indexOf('=');
    const name = eq > 0 ? flag.slice(0, eq) : '';
    const entry = configs.get(name);
    if (!entry)
      throw new IntakeKeyError(
        `--intake-origin takes NAME=ORIGIN[,ORIGIN] for a NAME given with --intake-key, got '${flag.slice(0, 80)}'`,
      );
    for (const origin of flag.slice(eq + 1).split(',')) if (origin.trim()) entry.origins.push(origin.trim());
  }
  const list = [...configs.values()];
  new IntakeKeys(list); // validates names, keys and origins now, with the flag's wording
  return list;
}
