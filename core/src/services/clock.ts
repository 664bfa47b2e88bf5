/** Wall time, injectable so tests can control it. */
export class Clock {
  now(): number {
    return performance.now();
  }
  iso(): string {
    return new Date().toISOString();
  }
}
