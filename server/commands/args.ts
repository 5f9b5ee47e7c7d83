import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CliUsageError } from '../cli';

/** parseArgs with strict options whose mistakes become a one-line usage error, never a stack trace. */
export function parseCommandArgs<T extends NonNullable<ParseArgsConfig['options']>>(
  argv: string[],
  options: T,
) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false });
  } catch (error) {
    throw new CliUsageError((error as Error).message);
  }
}
