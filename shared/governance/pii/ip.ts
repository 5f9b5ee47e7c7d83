import isIP from 'validator/es/lib/isIP';
import type { PiiFinding } from '../types';
import { finding, type Recognizer, withContext, wordsBefore } from './recognizer';

// IPv4 dotted quads and IPv6 addresses, validated by validator's isIP. A dotted quad right after
// "version"/"v"/"release" is a version string, and after "section"/"chapter"/"§" a numbered part of
// a document, not an address.

const IPV4 = /(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?![\d]|\.\d)/g;
/** Runs of hex digits, colons and dots; one character class, so linear. Needs two colons to be v6. */
const IPV6 = /(?<![\w:.])[0-9A-Fa-f:.]{3,}/g;
const CONTEXT = new Set(['ip', 'address', 'ipv4', 'ipv6', 'server', 'host', 'from', 'login', 'logged']);
/** Words before a dotted quad that make it a version or a numbered part of a document, not an address. */
const VERSION_WORDS = new Set([
  'version',
  'v',
  'release',
  'build',
  'firmware',
  'ver',
  'section',
  'sec',
  'chapter',
  'clause',
  'paragraph',
  'para',
  'article',
  'art',
  'step',
  'rule',
  'item',
  'table',
  'figure',
  'fig',
  'appendix',
  'part',
  'page',
  'see',
]);

function findIps(text: string): PiiFinding[] {
  const found: PiiFinding[] = [];
  IPV4.lastIndex = 0;
  for (let m = IPV4.exec(text); m; m = IPV4.exec(text)) {
    if (!isIP(m[0], 4)) continue;
    const before = wordsBefore(text, m.index, 16);
    if (before.length > 0 && VERSION_WORDS.has(before[before.length - 1])) continue;
    // "v1.2.3.4" (glued), "§ 4.2.1.3"; reads two characters back, not the whole text before.
    const prev = text[m.index - 1];
    if (prev === 'v' || prev === 'V' || prev === '§' || (prev === ' ' && text[m.index - 2] === '§')) continue;
    found.push(
      finding('IP_ADDRESS', m.index, m.index + m[0].length, withContext(text, m.index, 0.85, CONTEXT)),
    );
  }
  IPV6.lastIndex = 0;
  for (let m = IPV6.exec(text); m; m = IPV6.exec(text)) {
    let candidate = m[0];
    if (candidate.indexOf(':') === candidate.lastIndexOf(':')) continue;
    // A sentence-final full stop or colon is punctuation.
    while (candidate.endsWith('.') || (candidate.endsWith(':') && !candidate.endsWith('::')))
      candidate = candidate.slice(0, -1);
    if (candidate.length < 3 || /[\w]/.test(text[m.index + m[0].length] ?? '')) continue;
    if (!isIP(candidate, 6)) continue;
    found.push(
      finding('IP_ADDRESS', m.index, m.index + candidate.length, withContext(text, m.index, 0.85, CONTEXT)),
    );
  }
  return found;
}

export const ipRecognizer: Recognizer = { type: 'IP_ADDRESS', find: (text) => findIps(text) };
