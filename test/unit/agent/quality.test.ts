import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkReplyQuality,
  createSpeller,
  QUALITY_CHECKS,
  type QualityContext,
} from '../../../shared/agent/quality';
import { rewardFeedbackReply } from '../../../shared/agent/reward';
import { SLOTS } from '../../../shared/data/families';
import { generateFeedback } from '../../../shared/data/generator';
import { buildSftCorpus } from '../../../shared/data/sft';
import { createGovernancePipeline } from '../../../shared/governance';

// Each check on replies of the kind the policies draft: a good one passes, the bad ones fail the named
// check and say what they found. The bad replies are taken from, or modelled on, GRPO samples read in
// issue 17 ("frustrating that is frustrating that is", "searchies", "andPERSON%", "you you").

const COMPLAINT: QualityContext = {
  feedback: 'The contact form just spins forever after I press send. Tried twice on Firefox.',
  sentiment: 'negative',
  category: 'website-bug',
};
const PRAISE: QualityContext = {
  feedback: 'I loved the new research page, it finally explains the boundary rules clearly.',
  sentiment: 'positive',
  category: 'positive',
};

const GOOD_COMPLAINT =
  'I am sorry the contact form kept spinning, and thank you for telling us. We have logged this as a site ' +
  'bug and will try to reproduce it in Firefox. If it happens again, a note of the time would help us ' +
  'trace it. Tractatus is a research prototype, and our findings so far are preliminary. We appreciate ' +
  'your patience.';
const GOOD_PRAISE =
  'Thank you for the kind words about the research page; it means a lot to a small team. Feedback like ' +
  'this tells us which parts of the work are useful. Our results are preliminary, so treat what you see ' +
  'as something we are still learning about. Thanks again for taking the time.';

const check = (reply: string, context = COMPLAINT) => checkReplyQuality(reply, context);
const findingsOf = (reply: string, context = COMPLAINT) =>
  check(reply, context).findings.map((f) => `${f.check}: ${f.detail}`);

