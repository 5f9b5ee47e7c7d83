import { describe, expect, it } from 'vitest';
import { createProgress, formatDuration } from '../../../server/commands/progress';

function fakeStream(isTTY: boolean, columns?: number) {
  const writes: string[] = [];
  return { isTTY, columns, writes, write: (text: string) => writes.push(text) };
}

/** A clock the test moves by hand, in ms. */
function fakeClock() {
  let t = 0;
  return {
    now: () => t,
    advance(ms: number) {
      t += ms;
    },
  };
}

describe('formatDuration', () => {
  it('writes seconds, minutes and hours, and ? when unknown', () => {
    expect(formatDuration(42)).toBe('42s');
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(65)).toBe('1m05s');
    expect(formatDuration(119.6)).toBe('2m00s'); // rounded before splitting, never '1m60s'
    expect(formatDuration(3725)).toBe('1h02m');
    for (const unknown of [Number.NaN, Number.POSITIVE_INFINITY, -1])
      expect(formatDuration(unknown)).toBe('?');
  });
});

describe('createProgress', () => {
  it('writes nothing at all when the stream is not a terminal', () => {
    const pipe = fakeStream(false);
    const writes: string[] = [];
    const noIsTTY = { write: (text: string) => writes.push(text) }; // a stream without the property
    for (const stream of [pipe, noIsTTY]) {
      const progress = createProgress({ total: 3, label: 'eval', stream });
      progress.tick();
      progress.update(3);
      progress.clear();
      progress.done();
    }
    expect(pipe.writes).toEqual([]);
    expect(writes).toEqual([]);
  });

  it('redraws one line with \\r: done / total, percent, rate and ETA, then a final line', () => {
    const stream = fakeStream(true);
    const clock = fakeClock();
    const progress = createProgress({
      total: 4,
      label: 'rollouts',
      unit: 'rollouts',
      stream,
      now: clock.now,
    });
    expect(stream.writes).toEqual(['\rrollouts: 0/4 (0%)  ? rollouts/s  ETA ?\x1b[K']);
    clock.advance(2000);
    progress.tick();
    expect(stream.writes.at(-1)).toBe('\rrollouts: 1/4 (25%)  0.5 rollouts/s  ETA 6s\x1b[K');
    clock.advance(2000);
    progress.tick(2);
    expect(stream.writes.at(-1)).toBe('\rrollouts: 3/4 (75%)  0.8 rollouts/s  ETA 1s\x1b[K');
    clock.advance(1000);
    progress.done();
    expect(stream.writes.at(-1)).toBe('\rrollouts: 3/4 (75%)  0.6 rollouts/s  in 5s\x1b[K\n');
    progress.tick();
    progress.done();
    expect(stream.writes).toHaveLength(4); // nothing after done()
    expect(stream.writes.every((w) => w.startsWith('\r') && !w.slice(0, -1).includes('\n'))).toBe(true);
  });

  it('draws at most once per interval, but always the last item', () => {
    const stream = fakeStream(true);
    const clock = fakeClock();
    const progress = createProgress({ total: 100, label: 'sft', stream, now: clock.now, intervalMs: 100 });
    for (let i = 0; i < 100; i++) {
      clock.advance(10);
      progress.update(i + 1);
    }
    // The first draw, one per 100 ms over 1 s, and the 100th item.
    expect(stream.writes.length).toBeLessThanOrEqual(12);
    expect(stream.writes.at(-1)).toBe('\rsft: 100/100 (100%)  100 items/s  ETA 0s\x1b[K');
  });

  it('clears the line for a message and cuts lines to the terminal width', () => {
    const stream = fakeStream(true, 20);
    const progress = createProgress({ total: 10, label: 'data generate: SFT replies', stream, now: () => 0 });
    expect(stream.writes[0]).toBe('\rdata generate: SFT \x1b[K');
    progress.clear();
    expect(stream.writes.at(-1)).toBe('\r\x1b[K');
    progress.tick(); // redraws at once after a clear
    expect(stream.writes).toHaveLength(3);
  });
});
