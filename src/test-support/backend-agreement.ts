import type { Backend } from './world.js';

/**
 * What a seeded run observed on the first backend it ran on, for the same seed on the other to agree
 * with. Both get the same calls, clock moves and admin actions in the same order, so where their
 * observations part, one backend reads or writes differently (a dialect's JSON, text or number
 * handling) — which checks within one backend, each agreeing with itself, cannot see.
 *
 * @example
 * agreement.begin(seed, backend);
 * const mismatch = agreement.observe(seed, backend, `step 3 s1: ["user:u1"]`);
 */
export class BackendAgreement {
  readonly #first = new Map<number, { backend: Backend; observations: string[] }>();
  readonly #seen = new Map<string, number>();

  /** Starts a seed's run on a backend: the first backend's run records, a later one compares. */
  begin(seed: number, backend: Backend): void {
    const first = this.#first.get(seed);
    if (!first || first.backend === backend) this.#first.set(seed, { backend, observations: [] });
    this.#seen.set(`${seed}/${backend}`, 0);
  }

  /**
   * Records the observation, or compares it with the first backend's at the same point: the
   * disagreement, worded, when they differ; undefined when they agree or there is nothing to compare
   * (the first run stopped earlier, or this seed ran on one backend only).
   */
  observe(seed: number, backend: Backend, observation: string): string | undefined {
    const first = this.#first.get(seed);
    if (!first) throw new Error(`seed ${seed}: begin() was not called`);
    if (first.backend === backend) {
      first.observations.push(observation);
      return undefined;
    }
    const key = `${seed}/${backend}`;
    const index = this.#seen.get(key) ?? 0;
    this.#seen.set(key, index + 1);
    const expected = first.observations[index];
    if (expected === undefined || expected === observation) return undefined;
    return `${first.backend} and ${backend} disagree:\n  ${first.backend}: ${expected}\n  ${backend}: ${observation}`;
  }
}
