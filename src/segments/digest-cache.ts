import type { EventDigest } from './event-digest.js';

/**
 * Profiles whose digests are kept by default: with 50 live segments a packed digest holds about 1 KB
 * of numbers (measured in the segments benchmark), so some 300 MB at most.
 */
export const DEFAULT_DIGEST_CACHE_PROFILES = 250_000;

/**
 * The event digests of recently decided profiles, in this process's memory: the segments consumer
 * decides a profile from its digest instead of reading its events from the log again. Digests are
 * derived from the log, so none is written to the database: a profile not here (evicted, or after a
 * restart) is read from the log once.
 *
 * They are only right while this process has decided every batch since they were made, so each
 * batch says where the log's cursor stood before it (`after`) and where it will leave it
 * (`through`): when another process moved the cursor in between, or a batch did not commit, the
 * cache starts over. Each digest is kept packed in one array of numbers (see `pack`): a small share
 * of the memory of the object, and unlike JSON text nothing to parse.
 */
export class DigestCache {
  readonly #maxProfiles: number;
  readonly #digests = new Map<string, number[]>();
  /** Query keys by number, so that a packed digest holds numbers only. */
  readonly #keys: string[] = [];
  readonly #keyNumbers = new Map<string, number>();
  #through: string | undefined;
  /** Per workspace, the queries its live segments asked at its last batch. */
  readonly #liveQueries = new Map<string, ReadonlySet<string>>();

  constructor(maxProfiles = DEFAULT_DIGEST_CACHE_PROFILES) {
    this.#maxProfiles = maxProfiles;
  }

  /** Starts a batch that reads the log after `after`: forgets everything unless the last batch ended there. */
  beginBatch(after: string): void {
    if (this.#through !== after) this.#digests.clear();
    this.#through = undefined;
  }

  /**
   * The digestible queries a workspace's live segments ask now. A query asked again after a time
   * unasked (a rule changed back, a segment re-created) finds digests that missed the events of that
   * time, as nothing touched them for it: all are read again from the log.
   */
  noteLiveQueries(workspaceId: string, keys: ReadonlySet<string>): void {
    const before = this.#liveQueries.get(workspaceId);
    if (before && [...keys].some((key) => !before.has(key))) this.#digests.clear();
    this.#liveQueries.set(workspaceId, keys);
  }

  /** The batch's writes commit with the cursor at `through`: the digests are right from there on. */
  endBatch(through: string): void {
    this.#through = through;
  }

  get(profileId: string): EventDigest | undefined {
    const packed = this.#digests.get(profileId);
    return packed === undefined ? undefined : this.#unpack(packed);
  }

  /** Keeps a digest as the most recently used; the least recently used goes when full. */
  set(profileId: string, digest: EventDigest): void {
    this.#digests.delete(profileId);
    this.#digests.set(profileId, this.#pack(digest));
    if (this.#digests.size > this.#maxProfiles) {
      const oldest = this.#digests.keys().next().value;
      if (oldest !== undefined) this.#digests.delete(oldest);
    }
  }

  get size(): number {
    return this.#digests.size;
  }

  /**
   * `[key number, length, …kept]` per query, in an array sized to fit: V8 keeps an array of numbers
   * as unboxed doubles (timestamps and event ids are exact as such), and building or slicing one is
   * several times cheaper than JSON or a typed array.
   */
  #pack(digest: EventDigest): number[] {
    let length = 0;
    for (const key in digest) length += 2 + (digest[key] as number[]).length;
    const packed = new Array<number>(length);
    let at = 0;
    for (const key in digest) {
      const kept = digest[key] as number[];
      packed[at++] = this.#keyNumber(key);
      packed[at++] = kept.length;
      for (const value of kept) packed[at++] = value;
    }
    return packed;
  }

  #unpack(packed: number[]): EventDigest {
    const digest: EventDigest = {};
    let at = 0;
    while (at < packed.length) {
      const length = packed[at + 1] as number;
      digest[this.#keys[packed[at] as number] as string] = packed.slice(at + 2, at + 2 + length);
      at += 2 + length;
    }
    return digest;
  }

  #keyNumber(key: string): number {
    let number = this.#keyNumbers.get(key);
    if (number === undefined) {
      number = this.#keys.push(key) - 1;
      this.#keyNumbers.set(key, number);
    }
    return number;
  }
}
