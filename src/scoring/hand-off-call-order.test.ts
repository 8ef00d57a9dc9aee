import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type JourneyWorld, startJourneyWorld } from '../test-support/journey-world.js';
import { crmWebhooks, JsonReceiver } from '../test-support/json-receiver.js';
import { identify, track } from '../test-support/segment-calls.js';
import { BACKENDS } from '../test-support/world.js';
import { recycleProfile } from './hand-offs.js';

const MINUTE = 60_000;

interface HandOffCall {
  type: string;
  hand_off: { id: string };
}

describe.each(BACKENDS)('the order a lead’s hand-off calls reach the CRM in, on %s', (backend) => {
  let world: JourneyWorld;
  let crm: JsonReceiver<HandOffCall>;

  beforeEach(async () => {
    world = await startJourneyWorld(backend);
    crm = await new JsonReceiver<HandOffCall>().start();
    await world.configure({
      webhooks: crmWebhooks(crm),
      scoring: {
        models: [
          {
            id: 'engagement',
            name: 'Engagement',
            rules: [{ id: 'demo', kind: 'event', event: 'Demo Requested', points: 50, repeat: 'once' }],
          },
        ],
      },
      lifecycle: {
        stages: ['lead', 'mql', 'sql'],
        rules: [
          { kind: 'event', to: 'lead', event: 'Signed Up' },
          { kind: 'score', to: 'mql', model: 'engagement', atLeast: 50 },
        ],
        recycleTo: 'lead',
      },
      handOff: {
        stage: 'mql',
        owners: [{ id: 'marco', name: 'Marco', email: 'marco@example.com' }],
        assignment: [],
        destination: 'crm',
        acceptWithin: '2d',
        recycleOnMiss: true,
      },
    });
  });
  afterEach(async () => {
    await crm.stop();
    await world.close();
  });

  /** The lead is handed off, its call to the CRM answered as `crm.answers` say; then sales sends it back. */
  const handOffThenRecycle = async (userId: string) => {
    await world.send([identify(userId, { country: 'FR' }), track(userId, 'Signed Up')]);
    await world.send([track(userId, 'Demo Requested')]);
    await world.settle();
    const moved = await recycleProfile(world.storage, {
      workspaceId: world.workspaceId,
      profileId: await world.profileOf(userId),
      reason: 'no budget this year',
      now: world.clock.now(),
    });
    expect(moved).toMatchObject({ from: 'mql', to: 'lead', queued: 1 });
  };
  const arrivals = () => crm.arrivals.map(({ body, status }) => [body.type, status]);

  it('tells the CRM of a recycle only once the hand-off call it follows got through on a retry', async () => {
    crm.answers = [503];
    await handOffThenRecycle('ann');
    await world.settle();
    // Waiting out its back-off, the hand-off call holds the recycle back, on another worker too.
    expect(await world.dispatcher().runOnce()).toBe(0);
    expect(arrivals()).toEqual([['mops.hand_off.created', 503]]);

    await world.advance(MINUTE);
    expect(arrivals()).toEqual([
      ['mops.hand_off.created', 503],
      ['mops.hand_off.created', 204],
      ['mops.hand_off.recycled', 204],
    ]);
    const [created, , recycled] = crm.received;
    expect(recycled?.hand_off.id).toBe(created?.hand_off.id);
  });

  it('lets the recycle go once the hand-off call is dead-lettered, and sends that call after it when re-driven', async () => {
    crm.answers = [400];
    await handOffThenRecycle('bo');
    await world.settle();
    // A dead letter does not hold the lead's later calls back for ever.
    expect(arrivals()).toEqual([
      ['mops.hand_off.created', 400],
      ['mops.hand_off.recycled', 204],
    ]);

    const { requeued } = await world.storage.messages.requeueFailed({
      workspaceId: world.workspaceId,
      channel: 'webhook',
      now: world.clock.now(),
    });
    expect(requeued).toHaveLength(1);
    await world.settle();
    expect(arrivals()).toEqual([
      ['mops.hand_off.created', 400],
      ['mops.hand_off.recycled', 204],
      ['mops.hand_off.created', 204],
    ]);
  });
});
