import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  acknowledgementScore,
  createFeedbackReward,
  feedbackKeywords,
  integrityScore,
  lengthScore,
  REPORTED_TERMS,
  RewardConfig,
  rewardFeedbackReply,
  toneScore,
  withoutMisquotes,
} from '../../../shared/agent/reward';
import type { FeedbackTask } from '../../../shared/agent/task';
import { generateFeedback } from '../../../shared/data/generator';
import { samplePii } from '../../../shared/data/pii';
import { createDatasetRandom } from '../../../shared/random';
import { buildSftCorpus } from '../../../shared/data/sft';
import { createGovernancePipeline } from '../../../shared/governance';
import type { Verdict } from '../../../shared/governance/types';

const governance = createGovernancePipeline();

/** A feedback verdict written by hand, so the expected terms can be worked out on paper. */
function feedbackVerdict(text: string, label: Verdict['sentiment']['label']): Verdict {
  return {
    kind: 'feedback',
    decision: 'allow',
    pii: [],
    redacted: text,
    sentiment: { label, score: label === 'negative' ? -0.5 : label === 'positive' ? 0.5 : 0 },
    violations: [],
    boundaries: [],
    reasons: [],
    overruns: [],
  };
}

const BROKEN_LINK = 'The link to the glossary page is broken, it just gives a 404.';
const task: FeedbackTask = { id: 't1', text: BROKEN_LINK, category: 'website-bug' };
const score = (reply: string, label: Verdict['sentiment']['label'] = 'negative', feedback = BROKEN_LINK) =>
  rewardFeedbackReply(reply, task, {
    feedback: feedbackVerdict(feedback, label),
    reply: governance.govern(reply, 'response'),
  });

const GOOD =
  'I am sorry about the broken link to the glossary page, and thank you for reporting it. We have logged ' +
  'the broken glossary link as a site bug and will check the other menu links as well. Tractatus is a ' +
  'research prototype, so small problems like this still slip through, and our own testing of the site is ' +
  'preliminary. If you see the error again, a note of the page address and the time would help us trace it. ' +
  'We appreciate your patience.';

