/**
 * The messageIds seen in the last `windowMs` (at least; at most twice that), as 64-bit fingerprints in
 * open-addressing tables. SQLite dedupes against this instead of a unique index on messageId: random
 * UUIDs in a B-tree touch a different page per row, and SQLite's WAL writes whole pages, which cost
 * ingest about two thirds of its throughput. Segment dedupes within a window of the same kind.
 */
export class MessageIdWindow {
  readonly #windowMs: number;
  #current = new FingerprintSet();
  #previous = new FingerprintSet();
  #currentSince: number;
  #journal: Array<[number, number]> | undefined;

  constructor(windowMs: number, now: number) {
    this.#windowMs = windowMs;
    this.#currentSince = now;
  }

  get size(): number {
    return this.#current.size + this.#previous.size;
  }

  /** Starts recording additions, so that a rolled-back transaction leaves no fingerprints behind. */
  begin(now: number): void {
    const age = now - this.#currentSince;
    if (age >= this.#windowMs) {
      // After two windows of silence, the current generation is as stale as the previous one.
      this.#previous = age >= 2 * this.#windowMs ? new FingerprintSet() : this.#current;
      this.#current = new FingerprintSet();
      this.#currentSince = now;
    }
    this.#journal = [];
  }

  commit(): void {
    this.#journal = undefined;
  }

  rollback(): void {
    for (const [hi, lo] of this.#journal ?? []) this.#current.delete(hi, lo);
    this.#journal = undefined;
  }

  has(workspaceId: string, messageId: string): boolean {
    const [hi, lo] = fingerprint(workspaceId, messageId);
    return this.#current.has(hi, lo) || this.#previous.has(hi, lo);
  }

  add(workspaceId: string, messageId: string): void {
    const [hi, lo] = fingerprint(workspaceId, messageId);
    if (this.#current.add(hi, lo)) this.#journal?.push([hi, lo]);
  }
}

/**
 * FNV-1a, 64-bit, over UTF-16 code units, in four 16-bit limbs so it stays in exact integer math.
 * Not cryptographic, and need not be: a fingerprint collision only needs to be rare among honest
 * ids, and this runs for every ingested event (SHA-1 cost six times as much here).
 */
export function fingerprint(workspaceId: string, messageId: string): [number, number] {
  let l0 = 0x2325;
  let l1 = 0x8422;
  let l2 = 0x9ce4;
  let l3 = 0xcbf2;
  const key = `${workspaceId}\n${messageId}`;
  for (let i = 0; i < key.length; i++) {
    l0 ^= key.charCodeAt(i);
    // × the FNV prime 2^40 + 0x1b3: the 2^40 term shifts limbs 0 and 1 into limbs 2 and 3, by 8 bits.
    const t0 = l0 * 0x1b3;
    const t1 = l1 * 0x1b3 + (t0 >>> 16);
    const t2 = l2 * 0x1b3 + (t1 >>> 16) + ((l0 << 8) & 0xffffff);
    const t3 = l3 * 0x1b3 + (t2 >>> 16) + ((l1 << 8) & 0xffffff);
    l0 = t0 & 0xffff;
    l1 = t1 & 0xffff;
    l2 = t2 & 0xffff;
    l3 = t3 & 0xffff;
  }
  // (0, 0) marks an empty slot, so the low word always has its lowest bit set.
  return [((l3 << 16) | l2) >>> 0, ((l1 << 16) | l0 | 1) >>> 0];
}

const EMPTY = 0;

/** A set of (hi, lo) 32-bit pairs in one Uint32Array, linear probing, deletions by backward shift. */
class FingerprintSet {
  #slots = new Uint32Array(2 * 65536);
  #mask = 65535;
  size = 0;

  has(hi: number, lo: number): boolean {
    let slot = hi & this.#mask;
    for (;;) {
      const storedLo = this.#slots[2 * slot + 1];
      if (storedLo === EMPTY) return false;
      if (storedLo === lo && this.#slots[2 * slot] === hi) return true;
      slot = (slot + 1) & this.#mask;
    }
  }

  /** False when the pair was already present. */
  add(hi: number, lo: number): boolean {
    if ((this.size + 1) * 2 > this.#mask + 1) this.#grow();
    if (!this.#insert(hi, lo)) return false;
    this.size++;
    return true;
  }

  delete(hi: number, lo: number): void {
    let slot = hi & this.#mask;
    for (;;) {
      const storedLo = this.#slots[2 * slot + 1];
      if (storedLo === EMPTY) return;
      if (storedLo === lo && this.#slots[2 * slot] === hi) break;
      slot = (slot + 1) & this.#mask;
    }
    this.size--;
    // Backward-shift the following run so lookups never stop early at the hole.
    let hole = slot;
    let next = (hole + 1) & this.#mask;
    for (;;) {
      const nextLo = this.#slots[2 * next + 1] ?? EMPTY;
      if (nextLo === EMPTY) break;
      const nextHi = this.#slots[2 * next] ?? 0;
      const home = nextHi & this.#mask;
      const distanceToHole = (hole - home) & this.#mask;
      const distanceToNext = (next - home) & this.#mask;
      if (distanceToHole <= distanceToNext) {
        this.#slots[2 * hole] = nextHi;
        this.#slots[2 * hole + 1] = nextLo;
        hole = next;
      }
      next = (next + 1) & this.#mask;
    }
    this.#slots[2 * hole] = 0;
    this.#slots[2 * hole + 1] = EMPTY;
  }

  #insert(hi: number, lo: number): boolean {
    let slot = hi & this.#mask;
    for (;;) {
      const storedLo = this.#slots[2 * slot + 1];
      if (storedLo === EMPTY) {
        this.#slots[2 * slot] = hi;
        this.#slots[2 * slot + 1] = lo;
        return true;
      }
      if (storedLo === lo && this.#slots[2 * slot] === hi) return false;
      slot = (slot + 1) & this.#mask;
    }
  }

  #grow(): void {
    const old = this.#slots;
    this.#slots = new Uint32Array(old.length * 2);
    this.#mask = this.#slots.length / 2 - 1;
    for (let slot = 0; slot < old.length / 2; slot++) {
      const lo = old[2 * slot + 1] ?? EMPTY;
      if (lo !== EMPTY) this.#insert(old[2 * slot] ?? 0, lo);
    }
  }
}
