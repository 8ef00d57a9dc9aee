import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JourneyDraft } from '../core/journey-draft.js';
import type { StorageTx } from '../storage/storage.js';
import { type JourneyWorld, startJourneyWorld } from '../test-support/journey-world.js';
import { identify, track } from '../test-support/segment-calls.js';
import { BACKENDS } from '../test-support/world.js';
import { archiveJourney, publishJourney, setJourneyPaused, updateDraft } from './journeys.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Entry conditions, branch conditions, local times, goals and pauses: what decides where an instance goes. */
describe.each(BACKENDS)('journey rules on %s (manual clock)', (backend) => {
  let world: JourneyWorld;

  beforeEach(async () => {
    // Monday 23 November 2026, 10:00 UTC (11:00 in Rome, the workspace's zone).
    world = await startJourneyWorld(backend, Date.parse('2026-11-23T10:00:00Z'));
  });
  afterEach(async () => {
    await world.close();
  });

  const traitsOf = async (userId: string) =>
    (await world.storage.profiles.find(world.workspaceId, await world.profileOf(userId)))?.traits ?? {};
  const instancesOf = async (journeyId: string) => {
    const report = await world.storage.journeys.report(journeyId);
    return { entered: report.entered, active: report.active, converted: report.converted };
  };

  it('enters only on events whose properties meet the entry conditions', async () => {
    const journeyId = await world.publish({
      name: 'Big orders',
      entry: {
        trigger: {
          type: 'event',
          event: 'Order Completed',
          conditions: [
            { source: 'event', path: 'properties.total', op: 'gte', value: 100 },
            { source: 'trait', path: 'country', op: 'in', value: ['IT', 'FR'] },
          ],
        },
        reentry: { policy: 'every_time' },
      },
      start: 'tag',
      steps: [
        { id: 'tag', type: 'update_traits', set: { big_spender: true }, next: 'end' },
        { id: 'end', type: 'exit' },
      ],
    });
    await world.send([
      identify('it-big', { country: 'IT' }),
      track('it-big', 'Order Completed', { total: 150 }),
      identify('it-small', { country: 'IT' }),
      track('it-small', 'Order Completed', { total: 99.5 }),
      identify('de-big', { country: 'DE' }),
      track('de-big', 'Order Completed', { total: 500 }),
      identify('fr-text', { country: 'FR' }),
      track('fr-text', 'Order Completed', { total: '120' }),
    ]);
    await world.settle();
    expect((await instancesOf(journeyId)).entered).toBe(2);
    expect((await traitsOf('it-big')).big_spender).toBe(true);
    expect((await traitsOf('fr-text')).big_spender).toBe(true);
    expect((await traitsOf('it-small')).big_spender).toBeUndefined();
    expect((await traitsOf('de-big')).big_spender).toBeUndefined();
  });

  it('enters on page views, named or sent without a name, with conditions on their properties', async () => {
    const journeyId = await world.publish({
      name: 'Pricing visitors',
      entry: {
        trigger: {
          type: 'event',
          event: 'Page Viewed',
          conditions: [{ source: 'event', path: 'properties.path', op: 'eq', value: '/pricing' }],
        },
      },
      start: 'tag',
      steps: [
        { id: 'tag', type: 'update_traits', set: { saw_pricing: true }, next: 'end' },
        { id: 'end', type: 'exit' },
      ],
    });
    await world.send([
      { type: 'page', userId: 'snippet', properties: { path: '/pricing' } },
      { type: 'page', userId: 'blog-reader', properties: { path: '/blog' } },
      { type: 'page', userId: 'named', name: 'Pricing', properties: { path: '/pricing' } },
    ]);
    await world.settle();
    expect((await instancesOf(journeyId)).entered).toBe(1);
    expect((await traitsOf('snippet')).saw_pricing).toBe(true);
  });

  it('is moved by none of the events Mops writes itself when a client sends a look-alike', async () => {
    const alerting = await world.publish({
      name: 'Tell the owner',
      entry: { trigger: { type: 'event', event: 'Hand-off SLA Missed' } },
      start: 'tag',
      steps: [
        { id: 'tag', type: 'update_traits', set: { alerted: true }, next: 'end' },
        { id: 'end', type: 'exit' },
      ],
    });
    const waiting = await world.publish({
      name: 'Until MQL',
      entry: { trigger: { type: 'event', event: 'Trial Started' } },
      start: 'wait',
      steps: [
        {
          id: 'wait',
          type: 'wait_for_event',
          event: 'Lifecycle Stage Changed',
          timeout: '7d',
          next: 'mql',
          timeoutNext: 'end',
        },
        { id: 'mql', type: 'update_traits', set: { reached: true }, next: 'end' },
        { id: 'end', type: 'exit' },
      ],
    });
    await world.send([track('ned', 'Trial Started')]);
    await world.settle();
    await world.send([
      track('ned', 'Hand-off SLA Missed', { owner: 'spoofed' }),
      track('ned', 'Lifecycle Stage Changed', { from: 'lead', to: 'mql' }),
    ]);
    await world.settle();
    expect((await instancesOf(alerting)).entered).toBe(0);
    expect(await instancesOf(waiting)).toMatchObject({ entered: 1, active: 1 });
    expect(await traitsOf('ned')).not.toHaveProperty('reached');
  });

  it('branches on traits, and on the event its wait heard even after a later timer', async () => {
    await world.publish({
      name: 'Feedback',
      entry: { trigger: { type: 'event', event: 'Trial Started' } },
      start: 'wait-rating',
      steps: [
        {
          id: 'wait-rating',
          type: 'wait_for_event',
          event: 'Rated',
          timeout: '3d',
          next: 'pause',
          timeoutNext: 'no-rating',
        },
        { id: 'pause', type: 'wait', duration: '1d', next: 'by-rating' },
        {
          id: 'by-rating',
          type: 'branch',
          branches: [
            {
              conditions: [
                { source: 'event', path: 'properties.stars', op: 'gte', value: 4 },
                { source: 'trait', path: 'plan', op: 'eq', value: 'pro' },
              ],
              next: 'promoter-pro',
            },
            {
              conditions: [{ source: 'event', path: 'properties.stars', op: 'gte', value: 4 }],
              next: 'promoter',
            },
          ],
          otherwise: 'detractor',
        },
        { id: 'promoter-pro', type: 'update_traits', set: { nps: 'promoter-pro' }, next: 'end' },
        { id: 'promoter', type: 'update_traits', set: { nps: 'promoter' }, next: 'end' },
        { id: 'detractor', type: 'update_traits', set: { nps: 'detractor' }, next: 'end' },
        { id: 'no-rating', type: 'update_traits', set: { nps: 'none' }, next: 'end' },
        { id: 'end', type: 'exit' },
      ],
    });
    await world.send([
      identify('pro-5', { plan: 'pro' }),
      identify('free-5', { plan: 'free' }),
      identify('pro-2', { plan: 'pro' }),
      identify('silent', { plan: 'pro' }),
      ...['pro-5', 'free-5', 'pro-2', 'silent'].map((user) => track(user, 'Trial Started')),
    ]);
    await world.settle();
    await world.advance(HOUR);
    await world.send([
      track('pro-5', 'Rated', { stars: 5 }),
      track('free-5', 'Rated', { stars: 5 }),
      track('pro-2', 'Rated', { stars: 2 }),
    ]);
    await world.settle();
    expect((await traitsOf('pro-5')).nps).toBeUndefined();
    await world.advance(DAY);
    expect((await traitsOf('pro-5')).nps).toBe('promoter-pro');
    expect((await traitsOf('free-5')).nps).toBe('promoter');
    expect((await traitsOf('pro-2')).nps).toBe('detractor');
    expect((await traitsOf('silent')).nps).toBeUndefined();
    await world.advance(2 * DAY);
    expect((await traitsOf('silent')).nps).toBe('none');
  });

  it('waits until a local time in the profile’s own time zone, else the workspace’s', async () => {
    await world.publish({
      name: 'Morning digest',
      entry: { trigger: { type: 'event', event: 'Subscribed' } },
      start: 'nine',
      steps: [
        { id: 'nine', type: 'wait_until', time: '09:00', days: ['tue'], next: 'stamp' },
        { id: 'stamp', type: 'update_traits', set: { digest_at: 'sent' }, next: 'end' },
        { id: 'end', type: 'exit' },
      ],
    });
    await world.send([
      identify('tokyo', { timezone: 'Asia/Tokyo' }),
      identify('rome', {}),
      identify('ny', { timezone: 'America/New_York' }),
      ...['tokyo', 'rome', 'ny'].map((user) => track(user, 'Subscribed')),
    ]);
    await world.settle();
    const reached = async () => {
      const result: string[] = [];
      for (const user of ['tokyo', 'rome', 'ny']) if ((await traitsOf(user)).digest_at) result.push(user);
      return result;
    };
    // Tuesday 09:00 in Tokyo is Tuesday 00:00 UTC.
    await world.advance(Date.parse('2026-11-24T00:00:00Z') - world.clock.now() - 1000);
    expect(await reached()).toEqual([]);
    await world.advance(1000);
    expect(await reached()).toEqual(['tokyo']);
    // 09:00 in Rome is 08:00 UTC.
    await world.advance(Date.parse('2026-11-24T08:00:00Z') - world.clock.now());
    expect(await reached()).toEqual(['tokyo', 'rome']);
    // 09:00 in New York is 14:00 UTC.
    await world.advance(Date.parse('2026-11-24T14:00:00Z') - world.clock.now() - 1000);
    expect(await reached()).toEqual(['tokyo', 'rome']);
    await world.advance(1000);
    expect(await reached()).toEqual(['tokyo', 'rome', 'ny']);
  });

  it('converts on a goal only within its window from the entry event, and never on an older event', async () => {
    const journeyId = await world.publish({
      name: 'Onboarding',
      entry: { trigger: { type: 'event', event: 'Signed Up' } },
      goal: { event: 'Activated', within: '2d', conditions: [] },
      start: 'wait',
      steps: [
        { id: 'wait', type: 'wait', duration: '7d', next: 'end' },
        { id: 'end', type: 'exit' },
      ],
    });
    const start = world.clock.now();
    await world.send([
      identify('fast', {}),
      identify('slow', {}),
      identify('backfilled', {}),
      ...['fast', 'slow', 'backfilled'].map((user) => track(user, 'Signed Up')),
    ]);
    await world.settle();
    await world.advance(DAY);
    // An import of last month's activations arrives now: they happened before the sign-up.
    await world.send([track('fast', 'Activated'), track('backfilled', 'Activated', {}, start - 30 * DAY)]);
    await world.settle();
    await world.advance(2 * DAY);
    await world.send([track('slow', 'Activated')]);
    await world.settle();
    expect(await instancesOf(journeyId)).toEqual({ entered: 3, active: 2, converted: 1 });
  });

  it('holds the event a paused journey waits for, and moves on with it when resumed', async () => {
    const journeyId = await world.publish({
      name: 'Cart',
      entry: { trigger: { type: 'event', event: 'Cart Updated' } },
      start: 'wait-order',
      steps: [
        {
          id: 'wait-order',
          type: 'wait_for_event',
          event: 'Order Completed',
          matchEntryProperty: 'properties.cart_id',
          timeout: '1h',
          next: 'bought',
          timeoutNext: 'abandoned',
        },
        {
          id: 'bought',
          type: 'update_traits',
          set: { outcome: 'bought {{ event.properties.cart_id }}' },
          next: 'end',
        },
        { id: 'abandoned', type: 'update_traits', set: { outcome: 'abandoned' }, next: 'end' },
        { id: 'end', type: 'exit' },
      ],
    });
    await world.send([
      identify('buyer', {}),
      identify('idle', {}),
      track('buyer', 'Cart Updated', { cart_id: 'c1' }),
      track('idle', 'Cart Updated', { cart_id: 'c2' }),
    ]);
    await world.settle();
    await setJourneyPaused(world.storage, world.clock, world.workspaceId, journeyId, true);
    await world.advance(30 * MINUTE);
    await world.send([track('buyer', 'Order Completed', { cart_id: 'c1' })]);
    await world.settle();
    // Paused: both stay where they are, past the timeout.
    await world.advance(2 * HOUR);
    expect((await traitsOf('buyer')).outcome).toBeUndefined();
    expect((await traitsOf('idle')).outcome).toBeUndefined();
    // Publishing a new version keeps the journey paused.
    const journey = await world.storage.journeys.find(world.workspaceId, journeyId);
    await updateDraft(world.storage, world.clock, {
      workspaceId: world.workspaceId,
      id: journeyId,
      definition: { ...(journey?.draft as NonNullable<typeof journey>['draft']), name: 'Cart v2' },
    });
    const { journey: republished } = await publishJourney(
      world.storage,
      world.clock,
      world.workspaceId,
      journeyId,
    );
    expect(republished.status).toBe('paused');
    await setJourneyPaused(world.storage, world.clock, world.workspaceId, journeyId, false);
    await world.advance(2 * MINUTE);
    expect((await traitsOf('buyer')).outcome).toBe('bought c1');
    expect((await traitsOf('idle')).outcome).toBe('abandoned');
  });

  it('keeps a merged-away profile’s journeys and opt-outs with the profile it merged into', async () => {
    const template = await world.template({ subject: 'Cart', mjml: '<p>Your cart</p>' });
    await world.publish({
      name: 'Anonymous cart',
      entry: { trigger: { type: 'event', event: 'Cart Updated' } },
      start: 'wait-order',
      steps: [
        {
          id: 'wait-order',
          type: 'wait_for_event',
          event: 'Order Completed',
          timeout: '1h',
          next: 'end',
          timeoutNext: 'remind',
        },
        { id: 'remind', type: 'send_email', template, next: 'end' },
        { id: 'end', type: 'exit' },
      ],
    });
    // Two customers known from earlier; then, on another device, two anonymous shoppers start carts,
    // and one of them opts out of marketing before logging in.
    await world.send([
      identify('ann', { email: 'ann@example.com' }),
      identify('bea', { email: 'bea@example.com' }),
    ]);
    await world.settle();
    await world.send([
      { type: 'track', anonymousId: 'anon-a', event: 'Cart Updated', properties: {} },
      { type: 'track', anonymousId: 'anon-b', event: 'Cart Updated', properties: {} },
    ]);
    await world.settle();
    const anonymousB = (
      await world.storage.profiles.findIdentities(world.workspaceId, [{ kind: 'anonymous', value: 'anon-b' }])
    )[0]?.profileId as string;
    await world.storage.consent.setSubscription({
      workspaceId: world.workspaceId,
      profileId: anonymousB,
      topic: 'marketing',
      isSubscribed: false,
      at: world.clock.now(),
    });
    // They log in: their anonymous profiles merge into the known ones. Then Ann orders.
    await world.send([
      { type: 'identify', anonymousId: 'anon-a', userId: 'ann', traits: {} },
      { type: 'identify', anonymousId: 'anon-b', userId: 'bea', traits: {} },
    ]);
    await world.settle();
    expect(await world.profileOf('bea')).not.toBe(anonymousB);
    expect((await world.storage.profiles.find(world.workspaceId, anonymousB))?.id).toBe(
      await world.profileOf('bea'),
    );
    await world.send([{ type: 'track', userId: 'ann', event: 'Order Completed', properties: {} }]);
    await world.settle();
    await world.advance(HOUR);
    // Ann ordered (the merged instance heard it); Bea's opt-out followed her: nobody is reminded.
    expect(world.sink.received).toHaveLength(0);
    const page = await world.storage.messages.list(
      world.workspaceId,
      { profileId: await world.profileOf('bea') },
      { limit: 10 },
    );
    expect(page.items.map((message) => [message.status, message.reason])).toEqual([
      ['suppressed', 'unsubscribed from marketing'],
    ]);
  });

  it('counts a wait from when the message before it went out, not from when quiet hours held it back', async () => {
    // 11:00 in Rome, inside these quiet hours: the question goes at 18:00.
    await world.configure({ quietHours: { start: '10:00', end: '18:00' } });
    const ask = await world.template({ subject: 'Confirm?', mjml: '<p>Can you make it?</p>' });
    const nudge = await world.template({ subject: 'You did not confirm', mjml: '<p>Still there?</p>' });
    await world.publish({
      name: 'Booking',
      entry: { trigger: { type: 'event', event: 'Booked' } },
      start: 'ask',
      steps: [
        { id: 'ask', type: 'send_email', template: ask, next: 'answer' },
        {
          id: 'answer',
          type: 'wait_for_event',
          event: 'Confirmed',
          timeout: '2h',
          next: 'end',
          timeoutNext: 'nudge',
        },
        { id: 'nudge', type: 'send_email', template: nudge, next: 'later' },
        { id: 'later', type: 'wait', duration: '1h', next: 'tag' },
        { id: 'tag', type: 'update_traits', set: { nudged: true }, next: 'end' },
        { id: 'end', type: 'exit' },
      ],
    });
    await world.send([identify('gil', { email: 'gil@example.com' }), track('gil', 'Booked')]);
    await world.settle();
    const subjects = () => world.sink.received.map((mail) => mail.parsed.subject);
    // Two hours after the booking the question had not gone yet: no nudge with it at 18:00.
    await world.advance(7 * HOUR + MINUTE);
    expect(subjects()).toEqual(['Confirm?']);
    await world.advance(2 * HOUR - 2 * MINUTE);
    expect(subjects()).toEqual(['Confirm?']);
    await world.advance(2 * MINUTE);
    expect(subjects()).toEqual(['Confirm?', 'You did not confirm']);
    // A wait after a message sent at once ends as it would.
    await world.advance(HOUR);
    expect((await traitsOf('gil')).nudged).toBe(true);
  });

  it('keeps a journey archived while a draft saved at the same moment commits after the archive', async () => {
    const definition: JourneyDraft = {
      name: 'Welcome',
      entry: { trigger: { type: 'event', event: 'Go' } },
      start: 'end',
      steps: [{ id: 'end', type: 'exit' }],
    };
    const journeyId = await world.publish(definition);
    // The archive comes in while the draft save holds what it read, before it writes.
    let archiving: Promise<unknown> | undefined;
    const archivedBeforeUpdate = (journeys: StorageTx['journeys']): StorageTx['journeys'] => ({
      ...journeys,
      update: async (journey) => {
        archiving = archiveJourney(world.storage, world.clock, world.workspaceId, journeyId);
        await Promise.race([archiving, new Promise((resolve) => setTimeout(resolve, 300))]);
        return journeys.update(journey);
      },
    });
    const withJourneys = <T extends object>(target: T): T =>
      new Proxy(target, {
        get: (inner, property, receiver) =>
          property === 'journeys'
            ? archivedBeforeUpdate(Reflect.get(inner, property, receiver) as StorageTx['journeys'])
            : Reflect.get(inner, property, receiver),
      });
    const storage = new Proxy(withJourneys(world.storage), {
      get: (target, property, receiver) =>
        property !== 'transaction'
          ? Reflect.get(target, property, receiver)
          : <T>(work: (tx: StorageTx) => Promise<T>) =>
              world.storage.transaction((tx) => work(withJourneys(tx))),
    });
    await updateDraft(storage, world.clock, {
      workspaceId: world.workspaceId,
      id: journeyId,
      definition: { ...definition, name: 'Welcome, renamed' },
    });
    await archiving;
    const journey = await world.storage.journeys.find(world.workspaceId, journeyId);
    expect({ status: journey?.status, name: journey?.name }).toEqual({
      status: 'archived',
      name: 'Welcome, renamed',
    });
  });

  it('ends, when its timer fires, an instance whose journey was archived without ending it', async () => {
    const journeyId = await world.publish({
      name: 'Archived midway',
      entry: { trigger: { type: 'event', event: 'Go' } },
      start: 'wait',
      steps: [
        { id: 'wait', type: 'wait', duration: '1h', next: 'tag' },
        { id: 'tag', type: 'update_traits', set: { reached: true }, next: 'end' },
        { id: 'end', type: 'exit' },
      ],
    });
    await world.send([identify('a', {}), track('a', 'Go')]);
    await world.settle();
    // As if the process died between archiving and ending the running instances.
    await archiveJourney(world.storage, world.clock, world.workspaceId, journeyId);
    await world.advance(HOUR);
    expect((await traitsOf('a')).reached).toBeUndefined();
    const report = await world.storage.journeys.report(journeyId);
    expect({ active: report.active, exited: report.exited }).toEqual({ active: 0, exited: 1 });
  });
});
