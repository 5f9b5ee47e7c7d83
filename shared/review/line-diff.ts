// A reviewer's edit of a drafted reply, kept as a line diff in the decision span (the `diff` attribute of
// shared/review/contract.ts) so the next training round can see what a person changed. Replies are a few
// lines long, so a plain LCS table is cheap and the diff keeps every line (no hunks, no context limit).
// Each output line is "  " (kept), "- " (the draft's) or "+ " (the reviewer's), like a unified diff body.

/** The line diff of `before` → `after`; "" when they are equal. */
export function lineDiff(before: string, after: string): string {
  if (before === after) return '';
  const a = before.split('\n');
  const b = after.split('\n');
  // lcs[i][j]: length of the longest common subsequence of a[i..] and b[j..].
  const lcs = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--)
    for (let j = b.length - 1; j >= 0; j--)
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      out.push(`  ${a[i]}`);
      i++;
      j++;
    } else if (lcs[i + 1][j] >= lcs[i][j + 1]) {
      out.push(`- ${a[i++]}`);
    } else {
      out.push(`+ ${b[j++]}`);
    }
  }
  while (i < a.length) out.push(`- ${a[i++]}`);
  while (j < b.length) out.push(`+ ${b[j++]}`);
  return out.join('\n');
}

/** Applies a diff made by lineDiff to its `before`, giving `after` back (used to check a stored diff). */
export function applyLineDiff(diff: string): { before: string; after: string } {
  const before: string[] = [];
  const after: string[] = [];
  for (const line of diff.split('\n')) {
    const mark = line.slice(0, 2);
    const text = line.slice(2);
    if (mark !== '+ ') before.push(text);
    if (mark !== '- ') after.push(text);
  }
  return { before: before.join('\n'), after: after.join('\n') };
}
