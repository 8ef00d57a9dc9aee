import type { EventType, NewEvent } from '../core/event.js';

/**
 * Events on their way to the log thread, packed for postMessage: their text fields concatenated
 * into one string with a table of lengths, their times in a Float64Array. Cloning that costs a
 * fifth of cloning the same events as objects, and this runs for every ingested event.
 */
export interface PackedEvents {
  text: string;
  /** Per event, the length of each of TEXT_FIELDS in `text`; -1 for null. */
  lengths: Int32Array;
  /** Per event, each of TIME_FIELDS; NaN for null. */
  times: Float64Array;
}

const TEXT_FIELDS = ['workspaceId', 'messageId', 'type', 'name', 'userId', 'anonymousId', 'payload'] as const;
const TIME_FIELDS = ['timestamp', 'originalTimestamp', 'sentAt', 'receivedAt'] as const;

export function packEvents(events: NewEvent[]): PackedEvents {
  const parts: string[] = [];
  const lengths = new Int32Array(events.length * TEXT_FIELDS.length);
  const times = new Float64Array(events.length * TIME_FIELDS.length);
  let l = 0;
  let t = 0;
  for (const event of events) {
    for (const field of TEXT_FIELDS) {
      const value = event[field];
      if (value === null) {
        lengths[l++] = -1;
      } else {
        lengths[l++] = value.length;
        parts.push(value);
      }
    }
    for (const field of TIME_FIELDS) times[t++] = event[field] ?? Number.NaN;
  }
  return { text: parts.join(''), lengths, times };
}

export function unpackEvents(packed: PackedEvents): NewEvent[] {
  const { text, lengths, times } = packed;
  const count = times.length / TIME_FIELDS.length;
  const events: NewEvent[] = [];
  let offset = 0;
  let l = 0;
  let t = 0;
  const nextText = (): string | null => {
    const length = lengths[l++] ?? -1;
    if (length < 0) return null;
    const value = text.slice(offset, offset + length);
    offset += length;
    return value;
  };
  const nextTime = (): number | null => {
    const value = times[t++] ?? Number.NaN;
    return Number.isNaN(value) ? null : value;
  };
  for (let i = 0; i < count; i++) {
    const workspaceId = nextText() ?? '';
    const messageId = nextText() ?? '';
    const type = nextText() as EventType;
    const name = nextText();
    const userId = nextText();
    const anonymousId = nextText();
    const payload = nextText() ?? '';
    const timestamp = nextTime() ?? 0;
    const originalTimestamp = nextTime();
    const sentAt = nextTime();
    const receivedAt = nextTime() ?? 0;
    events.push({
      workspaceId,
      messageId,
      type,
      name,
      userId,
      anonymousId,
      timestamp,
      originalTimestamp,
      sentAt,
      receivedAt,
      payload,
    });
  }
  return events;
}