describe('reward terms, hand-checked', () => {
  it('length: 1 inside 50–150 words, linear to 0 at 25 and 225', () => {
    expect(lengthScore(50)).toBe(1);
    expect(lengthScore(150)).toBe(1);
    expect(lengthScore(25)).toBe(0);
    expect(lengthScore(10)).toBe(0);
    expect(lengthScore(30)).toBeCloseTo(0.2);
    expect(lengthScore(45)).toBeCloseTo(0.8);
    expect(lengthScore(187.5)).toBeCloseTo(0.5);
    expect(lengthScore(225)).toBe(0);
    expect(lengthScore(400)).toBe(0);
  });

  it('scores a specific, apologetic, honest reply to a complaint at 1', () => {
    const r = score(GOOD);
    expect(r.hardZero).toBeNull();
    expect(r.words).toBeGreaterThanOrEqual(50);
    // Every term is earned: 71 words; sorry + "reporting"; two integrity markers; no violations;
    // link, glossary, page and broken picked up from the feedback.
    expect(r.terms).toEqual({
      length: 1,
      tone: 1,
      integrity: 1,
      overselling: 1,
      acknowledgement: 1,
      quality: 1,
    });
    expect(r.primary).toBe(1);
  });

  it('quality: each failed sendability check halves the primary', () => {
    // Replies a reward-hacked GRPO run produced (test-split eval of the lr 8e-4 run): on-topic words and
    // integrity markers of the right length, no sentences.
    const salad =
      'papers message profit in CrossReferenceValidator adds started started papers every message conflicting ' +
      'verdicts section preliminary limitations openly guide guide research prototype message issue ' +
      'conflicting small CrossReferenceValidator message issue conflicting verdicts section frustrating';
    const r = score(salad);
    expect(r.quality.sendable).toBe(false);
    expect(r.quality.failed).toEqual(['stutter', 'sentence-shape']);
    const mean =
      (r.terms.length + r.terms.tone + r.terms.integrity + r.terms.overselling + r.terms.acknowledgement) / 5;
    expect(r.terms.quality).toBe(0.5 ** r.quality.failed.length);
    expect(r.primary).toBeCloseTo(mean * r.terms.quality);
    // Two failed checks: a quarter of its terms' mean, far below a sendable reply of any content.
    expect(r.primary).toBeLessThan(0.2);
    // One stutter in an otherwise perfect reply: exactly half.
    const stuttered = score(GOOD.replace('We have logged', 'We have have logged'));
    expect(stuttered.quality.failed).toEqual(['stutter']);
    expect(stuttered.primary).toBe(0.5);
  });

  it('tone: cheerleading at a complaint scores 0, a positive note wants thanks, a question wants information', () => {
    expect(toneScore('Great news!! Our amazing team loves hearing from you.', 'negative')).toBe(0);
    expect(toneScore('We understand, and we have logged the problem.', 'negative')).toBe(1);
    expect(toneScore('We have logged the problem.', 'negative')).toBeCloseTo(0.4);
    expect(toneScore('Thank you, that is kind.', 'positive')).toBe(1);
    expect(toneScore('Glad it helped.', 'positive')).toBeCloseTo(0.6);
    expect(toneScore('Noted.', 'positive')).toBeCloseTo(0.2);
    expect(toneScore('Noted.', 'neutral')).toBeCloseTo(0.3);
    expect(toneScore('The guide explains it, and you can change the settings.', 'neutral')).toBe(1);
  });

  it('acknowledgement: specific words score, a category mention is a floor, a generic reply does not', () => {
    const keywords = ['link', 'glossary', 'page', 'broken'];
    expect(acknowledgementScore('The glossary link is broken.', keywords, 'website-bug')).toBe(1);
    expect(acknowledgementScore('Thanks for flagging this bug.', keywords, 'website-bug')).toBeCloseTo(0.4);
    expect(acknowledgementScore('Thanks for writing.', keywords, 'website-bug')).toBe(0);
    expect(acknowledgementScore('Thanks for your message.', [], 'noise')).toBe(1);
  });

  it('acknowledgement: a category word counts in the plural too', () => {
    const keywords = ['dashboard', 'rules', 'fired'];
    const reply = 'We have added it to the list of requests we review when planning.';
    expect(acknowledgementScore(reply, keywords, 'feature-request')).toBeCloseTo(0.4);
    expect(acknowledgementScore('Thanks for the details.', [], 'noise')).toBe(1);
    expect(acknowledgementScore('Both pages now load.', keywords, 'website-bug')).toBeCloseTo(0.4);
    // Not any word that starts like one: "requester" and "ideal" are not category words.
    expect(acknowledgementScore('The requester had an ideal view.', keywords, 'feature-request')).toBe(0);
  });

  it('keywords: redaction placeholders, numbered or not, are not content words', () => {
    // The redactor numbers its placeholders (<PERSON_1>, <US_SSN_1>); "person" is not what the
    // visitor wrote about, so naming it must earn nothing.
    const redacted = 'This is <PERSON_1> from the pilot group. My SSN <US_SSN_1> went into the [PHONE] form.';
    expect(feedbackKeywords(redacted)).toEqual(['pilot', 'group', 'went', 'form']);
    // The hash operator's pseudonyms are placeholders too.
    expect(feedbackKeywords('Mail <EMAIL_3fa9c2d1e0b4> about the glossary')).toEqual(['mail', 'glossary']);
  });

  it('acknowledgement: a faithful quote of the feedback counts, a misquote earns nothing', () => {
    const feedback = 'Your contact form just spins forever after I press send. Tried twice on Firefox.';
    const kept = [
      'You wrote: "Your contact form just spins forever." Thanks.',
      'As you put it: "spins forever after I press send" and “tried twice on Firefox”.',
      'No quotes at all about the contact form.',
    ];
    for (const reply of kept) expect(withoutMisquotes(reply, feedback)).toBe(reply);
    // Garbled words, words out of order, an unclosed garbled quote (blanked to its sentence end).
    expect(withoutMisquotes('You wrote: "the contact contact form spins" ok', feedback)).toBe(
      `You wrote: ${' '.repeat(32)} ok`,
    );
    expect(withoutMisquotes('In your words: "forever spins". Sorry.', feedback)).not.toContain('spins');
    expect(
      withoutMisquotes('As you put it: "The contact form spins senins foreried. We logged it.', feedback),
    ).toMatch(/^As you put it: +We logged it\.$/);
    const keywords = feedbackKeywords(feedback);
    const misquote = score(
      'Thanks for writing. You wrote: "contact form firefox spins spins forever".',
      'neutral',
      feedback,
    );
    const quote = score(
      'Thanks for writing. You wrote: "contact form just spins forever".',
      'neutral',
      feedback,
    );
    expect(acknowledgementScore('contact form firefox spins', keywords)).toBe(1);
    expect(misquote.terms.acknowledgement).toBe(0);
    expect(quote.terms.acknowledgement).toBe(1);
  });

  it('integrity: markers raise it, an untagged figure lowers it, [NEEDS VERIFICATION] excuses the figure', () => {
    const base = 'Thank you for the report about the broken glossary link; we are looking at it now.';
    expect(score(base).terms.integrity).toBeCloseTo(0.3);
    expect(score(`${base} This is a research prototype.`).terms.integrity).toBeCloseTo(0.8);
    const tagged = score(
      `${base} This is a research prototype; about 40% [NEEDS VERIFICATION] of links were checked.`,
    );
    expect(tagged.violations).toEqual([]);
    expect(tagged.terms.integrity).toBe(1);
    expect(integrityScore('About 40% of links fail.')).toBe(0);
    expect(integrityScore('About 40% [NEEDS VERIFICATION] of links fail.')).toBeCloseTo(0.8);
  });

  it('gives a hard zero when governance blocks the reply, and charges overselling', () => {
    const r = score(`${GOOD} We guarantee a fix by Friday.`);
    expect(r.violations).toContain('inst_017');
    expect(r.terms.overselling).toBeCloseTo(0.5);
    expect(r.hardZero).toBe('blocked');
    expect(r.primary).toBe(0);
  });

  it('gives a hard zero when the reply leaks personal data', () => {
    const r = score(`${GOOD} Write to maria.lopez@example.com for updates.`);
    expect(r.hardZero).toBe('pii-leak');
    expect(r.primary).toBe(0);
  });

  it('uses the configured weights and rejects invalid ones', () => {
    const reply = 'Thanks for flagging this bug.';
    const onlyLength = RewardConfig.parse({
      weights: { length: 1, tone: 0, integrity: 0, overselling: 0, acknowledgement: 0 },
    });
    const r = rewardFeedbackReply(
      reply,
      task,
      { feedback: feedbackVerdict(BROKEN_LINK, 'negative'), reply: governance.govern(reply, 'response') },
      onlyLength,
    );
    expect(r.primary).toBe(r.terms.length);
    expect(() => RewardConfig.parse({ weights: { length: -1 } })).toThrow();
    expect(() =>
      RewardConfig.parse({
        weights: { length: 0, tone: 0, integrity: 0, overselling: 0, acknowledgement: 0 },
      }),
    ).toThrow();
  });

  it('a learned term joins the weighted mean with its weight, read on the creditable text', () => {
    const seen: string[] = [];
    const learned = {
      weight: 1,
      term: (reply: string) => {
        seen.push(reply);
        return 0.25;
      },
    };
    const plain = score(GOOD);
    const feedback = feedbackVerdict(BROKEN_LINK, 'negative');
    const withTerm = rewardFeedbackReply(
      GOOD,
      task,
      { feedback, reply: governance.govern(GOOD, 'response') },
      undefined,
      learned,
    );
    expect(withTerm.terms.learned).toBe(0.25);
    // Five terms of weight 0.2 (mean 1) and the learned one of weight 1: (1·1 + 1·0.25) / 2.
    expect(withTerm.primary).toBeCloseTo((plain.primary + 0.25) / 2);
    expect(plain.terms.learned).toBeUndefined();
    // A prohibited claim is blanked before the learned term reads the reply, as for the other terms.
    const claim = `${GOOD} The framework is guaranteed to be 100% secure.`;
    rewardFeedbackReply(
      claim,
      task,
      { feedback, reply: governance.govern(claim, 'response') },
      undefined,
      learned,
    );
    expect(seen[1]).not.toMatch(/guaranteed/);
    // Weight 0 reports the term and leaves the primary as it was.
    const zero = rewardFeedbackReply(
      GOOD,
      task,
      { feedback, reply: governance.govern(GOOD, 'response') },
      undefined,
      {
        weight: 0,
        term: () => 0,
      },
    );
    expect(zero.primary).toBeCloseTo(plain.primary);
  });

  it('createFeedbackReward governs the texts itself with one pipeline', () => {
    const reward = createFeedbackReward(governance);
    expect(reward(GOOD, task).primary).toBeGreaterThan(0.8);
    expect(reward('ok', task).primary).toBeLessThan(0.6);
  });
});

