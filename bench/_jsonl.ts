import { readFileSync } from 'node:fs';

/** The records of a JSON Lines fixture, blank lines skipped. The fixtures are the project's own files. */
export function readJsonLines<T>(path: string): T[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as T);
}
