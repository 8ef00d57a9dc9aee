/**
 * What lets a process's send rounds run side by side: a round whose last sends hang (a receiver that
 * never answers, until its timeout) must not hold back the next round, nor another workspace's sends.
 */

/** At most `size` sends at once, over every round of the process. */
export class SendSlots {
  #free: number;
  readonly #waiting: Array<() => void> = [];

  constructor(size: number) {
    this.#free = size;
  }

  async take(): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return;
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  give(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#free++;
  }

  /** Resolves once a send could start: a new round is worth claiming. */
  async whenFree(): Promise<void> {
    await this.take();
    this.give();
  }
}

interface SendsToOne {
  /** Sends under way, by round. */
  inFlight: Map<string, number>;
  /** The sequence number of each round's latest recorded send. */
  recorded: Map<string, number>;
}

/**
 * A process's capped sends to one address on one channel (`sms:+39…`), as rounds side by side must
 * know them. A round judges a contact's cap by the sends it loaded when it began, and by its own since:
 * a send another round has under way, or recorded after this one loaded, leaves that judgement unsure.
 */
export class CappedSends {
  /** Capped sends recorded so far, as a sequence. */
  #recorded = 0;
  /** Rounds under way, with how many sends had been recorded when each loaded what was sent. */
  readonly #rounds = new Map<string, number>();
  readonly #byKey = new Map<string, SendsToOne>();
  readonly #began = new Map<string, { key: string; round: string }>();

  /** Called before the round reads what was sent: anything recorded after, it has not seen. */
  beginRound(round: string): void {
    this.#rounds.set(round, this.#recorded);
  }

  /** Whether another round has a send to `key` under way, or recorded one this round has not seen. */
  isUnsure(key: string, round: string): boolean {
    const sends = this.#byKey.get(key);
    if (!sends) return false;
    for (const [other, count] of sends.inFlight) if (other !== round && count > 0) return true;
    const loaded = this.#rounds.get(round) ?? this.#recorded;
    for (const [other, sequence] of sends.recorded) if (other !== round && sequence > loaded) return true;
    return false;
  }

  begin(key: string, round: string, messageId: string): void {
    const sends = this.#sendsTo(key);
    sends.inFlight.set(round, (sends.inFlight.get(round) ?? 0) + 1);
    this.#began.set(messageId, { key, round });
  }

  /** The message's outcome is in the database: rounds that load from now on see it there. */
  recorded(messageId: string): void {
    const began = this.#began.get(messageId);
    if (!began) return;
    this.#began.delete(messageId);
    const sends = this.#sendsTo(began.key);
    this.#leave(sends, began.round);
    sends.recorded.set(began.round, ++this.#recorded);
  }

  /** The round is over: what no round under way could be unsure of is forgotten. */
  endRound(round: string): void {
    this.#rounds.delete(round);
    for (const [messageId, began] of this.#began)
      if (began.round === round) {
        this.#began.delete(messageId);
        this.#leave(this.#sendsTo(began.key), round);
      }
    const oldestLoaded = Math.min(...this.#rounds.values());
    for (const [key, sends] of this.#byKey) {
      for (const [other, sequence] of sends.recorded)
        if (sequence <= oldestLoaded) sends.recorded.delete(other);
      if (sends.inFlight.size === 0 && sends.recorded.size === 0) this.#byKey.delete(key);
    }
  }

  #sendsTo(key: string): SendsToOne {
    let sends = this.#byKey.get(key);
    if (!sends) {
      sends = { inFlight: new Map(), recorded: new Map() };
      this.#byKey.set(key, sends);
    }
    return sends;
  }

  #leave(sends: SendsToOne, round: string): void {
    const count = (sends.inFlight.get(round) ?? 1) - 1;
    if (count > 0) sends.inFlight.set(round, count);
    else sends.inFlight.delete(round);
  }
}

/**
 * A process's texts to one number (whatever profiles share it), one at a time over every round, and
 * the provider ids texts were taken as until their outcomes are recorded. A retried text looks through
 * the provider's latest messages to the number for an earlier send of itself, taking one no other
 * message to the number was recorded as:
 * two identical texts looking side by side would both take the same one (and one would never be sent),
 * as would one looking while another is on its way (the provider may list it before its sender reads its
 * id), or taken and its outcome not yet written.
 */
export class TextTurns {
  /** By number, the last turn taken: the next waits for it. */
  readonly #turns = new Map<string, Promise<void>>();
  /** By message, the provider id its text was taken as, and its round, until the outcome is recorded. */
  readonly #unrecorded = new Map<string, { providerMessageId: string; round: string }>();

  /** Waits for the texts to `number` begun before this one; the function returned lets the next go. */
  async take(number: string): Promise<() => void> {
    const before = this.#turns.get(number) ?? Promise.resolve();
    let end = () => {};
    const done = new Promise<void>((resolve) => {
      end = resolve;
    });
    const last = before.then(() => done);
    this.#turns.set(number, last);
    await before;
    return () => {
      end();
      if (this.#turns.get(number) === last) this.#turns.delete(number);
    };
  }

  /** Provider ids texts were taken as whose outcomes are not in the database yet. */
  unrecordedIds(): ReadonlySet<string> {
    return new Set([...this.#unrecorded.values()].map((taken) => taken.providerMessageId));
  }

  taken(messageId: string, round: string, providerMessageId: string): void {
    this.#unrecorded.set(messageId, { providerMessageId, round });
  }

  /** The message's outcome is in the database: a lookup finds its provider id there. */
  recorded(messageId: string): void {
    this.#unrecorded.delete(messageId);
  }

  /**
   * The round is over. Outcomes it could not record are forgotten: their messages, still claimed, are
   * sent again once the claim runs out, and must find their own texts then.
   */
  endRound(round: string): void {
    for (const [messageId, taken] of this.#unrecorded)
      if (taken.round === round) this.#unrecorded.delete(messageId);
  }
}
