/**
 * The last `capacity` keys seen, in a set with first-in-first-out eviction: enough to notice a
 * record that comes back soon (a redelivery, a producer's retry) without growing forever.
 */
export class RecentKeys {
  private readonly set = new Set<string>();
  private readonly ring: string[];
  private next = 0;

  constructor(readonly capacity: number) {
    this.ring = new Array<string>(capacity).fill('');
  }

  /** Adds `key`; returns false if it was already among the recent keys. */
  add(key: string): boolean {
    if (this.set.has(key)) return false;
    const old = this.ring[this.next]!;
    if (old !== '') this.set.delete(old);
    this.ring[this.next] = key;
    this.next = (this.next + 1) % this.capacity;
    this.set.add(key);
    return true;
  }
}
