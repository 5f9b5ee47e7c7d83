// Named integer bounds for seeds and 32-bit generator state.

/** 2^32: the number of distinct 32-bit values; a uint32 divided by it is uniform in [0, 1). */
export const UINT32_RANGE = 2 ** 32;

/** 2^32 − 1, the largest uint32. */
export const MAX_UINT32 = UINT32_RANGE - 1;

/**
 * The largest seed that means something of its own: every generator here reduces its seed to 32 bits
 * (`>>> 0`), so seed and seed + 2^32 give the same stream. Validate user-supplied seeds against it.
 */
export const MAX_SEED = MAX_UINT32;
