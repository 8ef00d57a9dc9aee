import { describe, expect, it } from 'vitest';
import { CappedSends, SendSlots, TextTurns } from './overlapping-rounds.js';

describe('rounds side by side', () => {
  it('shares a number of slots among sends, handing a freed one to the longest waiting', async () => {
    const slots = new SendSlots(2);
    await slots.take();
    await slots.take();
    const order: string[] = [];
    const third = slots.take().then(() => order.push('third'));
    const fourth = slots.take().then(() => order.push('fourth'));
    slots.give();
    await third;
    expect(order).toEqual(['third']);
    slots.give();
    await fourth;
    expect(order).toEqual(['third', 'fourth']);
  });

  it("is unsure of a contact's cap while another round sends to it, or recorded a send it did not see", () => {
    const capped = new CappedSends();
    capped.beginRound('r1');
    capped.begin('email:p1', 'r1', 'm1');
    expect(capped.isUnsure('email:p1', 'r1')).toBe(false);
    capped.beginRound('r2');
    expect(capped.isUnsure('email:p1', 'r2')).toBe(true);
    expect(capped.isUnsure('email:p2', 'r2')).toBe(false);
    capped.recorded('m1');
    // Recorded after r2 loaded what was sent: r2 has not seen it.
    expect(capped.isUnsure('email:p1', 'r2')).toBe(true);
    capped.beginRound('r3');
    expect(capped.isUnsure('email:p1', 'r3')).toBe(false);
    capped.endRound('r1');
    capped.endRound('r2');
    expect(capped.isUnsure('email:p1', 'r3')).toBe(false);
  });

  it('forgets the sends of a round that ended without recording them', () => {
    const capped = new CappedSends();
    capped.beginRound('r1');
    capped.begin('sms:p1', 'r1', 'm1');
    capped.beginRound('r2');
    expect(capped.isUnsure('sms:p1', 'r2')).toBe(true);
    capped.endRound('r1');
    expect(capped.isUnsure('sms:p1', 'r2')).toBe(false);
  });

  it("sends a contact's texts one at a time, another contact's beside them", async () => {
    const texts = new TextTurns();
    const order: string[] = [];
    const endFirst = await texts.take('p1');
    const second = texts.take('p1').then((end) => {
      order.push('second');
      return end;
    });
    const other = texts.take('p2').then((end) => {
      order.push('other');
      return end;
    });
    (await other)();
    expect(order).toEqual(['other']);
    endFirst();
    (await second)();
    expect(order).toEqual(['other', 'second']);
  });

  it('keeps a provider id taken until its outcome is recorded, or its round ends without that', () => {
    const texts = new TextTurns();
    texts.taken('m1', 'r1', 'SM1');
    texts.taken('m2', 'r2', 'SM2');
    expect(texts.unrecordedIds()).toEqual(new Set(['SM1', 'SM2']));
    texts.recorded('m1');
    texts.endRound('r2');
    expect(texts.unrecordedIds()).toEqual(new Set());
  });
});
