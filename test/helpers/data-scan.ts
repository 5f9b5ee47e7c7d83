// Scans a data folder byte by byte for text that must never be stored (issue 20: the intake's
// submitted e-mail addresses and phone numbers), SQLite files and their WAL included.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Every file under `dir`, recursively. */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** `file: needle` for each file under `dir` whose bytes contain a needle (as UTF-8 or UTF-16LE). */
export function filesContaining(dir: string, needles: readonly string[]): string[] {
  const found: string[] = [];
  for (const file of filesUnder(dir)) {
    const bytes = readFileSync(file);
    for (const needle of needles)
      if (bytes.includes(Buffer.from(needle, 'utf8')) || bytes.includes(Buffer.from(needle, 'utf16le')))
        found.push(`${file}: ${needle}`);
  }
  return found;
}

/** A test visitor's contact details, and the forms in which they could leak. */
export const VISITOR_EMAIL = 'jane.roe@example.org';
export const VISITOR_PHONE = '+44 20 7946 0958';
export const VISITOR_SECRETS = [
  VISITOR_EMAIL,
  'jane.roe',
  VISITOR_PHONE,
  '7946 0958',
  '79460958',
  '2079460958',
];
