// Ids as Agent Lightning makes them: a kind prefix and random base-36 characters.
// crypto.getRandomValues exists in browsers, workers and Node ≥ 19 alike.

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

function randomChars(n: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(n));
  let out = '';
  // 252 = 7 * 36: values above it would bias the alphabet, so they are rerolled.
  for (const b of bytes) out += ALPHABET[b < 252 ? b % 36 : Math.floor(Math.random() * 36)];
  return out;
}

function randomHex(bytes: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) =>
    b.toString(16).padStart(2, '0'),
  ).join('');
}

export const newRolloutId = () => `ro-${randomChars(12)}`;
export const newAttemptId = () => `at-${randomChars(8)}`;
export const newResourcesId = () => `rs-${randomChars(12)}`;
/** OpenTelemetry ids: 16 bytes for a trace, 8 for a span, lowercase hex. */
export const newTraceId = () => randomHex(16);
export const newSpanId = () => randomHex(8);
