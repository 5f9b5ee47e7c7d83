import isEmail from 'validator/es/lib/isEmail';
import type { PiiFinding } from '../types';
import { finding, type Recognizer } from './recognizer';

// Candidates are grown outwards from each '@' over a bounded number of characters, so a text of
// thousands of '@' or one long word costs linear time (a regex like /[\w.]+@/ would backtrack
// quadratically over a long run with no '@'). validator's isEmail then decides.

const LOCAL = /[A-Za-z0-9._%+'-]/;
const DOMAIN = /[A-Za-z0-9.-]/;
const MAX_LOCAL = 64;
const MAX_DOMAIN = 253;

function findEmails(text: string): PiiFinding[] {
  const found: PiiFinding[] = [];
  let at = text.indexOf('@');
  let consumedUntil = 0;
  while (at >= 0) {
    let start = at;
    while (start > consumedUntil && at - start < MAX_LOCAL && LOCAL.test(text[start - 1])) start--;
    let end = at + 1;
    while (end < text.length && end - at <= MAX_DOMAIN && DOMAIN.test(text[end])) end++;
    // A sentence-final full stop or a hyphen is punctuation, not part of the address.
    while (end > at + 1 && (text[end - 1] === '.' || text[end - 1] === '-')) end--;
    while (start < at && text[start] === '.') start++;
    // Cheap shape check before the full validator: the domain needs a dot and a 2+ letter TLD.
    const tld = /\.[A-Za-z]{2,}$/.test(text.slice(at + 1, end));
    if (start < at && end > at + 1 && tld && isEmail(text.slice(start, end))) {
      found.push(finding('EMAIL', start, end, 0.99));
      consumedUntil = end;
    }
    at = text.indexOf('@', at + 1);
  }
  return found;
}

export const emailRecognizer: Recognizer = { type: 'EMAIL', find: (text) => findEmails(text) };
