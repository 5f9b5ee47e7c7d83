import { normalizeForRecognition } from '../normalize';
import type { PiiFinding, PiiType } from '../types';
import { addressRecognizer } from './address';
import { creditCardRecognizer } from './creditCard';
import { dateOfBirthRecognizer } from './dob';
import { emailRecognizer } from './email';
import { ibanRecognizer } from './iban';
import { ipRecognizer } from './ip';
import { nationalIdRecognizers } from './national-ids';
import { passportRecognizer } from './passport';
import { personRecognizer } from './person';
import { DEFAULT_PHONE_REGIONS, phoneRecognizer } from './phone';
import type { Recognizer } from './recognizer';
import { ssnRecognizer } from './ssn';

export type { Recognizer } from './recognizer';
export { DEFAULT_PHONE_REGIONS } from './phone';

export type DetectPiiOptions = {
  /** Findings scoring below this are dropped (Presidio's score threshold). */
  minScore?: number;
  /** Regions national phone numbers are tried against, in order. */
  phoneRegions?: readonly string[];
  /** Restrict detection to these types. */
  types?: readonly PiiType[];
};

export const DEFAULT_MIN_SCORE = 0.5;

export function defaultRecognizers(phoneRegions: readonly string[] = DEFAULT_PHONE_REGIONS): Recognizer[] {
  return [
    emailRecognizer,
    ibanRecognizer,
    creditCardRecognizer,
    ipRecognizer,
    ssnRecognizer,
    // Checksum-validated national ids, then cue-anchored passport numbers and birth dates, all
    // before phone numbers: phone windows skip digits these have claimed.
    ...nationalIdRecognizers,
    passportRecognizer,
    dateOfBirthRecognizer,
    phoneRecognizer(phoneRegions),
    addressRecognizer,
    personRecognizer,
  ];
}

/**
 * Keeps the best of overlapping findings: higher score first, then the longer span, then the
 * earlier one. The result is sorted by start offset.
 */
export function resolveOverlaps(findings: PiiFinding[]): PiiFinding[] {
  const ranked = [...findings].sort(
    (a, b) => b.score - a.score || b.end - b.start - (a.end - a.start) || a.start - b.start,
  );
  // `kept` stays sorted by start and non-overlapping, so one binary search finds the neighbours.
  const kept: PiiFinding[] = [];
  for (const f of ranked) {
    if (f.end <= f.start) continue;
    let lo = 0;
    let hi = kept.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (kept[mid].start < f.start) lo = mid + 1;
      else hi = mid;
    }
    const before = kept[lo - 1];
    const after = kept[lo];
    if ((before && before.end > f.start) || (after && after.start < f.end)) continue;
    kept.splice(lo, 0, f);
  }
  return kept;
}

const recognizerCache = new Map<string, Recognizer[]>();

/** Runs every recognizer over `text` and resolves overlaps. Offsets index into `text`. */
export function detectPii(text: string, options: DetectPiiOptions = {}): PiiFinding[] {
  const regions = options.phoneRegions ?? DEFAULT_PHONE_REGIONS;
  const key = regions.join(',');
  let recognizers = recognizerCache.get(key);
  if (!recognizers) {
    recognizers = defaultRecognizers(regions);
    recognizerCache.set(key, recognizers);
  }
  const minScore = options.minScore ?? DEFAULT_MIN_SCORE;
  const wanted = options.types ? new Set(options.types) : undefined;
  // Recognisers read the normalised text (NFKC, digits of every script, no zero-width characters,
  // spelled-out e-mail addresses); findings are mapped back to the original characters.
  const normalized = normalizeForRecognition(text);
  const all: PiiFinding[] = [];
  for (const r of recognizers) {
    if (wanted && !wanted.has(r.type)) continue;
    for (const f of r.find(normalized.text, all)) if (f.score >= minScore) all.push(f);
  }
  const kept = resolveOverlaps(all);
  return normalized.identity ? kept : kept.map((f) => ({ ...f, ...normalized.toOriginal(f.start, f.end) }));
}
