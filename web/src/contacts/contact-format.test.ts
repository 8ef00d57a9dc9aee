import { describe, expect, it } from 'vitest';
import {
  contactEmail,
  contactName,
  droppedReason,
  eventDetails,
  eventTitle,
  isPastRecycleStage,
  keyValueRows,
  ledgerOf,
  type ProfileScore,
  type ScoreModelView,
  stageReason,
  type TimelineEvent,
} from './contact-format.js';

const event = (overrides: Partial<TimelineEvent>): TimelineEvent => ({
  id: '1',
  type: 'track',
  name: null,
  timestamp: '2026-03-01T10:00:00.000Z',
  payload: {},
  ...overrides,
});

describe('contact names', () => {
  it('takes the name trait, else first and last name in either case, else nothing', () => {
    expect(contactName({ name: ' Ada Lovelace ', first_name: 'X' })).toBe('Ada Lovelace');
    expect(contactName({ first_name: 'Ada', last_name: 'Lovelace' })).toBe('Ada Lovelace');
    expect(contactName({ firstName: 'Bo' })).toBe('Bo');
    expect(contactName({ name: '', email: 'cy@example.com' })).toBeUndefined();
    expect(contactName({ name: 42 })).toBeUndefined();
    expect(contactEmail({ email: 'cy@example.com' })).toBe('cy@example.com');
    expect(contactEmail({})).toBeUndefined();
  });

  it('lists traits sorted by key, strings as sent and everything else as JSON', () => {
    expect(keyValueRows({ plan: 'pro', age: 36, address: { city: 'Roma' }, vip: true, gone: null })).toEqual([
      ['address', '{"city":"Roma"}'],
      ['age', '36'],
      ['gone', 'null'],
      ['plan', 'pro'],
      ['vip', 'true'],
    ]);
    expect(keyValueRows(undefined)).toEqual([]);
  });
});

describe('timeline events', () => {
  it('titles a track by its name and the other calls by what they did', () => {
    expect(eventTitle(event({ name: 'Order Completed' }))).toEqual({ text: 'Order Completed' });
    expect(eventTitle(event({ type: 'identify' }))).toEqual({
      key: 'contacts.eventTitles.identify',
      values: {},
    });
    expect(eventTitle(event({ type: 'group', payload: { groupId: 'acme' } }))).toEqual({
      key: 'contacts.eventTitles.group',
      values: { groupId: 'acme' },
    });
    expect(eventTitle(event({ type: 'page', name: 'Pricing' }))).toEqual({ text: 'Pricing' });
    expect(eventTitle(event({ type: 'page' }))).toEqual({ key: 'contacts.eventTitles.page', values: {} });
    // As the server counts a page sent without a name: still shown in the reader's words.
    expect(eventTitle(event({ type: 'page', name: 'Page Viewed' }))).toEqual({
      key: 'contacts.eventTitles.page',
      values: {},
    });
    // Which page, at a glance: its path, else its address or title.
    expect(
      eventTitle(
        event({ type: 'page', name: 'Page Viewed', payload: { properties: { path: '/pricing', url: 'x' } } }),
      ),
    ).toEqual({ key: 'contacts.eventTitles.pageAt', values: { where: '/pricing' } });
    expect(eventTitle(event({ type: 'page', payload: { properties: { title: 'Pricing — Acme' } } }))).toEqual(
      {
        key: 'contacts.eventTitles.pageAt',
        values: { where: 'Pricing — Acme' },
      },
    );
    expect(eventTitle(event({ type: 'screen', name: 'Screen Viewed' }))).toEqual({
      key: 'contacts.eventTitles.screen',
      values: {},
    });
    expect(eventTitle(event({ type: 'alias', payload: { previousId: 'anon-1' } }))).toEqual({
      key: 'contacts.eventTitles.alias',
      values: { previousId: 'anon-1' },
    });
  });

  it('opens a track to its properties and an identify or group to its traits', () => {
    expect(eventDetails(event({ payload: { properties: { sku: 'A1' }, traits: { x: 1 } } }))).toEqual({
      sku: 'A1',
    });
    expect(eventDetails(event({ type: 'identify', payload: { traits: { plan: 'pro' } } }))).toEqual({
      plan: 'pro',
    });
    expect(
      eventDetails(event({ type: 'group', payload: { groupId: 'acme', traits: { seats: 5 } } })),
    ).toEqual({
      seats: 5,
    });
    expect(eventDetails(event({ payload: { properties: ['not', 'an', 'object'] } }))).toEqual({});
    expect(eventDetails(event({ type: 'identify', payload: {} }))).toEqual({});
  });
});

