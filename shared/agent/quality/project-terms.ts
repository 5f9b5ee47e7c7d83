// The project's own words that an English dictionary lacks: the framework's name and its components.
// Built from the product (the generator's templates and the reference replies), never from evaluation
// items. Lower case; the spelling check compares lower-cased words.
export const PROJECT_TERMS: ReadonlySet<string> = new Set(
  [
    'Tractatus',
    'BoundaryEnforcer',
    'ContextPressureMonitor',
    'CrossReferenceValidator',
    'InstructionPersistenceClassifier',
    'MetacognitiveVerifier',
    'PluralisticDeliberationOrchestrator',
  ].map((term) => term.toLowerCase()),
);
