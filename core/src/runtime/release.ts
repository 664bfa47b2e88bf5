/**
 * Reference counts of values sent on ports. A value can sit on several ports (a node may
 * forward what it received); it is disposed when the last port holding it is released,
 * as Kedro releases a dataset after its last consumer.
 */
export class ValueReleaser {
  private readonly holders = new Map<object, number>();

  hold(value: unknown): void {
    if (isDisposable(value)) this.holders.set(value, (this.holders.get(value) ?? 0) + 1);
  }

  release(value: unknown): void {
    if (!isDisposable(value)) return;
    const n = (this.holders.get(value) ?? 1) - 1;
    if (n > 0) {
      this.holders.set(value, n);
      return;
    }
    this.holders.delete(value);
    value.dispose();
  }
}

export function isDisposable(v: unknown): v is { dispose(): void } {
  return typeof v === 'object' && v !== null && typeof (v as { dispose?: unknown }).dispose === 'function';
}
