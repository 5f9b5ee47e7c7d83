import { NOVEL_PLURAL, NOVEL_SINGULAR } from './novel-words';
import type { Random } from '../random';

// Novel slot values: the generator's slot pools are short lists (ten pages, five typos), so a small
// policy trained on them learns to *recall* a page name rather than *copy* the one the feedback
// names, and on feedback written outside the templates it names the wrong page. Drawing a share of
// the training items' slots from ~2,300 plain nouns instead makes recall useless there: the only way
// to name the subject is to copy it from the prompt.

const singular = (random: Random) => random.pick(NOVEL_SINGULAR);
const plural = (random: Random) => random.pick(NOVEL_PLURAL);
const article = (word: string) => (/^[aeiou]/.test(word) ? 'an' : 'a');

const LONG_SINGULAR = NOVEL_SINGULAR.filter((w) => w.length >= 6);

/** A misspelling: one inner letter of a longer noun dropped. */
function typo(random: Random): string {
  const word = random.pick(LONG_SINGULAR);
  const at = random.int(1, word.length - 1);
  return word.slice(0, at) + word.slice(at + 1);
}

const NOVEL: Record<string, (random: Random) => string> = {
  page: (r) => (r.chance(0.5) ? singular(r) : `${singular(r)} ${singular(r)}`),
  feature: (r) => {
    const head = `${singular(r)} ${singular(r)}`;
    return `${article(head)} ${head}`;
  },
  topic: (r) => `${singular(r)} ${plural(r)}`,
  concept: (r) => `${singular(r)} ${singular(r)}`,
  paper: (r) => `${singular(r)} ${singular(r)} study`,
  term: singular,
  typo,
};

/** The slots with every noun-like one (page, feature, topic, concept, paper, term, typo) redrawn. */
export function novelSlots(slots: Record<string, string>, random: Random): Record<string, string> {
  const out: Record<string, string> = {};
  // Base slots come before their `{x2}` twins (drawSlots' order), so a twin can avoid its base.
  for (const [name, value] of Object.entries(slots)) {
    const base = name.replace(/\d$/, '');
    const draw = NOVEL[base];
    if (!draw) {
      out[name] = value;
      continue;
    }
    let next = draw(random);
    while (base !== name && next === out[base]) next = draw(random);
    out[name] = next;
  }
  return out;
}
