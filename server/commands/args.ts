// What every subcommand shares for reading its flags: the usage error and strict parsing, plus numeric
// flags checked by zod. Commands import this module, never server/cli.ts (the dispatcher loads them).
import { readFile } from 'node:fs/promises';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { z } from 'zod';

/**
 * A usage mistake: the CLI prints `edgelight <command>: <message>` and exits 2, without a stack trace.
 */
export class CliUsageError extends Error {}

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

/**
 * A rule for a numeric flag: a zod number schema whose description is the rule's wording in the usage
 * error ("--samples must be an integer ≥ 1, got 'x'"). Build one with the helpers below, or with
 * `z.number()…describe('…')`.
 */
export type FlagRule = z.ZodType<number>;

/** Any integer. */
export const integer = (): FlagRule => z.number().int().describe('an integer');
/** An integer ≥ `min`. */
export const integerAtLeast = (min: number): FlagRule =>
  z.number().int().min(min).describe(`an integer ≥ ${min}`);
/** An integer ≥ 1, worded "a positive integer". */
export const positiveInteger = (): FlagRule => z.number().int().min(1).describe('a positive integer');
/** A number ≥ `min`. */
export const numberAtLeast = (min: number): FlagRule => z.number().min(min).describe(`a number ≥ ${min}`);
/** A number ≥ 0, worded "a non-negative number". */
export const nonNegativeNumber = (): FlagRule => z.number().min(0).describe('a non-negative number');
/** A share: a number in [0, 1]. */
export const share = (): FlagRule => z.number().min(0).max(1).describe('a number in [0, 1]');

/**
 * The number a flag's text names, checked against `rule`; `undefined` (flag not given) stays
 * `undefined`. Blank text, NaN and ±Infinity are refused whatever the rule. `name` is the flag without
 * its dashes.
 */
export function flagNumber(rule: FlagRule, value: string, name: string): number;
export function flagNumber(rule: FlagRule, value: string | undefined, name: string): number | undefined;
export function flagNumber(rule: FlagRule, value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = rule.safeParse(value.trim() === '' ? Number.NaN : Number(value));
  if (!parsed.success)
    throw new CliUsageError(`--${name} must be ${rule.description ?? 'a number'}, got '${value}'`);
  return parsed.data;
}

/** A file a flag names, as text; an unreadable one is a usage error naming the flag and the reason. */
export async function readFlagFile(flag: string, path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new CliUsageError(`cannot read ${flag} ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
}
