// The one string hash: 32-bit FNV-1a over UTF-16 code units.

/** FNV-1a's 32-bit offset basis. */
export const FNV_OFFSET_BASIS = 0x811c9dc5;
/** FNV-1a's 32-bit prime. */
export const FNV_PRIME = 0x01000193;

/**
 * 32-bit FNV-1a of `text` with `seed` (reduced to 32 bits) as its offset basis, as an unsigned integer:
 * a sub-seed keyed on a seed and a name. Hashes UTF-16 code units (`charCodeAt`), the same in every runtime.
 */
export function seededHash(seed: number, text: string): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME) >>> 0;
  return h;
}

/** 32-bit FNV-1a of `text`: sub-seeds from names, so adding a family or an item never reshuffles the others. */
export function hashString(text: string): number {
  return seededHash(FNV_OFFSET_BASIS, text);
}
