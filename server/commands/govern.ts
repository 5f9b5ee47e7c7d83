import { createReadStream, createWriteStream } from 'node:fs';
import { access, constants } from 'node:fs/promises';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { Writable } from 'node:stream';
import { GovernInput } from '../../shared/governance/types';
import { CliUsageError, parseCommandArgs } from './args';

const HELP = `usage: edgelight govern [--in FILE|-] [--out FILE|-]

Runs the governance pipeline over JSON Lines. Each input line is
  {"id": string, "text": string, "kind"?: "feedback"|"response"}   (kind defaults to feedback)
and yields one output line, in order:
  {"id", "kind", "decision", "pii", "redacted", "sentiment", "violations", "boundaries", "reasons"}
A malformed line yields {"line": N, "error": "..."} and processing goes on; the exit code is then 2.
  --in    input file, or - for stdin (default -)
  --out   output file, or - for stdout (default -)`;

/** Why a line could not be governed, in one sentence (never a stack trace). */
function describeInputError(line: string): string | { input: GovernInput } {
  if (line.trim() === '') return 'empty line';
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    return `invalid JSON: ${(error as Error).message}`;
  }
  const parsed = GovernInput.safeParse(value);
  if (!parsed.success)
    return parsed.error.issues.map((i) => `${i.path.join('.') || 'line'}: ${i.message}`).join('; ');
  return { input: parsed.data };
}

async function writeLine(out: Writable, line: string): Promise<void> {
  if (!out.write(`${line}\n`)) await once(out, 'drain');
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    in: { type: 'string', default: '-' },
    out: { type: 'string', default: '-' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const inPath = values.in;
  const outPath = values.out;
  if (inPath !== '-') {
    try {
      await access(inPath, constants.R_OK);
    } catch {
      throw new CliUsageError(`cannot read input file '${inPath}'`);
    }
  }
  const input = inPath === '-' ? process.stdin : createReadStream(inPath, { encoding: 'utf8' });
  const output: Writable =
    outPath === '-' ? process.stdout : createWriteStream(outPath, { encoding: 'utf8' });
  if (outPath !== '-') {
    const opened = await Promise.race([
      once(output, 'open').then(() => undefined),
      once(output, 'error').then(([e]) => e as Error),
    ]);
    if (opened) throw new CliUsageError(`cannot write output file '${outPath}': ${opened.message}`);
  }

  // Loaded after the arguments are checked, so a usage mistake answers without loading the NLP models.
  const { createGovernancePipeline } = await import('../../shared/governance');
  const pipeline = createGovernancePipeline();
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let lineNumber = 0;
  let malformed = 0;
  for await (const raw of lines) {
    lineNumber++;
    const line = lineNumber === 1 ? raw.replace(/^\uFEFF/, '') : raw;
    const parsed = describeInputError(line);
    if (typeof parsed === 'string') {
      malformed++;
      await writeLine(output, JSON.stringify({ line: lineNumber, error: parsed }));
      continue;
    }
    const { id, text, kind } = parsed.input;
    await writeLine(output, JSON.stringify({ id, ...pipeline.govern(text, kind) }));
  }
  if (output !== process.stdout) {
    output.end();
    await once(output, 'finish');
  }
  if (malformed > 0) console.error(`edgelight govern: ${malformed} malformed line(s) of ${lineNumber}`);
  return malformed > 0 ? 2 : 0;
}
