// The project's own words that an English dictionary lacks: the framework's name, its components, and
// the technical terms of the generator's slots (shared/data/families.ts, less the `typo` slot, whose
// misspellings are the point). Built from the product, never from evaluation items; a unit test keeps
// it complete for the slots. Lower case; the spelling check compares lower-cased words.
export const PROJECT_TERMS: ReadonlySet<string> = new Set(
  [
    'Tractatus',
    'BoundaryEnforcer',
    'ContextPressureMonitor',
    'CrossReferenceValidator',
    'InstructionPersistenceClassifier',
    'MetacognitiveVerifier',
    'PluralisticDeliberationOrchestrator',
    // Features, topics, tools, formats and models the generator's feedback names.
    'changelog',
    'CSV',
    'JSON',
    'Jupyter',
    'Kubernetes',
    'LangChain',
    'Māori',
    'Qwen',
    'reo',
    'RSS',
    'SDK',
    'te',
    'TinyLlama',
    'validator',
    'webhooks',
    '7B',
  ].map((term) => term.toLowerCase()),
);
