/** A promise with its resolver, for fields that settle later (`@defer`). Settles once. */
export class Deferred<T> {
  readonly promise: Promise<T>;
  private settle!: (value: T) => void;
  private settled = false;

  constructor() {
    this.promise = new Promise<T>((resolve) => (this.settle = resolve));
  }

  get isSettled(): boolean {
    return this.settled;
  }

  resolve(value: T): void {
    if (this.settled) return;
    this.settled = true;
    this.settle(value);
  }
}
