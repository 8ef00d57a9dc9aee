import type { NewEvent, RejectedEvent } from '../core/event.js';
import type { AppendResult } from './storage.js';

export type AppendInput = { events: NewEvent[]; rejected: RejectedEvent[] };

/**
 * Appends in groups: one commit at a time, and every append asked for while it runs shares the next
 * one, so under load a commit (its WAL write, its fsync on PostgreSQL) serves many requests, and each
 * caller still hears of its own result only after the commit. If a shared commit fails, each input is
 * retried alone, so one bad request cannot fail the others.
 */
export class GroupCommitter {
  readonly #commit: (inputs: AppendInput[], now: number) => AppendResult[] | Promise<AppendResult[]>;
  #pending: Array<{
    input: AppendInput;
    now: number;
    resolve: (result: AppendResult) => void;
    reject: (error: unknown) => void;
  }> = [];
  #isCommitting = false;

  constructor(commit: (inputs: AppendInput[], now: number) => AppendResult[] | Promise<AppendResult[]>) {
    this.#commit = commit;
  }

  append(input: AppendInput, now: number): Promise<AppendResult> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ input, now, resolve, reject });
      // Appends asked for in the same event-loop turn go together; later ones wait for the commit under way.
      if (this.#pending.length === 1 && !this.#isCommitting) setImmediate(() => void this.#commitAll());
    });
  }

  async #commitAll(): Promise<void> {
    if (this.#isCommitting) return;
    this.#isCommitting = true;
    try {
      while (this.#pending.length > 0) await this.#commitGroup();
    } finally {
      this.#isCommitting = false;
    }
  }

  async #commitGroup(): Promise<void> {
    const group = this.#pending;
    this.#pending = [];
    const now = Math.max(...group.map((entry) => entry.now));
    try {
      const results = await this.#commit(
        group.map((entry) => entry.input),
        now,
      );
      for (const [i, entry] of group.entries()) entry.resolve(results[i] as AppendResult);
    } catch (error) {
      if (group.length === 1) {
        group[0]?.reject(error);
        return;
      }
      for (const entry of group) {
        try {
          const [result] = await this.#commit([entry.input], now);
          entry.resolve(result as AppendResult);
        } catch (entryError) {
          entry.reject(entryError);
        }
      }
    }
  }
}
