import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  CliUsageError,
  flagNumber,
  integer,
  integerAtLeast,
  nonNegativeNumber,
  numberAtLeast,
  parseCommandArgs,
  positiveInteger,
  share,
} from '../../../server/commands/args';

const usageError = (f: () => unknown) => {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(CliUsageError);
    return (error as Error).message;
  }
  throw new Error('no usage error');
};

describe('flagNumber', () => {
  it('returns the number a flag names when the rule holds, undefined when the flag is absent', () => {
    expect(flagNumber(integerAtLeast(1), '4', 'samples')).toBe(4);
    expect(flagNumber(integer(), '-3', 'seed')).toBe(-3);
    expect(flagNumber(numberAtLeast(0), '0.7', 'temperature')).toBe(0.7);
    expect(flagNumber(share(), '1', 'bad-share')).toBe(1);
    expect(flagNumber(positiveInteger(), undefined, 'n')).toBeUndefined();
  });

  it('words a refusal as "--flag must be RULE, got \'text\'"', () => {
    expect(usageError(() => flagNumber(integerAtLeast(1), 'x', 'samples'))).toBe(
      "--samples must be an integer ≥ 1, got 'x'",
    );
    expect(usageError(() => flagNumber(integer(), '1.5', 'seed'))).toBe(
      "--seed must be an integer, got '1.5'",
    );
    expect(usageError(() => flagNumber(share(), '3', 'bad-share'))).toBe(
      "--bad-share must be a number in [0, 1], got '3'",
    );
    expect(usageError(() => flagNumber(positiveInteger(), '0', 'group'))).toBe(
      "--group must be a positive integer, got '0'",
    );
    expect(usageError(() => flagNumber(nonNegativeNumber(), '-1', 'temperature'))).toBe(
      "--temperature must be a non-negative number, got '-1'",
    );
    const even = z
      .number()
      .refine((n) => n % 2 === 0)
      .describe('an even number');
    expect(usageError(() => flagNumber(even, '3', 'width'))).toBe("--width must be an even number, got '3'");
  });

  it('refuses blank text, NaN and infinities whatever the rule', () => {
    for (const text of ['', '  ', 'NaN', 'Infinity', '-Infinity', '1e999'])
      expect(usageError(() => flagNumber(numberAtLeast(-Infinity), text, 'x'))).toMatch(/^--x must be/);
  });
});

describe('parseCommandArgs', () => {
  it('turns an unknown flag into a usage error', () => {
    expect(parseCommandArgs(['--n', '3'], { n: { type: 'string' } }).values.n).toBe('3');
    expect(usageError(() => parseCommandArgs(['--nope'], { n: { type: 'string' } }))).toMatch(/--nope/);
  });
});

describe('server/commands', () => {
  it('import CliUsageError from ./args, not the dispatcher in server/cli.ts', () => {
    const folder = fileURLToPath(new URL('../../../server/commands/', import.meta.url));
    const files = readdirSync(folder).filter((f) => f.endsWith('.ts'));
    expect(files).toEqual(expect.arrayContaining(['eval.ts', 'train.ts']));
    for (const file of files)
      expect(readFileSync(`${folder}${file}`, 'utf8'), file).not.toMatch(/from '\.\.\/cli'/);
  });
});
