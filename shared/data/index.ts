// shared/data: the feedback dataset — schema, seeded generator, family splits, SFT corpus, JSON Lines.
export { FAMILIES, SLOTS, type TemplateFamily } from './families';
export { DEFAULT_GENERATE_OPTIONS, type GenerateOptions, generateFeedback } from './generator';
export { JsonlError, type JsonlIssue, parseJsonl, parseJsonlStrict, toJsonl } from './jsonl';
export { DatasetItem, DatasetItemMetadata, ReplyFlaw, SftExample, Split } from './schema';
export { addFlaws, buildSftCorpus, DEFAULT_BAD_SHARE, feedbackSubject, writeReferenceReply } from './sft';
export { assignSplits } from './splits';
