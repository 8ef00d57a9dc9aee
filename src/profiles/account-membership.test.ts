import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAppError } from '../core/errors.js';
import { ACCOUNT_LEFT } from '../core/mops-events.js';
import { accountScores, profileIntent } from '../scoring/scoring.js';
import { createSegment } from '../segments/segments.js';
import { type JourneyWorld, startJourneyWorld } from '../test-support/journey-world.js';
import { BACKENDS } from '../test-support/world.js';
import { removeContactFromAccount } from './account-membership.js';
import { listProfileTimeline } from './profiles.js';

const ENTERPRISE_FIT = {
  id: 'fit',
  name: 'Fit',
  rules: [
    {
      id: 'enterprise',
      kind: 'fit',
      when: { type: 'account_trait', path: 'plan', op: 'eq', value: 'enterprise' },
      points: 30,
    },
  ],
};

describe.each(BACKENDS)('a contact taken out of an account on %s', (backend) => {
  let world: JourneyWorld;

  beforeEach(async () => {
    world = await startJourneyWorld(backend);
    await world.configure({ scoring: { models: [ENTERPRISE_FIT] } });
  });
  afterEach(async () => {
    await world.close();
  });

  it('loses the account’s traits: segments, fit points and the account’s scores leave it out', async () => {
    const enterprise = await createSegment(world.storage, {
      workspaceId: world.workspaceId,
      input: {
        name: 'Enterprise contacts',
        kind: 'live',
        rule: { type: 'account_trait', path: 'plan', op: 'eq', value: 'enterprise' },
      },
      now: world.clock.now(),
    });
    await world.settle();
    await world.send([
      { type: 'group', userId: 'ada', groupId: 'acme', traits: { plan: 'enterprise' } },
      { type: 'group', userId: 'bo', groupId: 'acme', traits: { plan: 'enterprise' } },
    ]);
    await world.settle();
    const [ada, bo] = [await world.profileOf('ada'), await world.profileOf('bo')];
    const members = async () =>
      (await world.storage.segments.listMembers(enterprise.id, { limit: 10 })).items.map(
        (item) => item.profileId,
      );
    const fitOf = async (profileId: string) =>
      (
        await profileIntent(world.storage, {
          workspaceId: world.workspaceId,
          profileId,
          now: world.clock.now(),
        })
      ).scores.find((score) => score.model === 'fit')?.score;
    expect((await members()).sort()).toEqual([ada, bo].sort());
    expect(await fitOf(ada)).toBe(30);
    const [acme] = await world.storage.profiles.listAccounts(ada);
    if (!acme) throw new Error('Ada has no account');

    await removeContactFromAccount(world.storage, {
      workspaceId: world.workspaceId,
      profileId: ada,
      accountId: acme.id,
      by: 'usr_admin',
      now: world.clock.now(),
    });
    await world.settle();

    expect(await members()).toEqual([bo]);
    expect(await fitOf(ada)).toBe(0);
    expect((await world.storage.scoring.scores([ada])).get(ada)?.fit?.score).toBe(0);
    expect(await fitOf(bo)).toBe(30);
    const acmeScores = await accountScores(world.storage, {
      workspaceId: world.workspaceId,
      accountId: acme.id,
      now: world.clock.now(),
    });
    expect(acmeScores.find((score) => score.model === 'fit')).toMatchObject({ contacts: 1, total: 30 });
    const timeline = await listProfileTimeline(world.storage, world.workspaceId, ada, { limit: 20 });
    expect(timeline?.items.find((event) => event.name === ACCOUNT_LEFT)?.payload).toMatchObject({
      properties: { account_id: acme.id, group_id: 'acme', by: 'usr_admin' },
    });

    // Not in it any more: nothing to take out.
    const again = await removeContactFromAccount(world.storage, {
      workspaceId: world.workspaceId,
      profileId: ada,
      accountId: acme.id,
      by: 'usr_admin',
      now: world.clock.now(),
    }).catch((error: unknown) => error);
    expect(isAppError(again) && [again.code, again.field]).toEqual(['not_found', 'accountId']);

    // A group call naming the account again adds the contact back.
    await world.send([{ type: 'group', userId: 'ada', groupId: 'acme', traits: {} }]);
    await world.settle();
    expect((await members()).sort()).toEqual([ada, bo].sort());
  });
  it('leaves a segment asking only about the fit points the account gave', async () => {
    const fitted = await createSegment(world.storage, {
      workspaceId: world.workspaceId,
      input: { name: 'Good fit', kind: 'live', rule: { type: 'score', model: 'fit', min: 30 } },
      now: world.clock.now(),
    });
    await world.settle();
    await world.send([{ type: 'group', userId: 'ada', groupId: 'acme', traits: { plan: 'enterprise' } }]);
    await world.settle();
    const ada = await world.profileOf('ada');
    const members = async () =>
      (await world.storage.segments.listMembers(fitted.id, { limit: 10 })).items.map(
        (item) => item.profileId,
      );
    expect(await members()).toEqual([ada]);
    const [acme] = await world.storage.profiles.listAccounts(ada);
    await removeContactFromAccount(world.storage, {
      workspaceId: world.workspaceId,
      profileId: ada,
      accountId: acme?.id ?? '',
      by: 'usr_admin',
      now: world.clock.now(),
    });
    await world.settle();
    expect(await members()).toEqual([]);
  });
});