describe('sendability checks', () => {
  it('passes well-formed replies, with British and American spelling', () => {
    expect(check(GOOD_COMPLAINT)).toEqual({ sendable: true, failed: [], findings: [] });
    expect(check(GOOD_PRAISE, PRAISE).sendable).toBe(true);
    expect(
      check('We apologise for the behaviour of the form. We apologize for the behavior too.').sendable,
    ).toBe(true);
    // The project's own terms and the feedback's words ("Firefox" is in neither dictionary list as typed here).
    expect(
      check('The CrossReferenceValidator and the Tractatus docs are on our list. Thanks for the note.')
        .failed,
    ).toEqual([]);
  });

  it('spelling: non-words fail, words of the feedback pass', () => {
    expect(findingsOf('Thank you for the searchies on the newcom page. We will look.')).toEqual([
      'spelling: searchies',
      'spelling: newcom',
    ]);
    expect(check('Thank you for the note about persistance. We will fix it.').failed).toEqual(['spelling']);
    expect(
      check('Thank you for the note about persistance. We will fix it.', {
        ...COMPLAINT,
        feedback: 'Typo: persistance on the docs page.',
      }).failed,
    ).toEqual([]);
    // A word the policy did not finish: "contact, form and s".
    expect(findingsOf('You mentioned contact, form and s. We have noted them.')).toEqual(['spelling: s']);
  });

  it('stutter: a word or a phrase said twice in a row, within a clause', () => {
    expect(findingsOf('Thank you you for the report. We will make make it right.')).toEqual([
      'stutter: you you',
      'stutter: make make',
    ]);
    expect(
      findingsOf('I understand how frustrating that is frustrating that is, and we will look.'),
    ).toContain('stutter: frustrating that is frustrating that is');
    // Across a sentence boundary it is two sentences, not a stutter; "had had" is English.
    expect(
      check('We are grateful to you. You can reply at any time. The form had had a bug.').failed,
    ).toEqual([]);
  });

  it('repetition: a phrase three times, or a content word five times', () => {
    const looped =
      'We have logged the form, and we have logged the page, and we have logged the link. Thanks.';
    expect(findingsOf(looped)).toContain('repetition: "we have logged" three times');
    expect(check('The form form, site, site. Form again. The form is form-like; form.').failed).toContain(
      'repetition',
    );
  });

  it('repeated-sentence: the same sentence twice, whatever its case and punctuation', () => {
    const twice = `${GOOD_COMPLAINT} We appreciate your patience!`;
    expect(findingsOf(twice)).toEqual(['repeated-sentence: We appreciate your patience!']);
  });

  it('stray-characters: markup, replacement and control characters, unbalanced pairs', () => {
    expect(findingsOf('Thank you for the newcom{ note. We will look.')).toEqual([
      'spelling: newcom',
      'stray-characters: {',
    ]);
    expect(check('Thanks \uFFFD for the note. We will look.').findings).toEqual([
      { check: 'stray-characters', detail: 'U+FFFD' },
    ]);
    expect(check('Thanks (for the note. We will look.').failed).toEqual(['stray-characters']);
    expect(check('Thanks for the "note. We will look.').failed).toEqual(['stray-characters']);
    expect(check('Our figure was 40 % [NEEDS VERIFICATION] last year. We will look.').failed).toEqual([]);
    expect(findingsOf('We fixed it % of the time. We will look.')).toEqual(['stray-characters: %']);
  });

  it('placeholder: whole or broken redaction placeholders', () => {
    expect(findingsOf('Thank you, <PERSON_1>, for the note. We will look.')).toEqual([
      'placeholder: <PERSON_1>',
    ]);
    expect(check('Thank you for the note andPERSON% about it. We will look.').failed).toEqual(
      expect.arrayContaining(['placeholder']),
    );
  });

  it('sentence-shape: starts mid-clause, no final stop, run-ons, one-word fragments, word lists', () => {
    expect(findingsOf('Thank you for the note. and we will look at the form. We appreciate it.')).toEqual([
      'sentence-shape: starts mid-clause: "and we will look at the form."',
    ]);
    expect(check('Thank you for the note about the form and we will look').failed).toEqual([
      'sentence-shape',
    ]);
    expect(check(`${'We will look at the form and '.repeat(9)}thank you.`).failed).toContain(
      'sentence-shape',
    );
    expect(check('Thank you. Form. We will look.').failed).toEqual(['sentence-shape']);
    expect(check('Thanks. Sorry. We will look.').failed).toEqual([]);
    expect(
      check('Papers message profit guide preliminary limitations openly research prototype message issue.')
        .failed,
    ).toContain('sentence-shape');
  });

  it('tone-contradiction: an apology to praise, thanks for kind words to a complaint', () => {
    expect(findingsOf('I understand how frustrating that is. Thank you for writing.', PRAISE)).toEqual([
      'tone-contradiction: "frustrating" in reply to praise',
    ]);
    expect(findingsOf('Thank you for the kind words about the form. We will look.')).toEqual([
      'tone-contradiction: "kind words" in reply to a complaint',
    ]);
    // Without a category, governance's sentiment decides.
    expect(check('Sorry to hear that. We will look.', { ...PRAISE, category: undefined }).failed).toEqual([
      'tone-contradiction',
    ]);
    expect(check('Sorry to hear that. We will look.').failed).toEqual([]);
  });

  it('names every check it runs, and an empty reply is not sendable', () => {
    expect(new Set(QUALITY_CHECKS).size).toBe(8);
    expect(check('   ').failed).toEqual(['sentence-shape']);
  });

  it('every word of the generator’s slots is allowed, except the typos it plants on purpose', () => {
    for (const [slot, values] of Object.entries(SLOTS)) {
      for (const value of values) {
        const failed = check(`We read about ${value} today.`, { ...COMPLAINT, feedback: '' }).failed;
        expect([slot, value, failed]).toEqual([slot, value, slot === 'typo' ? ['spelling'] : []]);
      }
    }
  });

  it('a speller from given word lists accepts their words and their affixed forms', () => {
    const speller = createSpeller('SET UTF-8\nSFX S Y 1\nSFX S 0 s .\n', ['2\nreply/S\nform\n', '1\nform\n']);
    expect(speller.correct('replies')).toBe(false);
    expect(speller.correct('replys')).toBe(true);
    expect(speller.correct('form')).toBe(true);
    expect(speller.correct('forms')).toBe(false);
  });
});

describe('the reward and the checks', () => {
  const governance = createGovernancePipeline();
  const items = generateFeedback({ count: 120 });
  const corpus = buildSftCorpus(items, { governance, badShare: 0 });
  const verdicts = items.map((item) => governance.govern(item.text, 'feedback'));

  it('every reference reply of the SFT corpus is sendable', () => {
    const failing = corpus
      .map((ex, i) => ({
        ex,
        q: checkReplyQuality(ex.reply, {
          feedback: verdicts[i].redacted,
          sentiment: verdicts[i].sentiment.label,
          category: items[i].category,
        }),
      }))
      .filter(({ q }) => !q.sendable);
    expect(failing.map(({ ex, q }) => [ex.id, q.findings])).toEqual([]);
  });

  it('no reply that fails a check outscores the same reply without the failure', () => {
    // Defects that leave every weighted term as it was: a sentence started in lower case, a stray brace.
    const defects = [
      (r: string) => r.replace(/(\. )([A-Z])/, (_, stop: string, c: string) => stop + c.toLowerCase()),
      (r: string) => r.replace(/\.$/, ' }.'),
    ];
    fc.assert(
      fc.property(fc.integer({ min: 0, max: corpus.length - 1 }), fc.integer({ min: 0, max: 1 }), (k, d) => {
        const score = (reply: string) =>
          rewardFeedbackReply(reply, items[k], {
            feedback: verdicts[k],
            reply: governance.govern(reply, 'response'),
          });
        const clean = score(corpus[k].reply);
        const broken = score(defects[d](corpus[k].reply));
        expect(broken.quality.sendable).toBe(false);
        // Same terms, so exactly the clean score halved per failed check.
        expect(broken.primary).toBeCloseTo(clean.primary * 0.5 ** broken.quality.failed.length, 12);
        if (clean.primary > 0) expect(broken.primary).toBeLessThan(clean.primary);
      }),
      { numRuns: 60 },
    );
  });
});
