import type { EventDigest } from './event-digest.js';

/** Profiles whose digests are kept by default: ~3.5 KB each with 50 live segments (measured), so ~900 MB at most. */
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
 * cache starts over. Each digest is kept as its JSON text, a tenth of the memory of the object.
 */
export class DigestCache {
  readonly #maxProfiles: number;
  readonly #digests = new Map<string, string>();
  #through: string | undefined;

  constructor(maxProfiles = DEFAULT_DIGEST_CACHE_PROFILES) {
    this.#maxProfiles = maxProfiles;
  }

  /** Starts a batch that reads the log after `after`: forgets everything unless the last batch ended there. */
  beginBatch(after: string): void {
    if (this.#through !== after) this.#digests.clear();
    this.#through = undefined;
  }

  /** The batch's writes commit with the cursor at `through`: the digests are right from there on. */
  endBatch(through: string): void {
    this.#through = through;
  }

  get(profileId: string): EventDigest | undefined {
    const text = this.#digests.get(profileId);
    return text === undefined ? undefined : (JSON.parse(text) as EventDigest);
  }

  /** Keeps a digest as the most recently used; the least recently used goes when full. */
  set(profileId: string, digest: EventDigest): void {
    this.#digests.delete(profileId);
    this.#digests.set(profileId, JSON.stringify(digest));
    if (this.#digests.size > this.#maxProfiles) {
      const oldest = this.#digests.keys().next().value;
      if (oldest !== undefined) this.#digests.delete(oldest);
    }
  }

  get size(): number {
    return this.#digests.size;
  }
}
