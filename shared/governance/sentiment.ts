import { explainSentiment } from './sentiment/analyze';
import { predictProbabilities, type SentimentModel, wordFeatures } from './sentiment/model';
import modelJson from './sentiment/model.json';
import type { Sentiment } from './types';

// Feedback sentiment (method and figures: docs/governance.md, "Sentiment"). Two parts:
// - rules over AFINN-165 and a feedback lexicon (sentiment/analyze.ts): failure descriptions count as
//   complaints, negation, "but" clauses, questions and requests, irony, fixes;
// - a word model (sentiment/model.ts, logistic regression on the development set) that may only veto:
//   praise the model reads as a complaint (P(negative) > MODEL_VETO; not praise by the absence of a
//   failure or fault, "no problems at all", "not bad", nor praise after a contrast) and text the rules find no
//   evidence in that the model leans negative on (P(negative) > MODEL_NO_EVIDENCE) are negative, with
//   score -P(negative). Both thresholds were chosen by 5-fold cross-validation on the development set
//   (word model retrained per fold).
// Scores strictly within ±NEUTRAL_BAND are neutral.

export const NEUTRAL_BAND = 0.15;
export const MODEL_VETO = 0.6;
export const MODEL_NO_EVIDENCE = 0.7;

const model = modelJson as unknown as SentimentModel;

export function sentimentFromScore(score: number): Sentiment {
  const clamped = Math.max(-1, Math.min(1, Number.isFinite(score) ? score : 0));
  const rounded = Math.round(clamped * 1000) / 1000;
  const label = rounded >= NEUTRAL_BAND ? 'positive' : rounded <= -NEUTRAL_BAND ? 'negative' : 'neutral';
  return { label, score: rounded };
}

/** Sentiment score in [-1, 1]: the rules' score unless the word model vetoes it. */
export function feedbackSentimentScore(text: string): number {
  return sentimentScoreWith(model, text);
}

/** sentimentScore with another word model (the bench cross-validates with models trained per fold). */
export function sentimentScoreWith(model: SentimentModel, text: string): number {
  const detail = explainSentiment(text);
  const evidence = detail.evidence.positive + detail.evidence.negative > 0;
  if (detail.score < NEUTRAL_BAND && evidence) return detail.score;
  const negative = predictProbabilities(model, wordFeatures(detail))[0];
  // praise by the absence of a failure or fault ("no problems at all", "not bad") is the rules' to
  // read: the word model has no grasp of negation beyond a window
  // and so is praise after a contrast ("crashed at first, but great since")
  const ruled = detail.flags.includes('absence') || detail.evidence.contrast;
  if (detail.score >= NEUTRAL_BAND && negative > MODEL_VETO && !ruled) return -negative;
  if (!evidence && negative > MODEL_NO_EVIDENCE) return -negative;
  return detail.score;
}

export function analyzeSentiment(text: string): Sentiment {
  return sentimentFromScore(feedbackSentimentScore(text));
}
