import { analyze, type WinkToken } from '../nlp';
import type { PiiFinding, PiiType } from '../types';
import { addressRecognizer } from './address';
import { creditCardRecognizer } from './creditCard';
import { emailRecognizer } from './email';
import { ibanRecognizer } from './iban';
import { ipRecognizer } from './ip';
import { personRecognizer } from './person';
import { DEFAULT_PHONE_REGIONS, phoneRecognizer } from './phone';
import type { Recognizer, RecognizerContext } from './recognizer';
import { ssnRecognizer } from './ssn';

export type { Recognizer, RecognizerContext } from './recognizer';
export { DEFAULT_PHONE_REGIONS } from './phone';

export type DetectPiiOptions = {
  /** Findings scoring below this are dropped (Presidio's score threshold). */
  minScore?: number;
  /** Regions national phone numbers are tried against, in order. */
  phoneRegions?: readonly string[];
  /** Restrict detection to these types. */
  types?: readonly PiiType[];
  /** Tokens already computed for this text (the pipeline shares them with sentiment). */
  tokens?: WinkToken[];
};

export const DEFAULT_MIN_SCORE = 0.5;

export function defaultRecognizers(phoneRegions: readonly string[] = DEFAULT_PHONE_REGIONS): Recognizer[] {
  return [
    emailRecognizer,
    ibanRecognizer,
    creditCardRecognizer,
    ipRecognizer,
    ssnRecognizer,
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
  const kept: PiiFinding[] = [];
  for (const f of ranked) {
    if (f.end <= f.start) continue;
    if (kept.every((k) => f.end <= k.start || f.start >= k.end)) kept.push(f);
  }
  return kept.sort((a, b) => a.start - b.start);
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
  let tokens = options.tokens;
  const context: RecognizerContext = {
    tokens: () => {
      tokens ??= analyze(text).tokens;
      return tokens;
    },
  };
  const minScore = options.minScore ?? DEFAULT_MIN_SCORE;
  const wanted = options.types ? new Set(options.types) : undefined;
  const all: PiiFinding[] = [];
  for (const r of recognizers) {
    if (wanted && !wanted.has(r.type)) continue;
    for (const f of r.find(text, context)) if (f.score >= minScore) all.push(f);
  }
  return resolveOverlaps(all);
}
