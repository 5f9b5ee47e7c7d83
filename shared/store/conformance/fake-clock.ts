import type { Clock } from '../store';

/** A clock that moves only when told, so watchdog timing is tested without sleeping. */
export class FakeClock implements Clock {
  constructor(private seconds = 1_700_000_000) {}
  now(): number {
    return this.seconds;
  }
  advance(seconds: number): void {
    this.seconds += seconds;
  }
}
