import type { PiiType } from '../governance/types';
import { DETAILS, FAMILIES, SLOTS, type TemplateFamily } from './families';
import { novelSlots } from './novel-slots';
import { samplePii } from './pii';
import { createDatasetRandom, hashString, type Random } from '../random';
import type { DatasetItem, Split } from './schema';
import { assignSplits } from './splits';

// The seeded feedback generator. Same seed, same options → the same items in the same order, in a
// browser, a worker or Node. Variety comes from the template families, their slots, extra detail
// sentences (lengths from a handful of words to well over a hundred), an occasional opener, and
// personal data spliced in at a controlled rate.

export interface GenerateOptions {
  seed?: number;
  /** Number of items (default 2,400). */
  count?: number;
  /** Share of items carrying personal data (default 0.3). */
  piiShare?: number;
  /** Share of families held out for validation and test (default 0.15 each). */
  valShare?: number;
  testShare?: number;
  /**
   * Share of *training* items whose noun slots are drawn from a large word list instead of the
   * families' short pools (default 0; see novel-slots.ts). Validation and test items never change.
   */
  novelShare?: number;
}

export const DEFAULT_GENERATE_OPTIONS = {
  seed: 7,
  count: 2400,
  piiShare: 0.3,
  valShare: 0.15,
  testShare: 0.15,
  novelShare: 0,
} as const;

const OPENERS: Record<DatasetItem['metadata']['sentiment'], readonly string[]> = {
  negative: ['Hi.', 'Hello,', 'Not happy.', 'Quick complaint.', 'Hi team,'],
  neutral: ['Hi,', 'Hello.', 'Question:', 'Hi there.', 'Good morning,'],
  positive: ['Hi!', 'Hello team,', 'Just a note:', 'Hey there,'],
};

/** Fills `{slot}` and `{slot2}` placeholders; `{slot2}` always differs from `{slot}`. */
export function fillTemplate(template: string, slots: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = slots[name];
    if (value === undefined) throw new Error(`template slot {${name}} has no value`);
    return value;
  });
}

export function drawSlots(family: TemplateFamily, random: Random): Record<string, string> {
  const names = new Set<string>();
  for (const text of [...family.templates, family.subject]) {
    for (const m of text.matchAll(/\{(\w+)\}/g)) names.add(m[1]);
  }
  const slots: Record<string, string> = {};
  // Draw base slots first so `{x2}` can avoid the value chosen for `{x}`.
  const ordered = [...names].sort((a, b) => Number(/\d$/.test(a)) - Number(/\d$/.test(b)));
  for (const name of ordered) {
    const base = name.replace(/\d$/, '');
    const pool = SLOTS[base];
    if (!pool) throw new Error(`family ${family.id}: unknown slot {${name}}`);
    const options = base !== name ? pool.filter((v) => v !== slots[base]) : pool;
    slots[name] = random.pick(options);
  }
  return slots;
}

function composeText(family: TemplateFamily, slots: Record<string, string>, pii: string[], random: Random) {
  const parts: string[] = [];
  if (random.chance(0.3)) parts.push(random.pick(OPENERS[family.sentiment]));
  parts.push(fillTemplate(random.pick(family.templates), slots));
  // Lengths: most items carry 0–2 details, a tail carries up to 7 (long, rambling feedback).
  const details = random.chance(0.15) ? random.int(4, 8) : random.int(0, 3);
  const pool = random.shuffle(DETAILS[family.sentiment]);
  for (let i = 0; i < details && i < pool.length; i++) parts.push(pool[i]);
  for (const sentence of pii) parts.splice(random.int(1, parts.length + 1), 0, sentence);
  return parts.join(' ');
}

export function generateFeedback(options: GenerateOptions = {}): DatasetItem[] {
  const o = { ...DEFAULT_GENERATE_OPTIONS, ...options };
  if (!Number.isInteger(o.count) || o.count < 1)
    throw new Error(`count must be a positive integer, got ${o.count}`);
  if (!(o.piiShare >= 0 && o.piiShare <= 1)) throw new Error(`piiShare must be in [0, 1], got ${o.piiShare}`);
  if (!(o.novelShare >= 0 && o.novelShare <= 1))
    throw new Error(`novelShare must be in [0, 1], got ${o.novelShare}`);
  const splits = assignSplits(FAMILIES, { seed: o.seed, valShare: o.valShare, testShare: o.testShare });
  const random = createDatasetRandom(o.seed);
  const families = random.shuffle(FAMILIES);
  const seen = new Set<string>();
  const items: DatasetItem[] = [];
  let attempts = 0;
  while (items.length < o.count) {
    // Round-robin over families keeps categories and sentiments balanced at any count.
    const family = families[items.length % families.length];
    const itemSeed = hashString(`${o.seed}:${family.id}:${attempts++}`);
    // The item as the templates draw it. Dedupe runs on this text, so novel slots (below) never change
    // which attempts are kept, and items without them are the same with or without the option.
    const draw = (withSlots?: (drawn: Record<string, string>) => Record<string, string>) => {
      const itemRandom = createDatasetRandom(itemSeed);
      const drawn = drawSlots(family, itemRandom);
      const slots = withSlots ? withSlots(drawn) : drawn;
      const snippets = itemRandom.chance(o.piiShare) ? samplePii(itemRandom) : [];
      const sentences = snippets.map((s) => s.sentence);
      return { slots, snippets, text: composeText(family, slots, sentences, itemRandom) };
    };
    const base = draw();
    // Short families (gibberish) repeat quickly; a duplicate is redrawn, with a bound so tiny
    // template pools cannot loop forever.
    if (seen.has(base.text) && attempts < o.count * 20) continue;
    seen.add(base.text);
    const split: Split = splits.get(family.id)!;
    const novelRandom = createDatasetRandom(hashString(`${o.seed}:novel:${itemSeed}`));
    const { slots, snippets, text } =
      split === 'train' && novelRandom.chance(o.novelShare)
        ? draw((drawn) => novelSlots(drawn, novelRandom))
        : base;
    items.push({
      id: `fb-${String(items.length + 1).padStart(5, '0')}`,
      text,
      category: family.category,
      locale: 'en',
      metadata: {
        family: family.id,
        split,
        sentiment: family.sentiment,
        pii: snippets.map((s) => s.type as PiiType),
        valuesQuestion: family.valuesQuestion === true,
        slots,
      },
    });
  }
  return items;
}

export function familyById(id: string): TemplateFamily | undefined {
  return FAMILIES.find((f) => f.id === id);
}