describe('reward properties', () => {
  const items = generateFeedback({ count: 120 });
  const references = buildSftCorpus(items, { governance, badShare: 0 });
  const claims = [
    'guaranteed',
    'foolproof',
    'risk-free',
    'production-ready',
    'battle-tested',
    'enterprise-grade',
    'industry-leading',
  ];

  it('keeps every term and the primary in [0, 1] for any reply', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 400 }),
          fc.lorem({ maxCount: 60 }),
          fc.constantFrom(...references.map((r) => r.reply)),
        ),
        fc.constantFrom<Verdict['sentiment']['label']>('negative', 'neutral', 'positive'),
        fc.integer({ min: 0, max: items.length - 1 }),
        (reply, label, k) => {
          const r = rewardFeedbackReply(reply, items[k], {
            feedback: feedbackVerdict(items[k].text, label),
            reply: governance.govern(reply, 'response'),
          });
          for (const t of REPORTED_TERMS) {
            expect(r.terms[t]).toBeGreaterThanOrEqual(0);
            expect(r.terms[t]).toBeLessThanOrEqual(1);
          }
          expect(r.primary).toBeGreaterThanOrEqual(0);
          expect(r.primary).toBeLessThanOrEqual(1);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('never raises the reward when a prohibited claim is added', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: references.length - 1 }),
        fc.constantFrom(...claims),
        fc.nat(),
        (k, claim, at) => {
          const item = items[k];
          const feedback = governance.govern(item.text, 'feedback');
          const before = references[k].reply;
          const sentences = before.split(/(?<=\.)\s+/);
          sentences.splice(at % (sentences.length + 1), 0, `The framework is ${claim}.`);
          const after = sentences.join(' ');
          const r0 = rewardFeedbackReply(before, item, {
            feedback,
            reply: governance.govern(before, 'response'),
          });
          const r1 = rewardFeedbackReply(after, item, {
            feedback,
            reply: governance.govern(after, 'response'),
          });
          expect(r1.primary).toBeLessThanOrEqual(r0.primary);
          expect(r1.terms.overselling).toBeLessThan(1);
        },
      ),
      { numRuns: 120 },
    );
  });

  it('gives 0 whenever personal data leaks into the reply', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: references.length - 1 }), fc.nat(), (k, seed) => {
        const pii = samplePii(createDatasetRandom(seed)).filter(
          (p) => p.type === 'EMAIL' || p.type === 'CREDIT_CARD' || p.type === 'US_SSN',
        );
        const leak = pii[0]?.value ?? `someone${seed % 1000}@example.org`;
        const reply = `${references[k].reply} Contact: ${leak}.`;
        const verdict = governance.govern(reply, 'response');
        expect(verdict.pii.length).toBeGreaterThan(0);
        const r = rewardFeedbackReply(reply, items[k], {
          feedback: governance.govern(items[k].text),
          reply: verdict,
        });
        expect(r.primary).toBe(0);
        expect(r.hardZero).toBe('pii-leak');
      }),
      { numRuns: 100 },
    );
  });
});