describe('score ledger', () => {
  const models: ScoreModelView[] = [
    {
      id: 'engagement',
      name: 'Engagement',
      rules: [
        {
          id: 'pricing',
          kind: 'event',
          event: 'Page Viewed',
          where: [{ path: 'path', op: 'contains', value: '/pricing' }],
          points: 10,
          cap: 30,
          halfLife: '7d',
        },
        { id: 'demo', kind: 'event', event: 'Demo Requested', points: 40, repeat: 'once' },
        {
          id: 'italy',
          kind: 'fit',
          when: { type: 'trait', path: 'country', op: 'eq', value: 'IT' },
          points: 20,
        },
      ],
    },
  ];
  const score: ProfileScore = {
    model: 'engagement',
    score: 65.00000001,
    awards: [
      { rule: 'pricing', eventId: 7, at: '2026-03-01T10:00:00.000Z', points: 10, current: 4.99999 },
      { rule: 'demo', eventId: 9, at: '2026-03-02T10:00:00.000Z', points: 40, current: 40 },
      { rule: 'retired', eventId: 8, at: '2026-03-01T12:00:00.000Z', points: 5, current: 5 },
    ],
    fit: [{ rule: 'italy', points: 20 }],
  };

  it('explains every award by its rule, newest first, with what decay left of it', () => {
    const ledger = ledgerOf(score, models);
    expect(ledger).toMatchObject({ model: 'engagement', modelName: 'Engagement', score: 65 });
    expect(ledger.lines.map((line) => [line.rule, line.points, line.current, line.isDecayed])).toEqual([
      ['demo', 40, 40, false],
      ['retired', 5, 5, false],
      ['pricing', 10, 5, true],
    ]);
    expect(ledger.lines[0]?.reasons).toEqual([
      { key: 'contacts.ruleEvent', values: { event: 'Demo Requested' } },
      { key: 'contacts.ruleOnce', values: {} },
    ]);
    expect(ledger.lines[1]?.reasons).toEqual([{ key: 'contacts.ruleUnknown', values: {} }]);
    expect(ledger.lines[2]?.reasons).toEqual([
      { key: 'contacts.ruleEvent', values: { event: 'Page Viewed' } },
      { key: 'contacts.ruleWhere', values: { path: 'path', op: 'contains', value: '/pricing' } },
      // The award is whole: the rule's cap is no part of why it is what it is.
      { key: 'contacts.ruleHalfLife', values: { halfLife: '7d' } },
    ]);
    expect(ledger.fit).toEqual([
      {
        rule: 'italy',
        points: 20,
        reasons: [{ key: 'contacts.ruleTrait', values: { path: 'country', op: 'eq', value: 'IT' } }],
      },
    ]);
  });

  it('says where the cap cut an award, and by how much it would have been', () => {
    const cut = ledgerOf(
      {
        ...score,
        awards: [
          { rule: 'pricing', eventId: 11, at: '2026-03-03T10:00:00.000Z', points: 0.04, current: 0.04 },
        ],
      },
      models,
    );
    expect(cut.lines[0]?.reasons).toContainEqual({
      key: 'contacts.cutByCap',
      values: { points: 10, cap: 30 },
    });
    expect(cut.lines[0]?.reasons.map((reason) => reason.key)).not.toContain('contacts.ruleCap');
  });

  it('says what the model’s cap holds back, so the ledger adds up to the score', () => {
    expect(ledgerOf(score, models).capNote).toBeNull();
    const held = ledgerOf({ ...score, score: 50, modelCap: { cap: 50, points: -15.000001 } }, models);
    expect(held.capNote).toEqual({ key: 'contacts.modelCapDown', values: { cap: 50, points: 15 } });
    const heldUp = ledgerOf({ ...score, score: -50, modelCap: { cap: 50, points: 10 } }, models);
    expect(heldUp.capNote).toEqual({ key: 'contacts.modelCapUp', values: { cap: 50, points: 10 } });
  });

  it('still lists every award by rule id when the models cannot be read', () => {
    const ledger = ledgerOf(score, undefined);
    expect(ledger.modelName).toBe('engagement');
    expect(ledger.lines.map((line) => [line.rule, line.reasons])).toEqual([
      ['demo', []],
      ['retired', []],
      ['pricing', []],
    ]);
  });
});

describe('isPastRecycleStage', () => {
  const lifecycle = { stages: ['subscriber', 'lead', 'mql', 'sql'], recycleTo: 'lead' };
  it('offers the way back only to contacts past the recycle stage', () => {
    expect(isPastRecycleStage('mql', lifecycle)).toBe(true);
    expect(isPastRecycleStage('sql', lifecycle)).toBe(true);
    expect(isPastRecycleStage('lead', lifecycle)).toBe(false);
    expect(isPastRecycleStage('subscriber', lifecycle)).toBe(false);
    expect(isPastRecycleStage('gone', lifecycle)).toBe(false);
    expect(isPastRecycleStage(null, lifecycle)).toBe(false);
    expect(isPastRecycleStage('mql', undefined)).toBe(false);
  });
});

describe('stageReason', () => {
  it('reads the reasons the server records as text keys, and shows one given by hand as written', () => {
    expect(stageReason('event Sales Accepted')).toEqual({
      key: 'contacts.stageReasons.event',
      values: { event: 'Sales Accepted' },
    });
    expect(stageReason('score engagement reached 53.791234')).toEqual({
      key: 'contacts.stageReasons.score',
      values: { model: 'engagement', score: 53.79 },
    });
    expect(stageReason('hand-off SLA missed')).toEqual({
      key: 'contacts.stageReasons.slaMissed',
      values: {},
    });
    expect(stageReason('recycled by hand')).toEqual({
      key: 'contacts.stageReasons.recycledByHand',
      values: {},
    });
    expect(stageReason('sales said: wrong company')).toEqual({ text: 'sales said: wrong company' });
  });

  it('reads why an owed hand-off was dropped, as the server words it, in the reader’s language', () => {
    expect(droppedReason('merged into a profile already handed off')).toEqual({
      key: 'contacts.droppedReasons.mergedHandedOff',
      values: {},
    });
    expect(droppedReason('recycled before the contact was known to sales')).toEqual({
      key: 'contacts.droppedReasons.recycled',
      values: {},
    });
    expect(droppedReason('something new')).toEqual({ text: 'something new' });
  });
});
