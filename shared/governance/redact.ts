import { type DetectPiiOptions, detectPii, resolveOverlaps } from './pii';
import { isWordChar } from './pii/recognizer';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { type PiiFinding, PiiType, type RedactionOperator } from './types';

// Redaction replaces each PII span with a typed placeholder (`<EMAIL_1>`; the same value keeps the
// same number within one text), a mask of the same length, or a keyed hash pseudonym
// (`<EMAIL_3fa9c2d1e0b4>`: the first 12 hex digits of HMAC-SHA-256 keyed with the salt over
// "TYPE\0value", from @noble/hashes, audited; deterministic for a given key). Other whole-word occurrences of a detected value are replaced too, so a
// value recognised once is not left elsewhere. Redaction is idempotent: placeholders are never
// detected as PII, and numbering continues after placeholders already in the text.

export type RedactOptions = { operator?: RedactionOperator; salt?: string };

const PLACEHOLDER = new RegExp(`<(${PiiType.options.join('|')})_(\\d+)>`, 'g');
const HASH_HEX_CHARS = 12;

/** The first HASH_HEX_CHARS hex digits of HMAC-SHA-256(key, "TYPE\0value"). */
export function pseudonym(key: Uint8Array, type: string, value: string): string {
  return bytesToHex(hmac(sha256, key, utf8ToBytes(`${type}\u0000${value}`))).slice(0, HASH_HEX_CHARS);
}

/** Bounds the repeat search (each distinct value is one scan of the text). */
const MAX_REPEAT_VALUES = 64;

/**
 * Adds a finding for every other whole-word occurrence of a detected value: a phone number after
 * "order", or a name at a sentence start, is not recognised there but is the same value.
 */
function withRepeats(text: string, findings: PiiFinding[]): PiiFinding[] {
  const extra: PiiFinding[] = [];
  const seen = new Set<string>();
  for (const f of findings) {
    const value = text.slice(f.start, f.end);
    if (value.length < 3 || seen.has(value)) continue;
    if (seen.size >= MAX_REPEAT_VALUES) break;
    seen.add(value);
    for (let at = text.indexOf(value); at >= 0; at = text.indexOf(value, at + value.length)) {
      if (isWordChar(text[at - 1]) || isWordChar(text[at + value.length])) continue;
      extra.push({ ...f, start: at, end: at + value.length });
    }
  }
  // Detected spans and their repeats share a score; overlaps resolve to one of them.
  return extra.length ? resolveOverlaps([...findings, ...extra]) : findings;
}

/** Replaces the given findings (offsets into `text`) using the chosen operator. */
export function applyRedaction(text: string, findings: PiiFinding[], options: RedactOptions = {}): string {
  const operator = options.operator ?? 'placeholder';
  const key = utf8ToBytes(options.salt ?? 'edgelight');
  const spans = withRepeats(text, resolveOverlaps(findings));
  // Continue numbering after placeholders already present, per type.
  const counters = new Map<string, number>();
  for (const m of text.matchAll(PLACEHOLDER))
    counters.set(m[1], Math.max(counters.get(m[1]) ?? 0, Number(m[2])));
  const numbers = new Map<string, number>();
  let out = '';
  let cursor = 0;
  for (const f of spans) {
    const value = text.slice(f.start, f.end);
    let replacement: string;
    if (operator === 'mask') replacement = '*'.repeat(value.length);
    else if (operator === 'hash') replacement = `<${f.type}_${pseudonym(key, f.type, value)}>`;
    else {
      const key = `${f.type}\u0000${value}`;
      let n = numbers.get(key);
      if (n === undefined) {
        n = (counters.get(f.type) ?? 0) + 1;
        counters.set(f.type, n);
        numbers.set(key, n);
      }
      replacement = `<${f.type}_${n}>`;
    }
    out += text.slice(cursor, f.start) + replacement;
    cursor = f.end;
  }
  return out + text.slice(cursor);
}

/** The most detect-and-replace passes `redact` makes; the second is almost always empty. */
const MAX_PASSES = 3;

/**
 * Detects PII and redacts it, repeating while a pass still finds something (a replacement can
 * separate digits that were one run), so the result holds no detectable PII and redacting it
 * again changes nothing.
 */
export function redact(text: string, options: RedactOptions & DetectPiiOptions = {}): string {
  let current = text;
  let findings = detectPii(current, options);
  for (let pass = 0; pass < MAX_PASSES && findings.length > 0; pass++) {
    current = applyRedaction(current, findings, options);
    findings = detectPii(current, options);
  }
  return current;
}
