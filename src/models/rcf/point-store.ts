/**
 * Points held by the samplers of all trees, stored once in a flat `Float32Array` and shared by
 * reference count: a point sampled by 30 of 50 trees is kept once, and its slot is recycled when
 * the last tree evicts it.
 */
export class PointStore {
  readonly dimensions: number;
  readonly capacity: number;
  /** `capacity * dimensions` values; slot `i` starts at `i * dimensions`. */
  readonly values: Float32Array;
  readonly refCount: Int32Array;
  private readonly freeSlots: Int32Array;
  private freeCount: number;

  constructor(dimensions: number, capacity: number) {
    this.dimensions = dimensions;
    this.capacity = capacity;
    this.values = new Float32Array(capacity * dimensions);
    this.refCount = new Int32Array(capacity);
    this.freeSlots = new Int32Array(capacity);
    // Hand out low slots first so a fresh store fills from the start.
    for (let i = 0; i < capacity; i++) this.freeSlots[i] = capacity - 1 - i;
    this.freeCount = capacity;
  }

  /** Copies `point` into a free slot with reference count 0 and returns the slot; the caller takes references. */
  add(point: Float32Array): number {
    if (this.freeCount === 0) throw new Error('RCF point store is full (internal invariant broken)');
    const slot = this.freeSlots[--this.freeCount]!;
    this.values.set(point, slot * this.dimensions);
    this.refCount[slot] = 0;
    return slot;
  }

  /** Drops one reference; frees the slot when none is left. */
  decrement(slot: number): void {
    if (--this.refCount[slot]! === 0) this.freeSlots[this.freeCount++] = slot;
  }

  /** Slots currently referenced, ascending. */
  liveSlots(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.capacity; i++) if (this.refCount[i]! > 0) out.push(i);
    return out;
  }

  /** Rebuilds the free list from the reference counts (after restoring a saved state). */
  rebuildFreeList(): void {
    this.freeCount = 0;
    for (let i = this.capacity - 1; i >= 0; i--)
      if (this.refCount[i] === 0) this.freeSlots[this.freeCount++] = i;
  }
}
