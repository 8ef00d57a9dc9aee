import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseArm } from '../journeys/executor.js';
import {
  type ApiError,
  apiClient,
  type InstanceJson,
  type MailWorld,
  type Profile,
  startMailWorld,
  unique,
} from '../test-support/api-client.js';
import { BACKENDS } from '../test-support/world.js';

/** Manual enrolment, entry conditions and archiving of journeys, over HTTP. */
describe.each(BACKENDS)('journey API on %s', (backend) => {
  let mailWorld: MailWorld;
  const {
    api,
    ingest,
    caughtUp,
    newProfile,
    newTemplate,
    emailJourney,
    publish,
    enrol,
    report,
    listMessages,
    settledMessages,
    mailTo,
  } = apiClient(() => mailWorld);

  beforeAll(async () => {
    mailWorld = await startMailWorld(backend);
  });

  afterAll(async () => {
    await mailWorld?.close();
  });

  describe('manual enrolment', () => {
    it('enters a profile by hand and e-mails it, with the enrolment properties as the entry event', async () => {
      const journeyId = await publish(emailJourney(await newTemplate()));
      const ada = await newProfile();

      const enrolled = await enrol(journeyId, { profileId: ada.id, properties: { coupon: 'WELCOME10' } });

      expect(enrolled.status).toBe(201);
      expect(enrolled.body).toMatchObject({ journeyId, profileId: ada.id, version: 1 });
      const mail = await mailTo(ada.email);
      expect(mail.parsed.subject).toBe('Hello Ada');
      expect(String(mail.parsed.html)).toContain('your code is WELCOME10');
      const [message] = await settledMessages({ profileId: ada.id }, 1);
      expect(message).toMatchObject({ journeyId, stepId: 'send', status: 'sent', toAddress: ada.email });
      expect((await report(journeyId)).steps.send).toMatchObject({ entered: 1 });
    });

    it('answers 409 when the re-entry rules keep the profile out, and does not enter it again', async () => {
      const journeyId = await publish(
        emailJourney(await newTemplate(), { trigger: { type: 'manual' }, reentry: { policy: 'once' } }),
      );
      const bob = await newProfile();
      expect((await enrol(journeyId, { profileId: bob.id })).status).toBe(201);

      const again = await enrol(journeyId, { profileId: bob.id });

      expect(again.status).toBe(409);
      expect(again.body.error).toMatchObject({ code: 'conflict' });
      expect(again.body.error.message).toMatch(/re-entry/);
      expect((await report(journeyId)).entered).toBe(1);
      expect(await settledMessages({ profileId: bob.id }, 1)).toHaveLength(1);
    });

    it('answers 404 naming profileId for an unknown profile, and 404 for an unknown journey', async () => {
      const journeyId = await publish(emailJourney(await newTemplate()));
      const cy = await newProfile();

      const noProfile = await enrol(journeyId, { profileId: 'prf_nobody' });
      expect(noProfile.status).toBe(404);
      expect(noProfile.body.error).toMatchObject({ code: 'not_found', field: 'profileId' });
      expect(noProfile.body.error.message).toMatch(/prf_nobody/);

      const noJourney = await enrol('jrn_nowhere', { profileId: cy.id });
      expect(noJourney.status).toBe(404);
      expect(noJourney.body.error.code).toBe('not_found');
      expect(noJourney.body.error.message).toMatch(/jrn_nowhere/);
    });

    it('answers 400 naming the field for a body without profileId or with properties that are not an object', async () => {
      const journeyId = await publish(emailJourney(await newTemplate()));
      const dee = await newProfile();

      const missing = await enrol(journeyId, { properties: {} });
      expect(missing.status).toBe(400);
      expect(missing.body.error).toMatchObject({ code: 'invalid_input', field: 'profileId' });

      const badProperties = await enrol(journeyId, { profileId: dee.id, properties: 'coupon' });
      expect(badProperties.status).toBe(400);
      expect(badProperties.body.error).toMatchObject({ code: 'invalid_input', field: 'properties' });
      expect((await report(journeyId)).entered).toBe(0);
    });

    it('answers 409 for a journey that is still a draft', async () => {
      const created = await api<{ id: string }>('POST', '/journeys', {
        definition: emailJourney(await newTemplate()),
      });
      const eve = await newProfile();

      const enrolled = await enrol(created.body.id, { profileId: eve.id });

      expect(enrolled.status).toBe(409);
      expect(enrolled.body.error.message).toMatch(/draft/);
    });
  });

  describe('publishing', () => {
    it('refuses a draft naming what the workspace lacks with a message that names the field as `field` does', async () => {
      const template = await newTemplate();
      const withSteps = (steps: unknown[], entry: unknown = { trigger: { type: 'manual' } }) => ({
        name: unique('refused'),
        entry,
        start: 'first',
        steps: [...steps, { id: 'done', type: 'exit' }],
      });
      const drafts = [
        withSteps([{ id: 'first', type: 'send_email', template: 'tpl_missing', next: 'done' }]),
        withSteps([{ id: 'first', type: 'send_email', template, topic: 'no-such-topic', next: 'done' }]),
        withSteps([{ id: 'first', type: 'wait', duration: '1h', next: 'done' }], {
          trigger: { type: 'segment', segment: 'seg_missing', on: 'entered' },
        }),
        withSteps([
          {
            id: 'first',
            type: 'branch',
            branches: [{ conditions: [{ source: 'segment', segment: 'seg_missing' }], next: 'done' }],
            otherwise: 'done',
          },
        ]),
        // A step nothing leads to: published, nobody would ever reach it.
        withSteps([
          { id: 'first', type: 'wait', duration: '1h', next: 'done' },
          { id: 'stray', type: 'wait', duration: '1d', next: 'first' },
        ]),
        // A loop with no wait: each time round would send the e-mail again.
        withSteps([
          { id: 'first', type: 'send_email', template, next: 'vip' },
          {
            id: 'vip',
            type: 'branch',
            branches: [
              { conditions: [{ source: 'trait', path: 'vip', op: 'eq', value: true }], next: 'done' },
            ],
            otherwise: 'first',
          },
        ]),
      ];
      const fields: string[] = [];
      const messages: string[] = [];
      const issues: unknown[] = [];
      for (const definition of drafts) {
        const created = await api<{ id: string }>('POST', '/journeys', { definition });
        expect(created.status).toBe(201);
        const refused = await api<ApiError>('POST', `/journeys/${created.body.id}/publish`);
        expect(refused.status).toBe(400);
        const { field, message } = refused.body.error;
        expect(field).toBeDefined();
        expect(message.startsWith(`${field}: `)).toBe(true);
        fields.push(field ?? '');
        messages.push(message);
        issues.push(refused.body.error.issue);
      }
      expect(fields).toEqual([
        'draft.steps.0.template',
        'draft.steps.0.topic',
        'draft.entry.trigger.segment',
        'draft.steps.0.branches.0.conditions.0.segment',
        'draft.steps.1',
        'draft.steps.0',
      ]);
      expect(messages.at(-1)).toMatch(/^draft\.steps\.0: first → vip → first loops back with no wait/);
      // With a reason the console words in its language.
      expect(issues.at(-1)).toEqual({
        code: 'refused',
        reason: 'loop_without_wait',
        params: { steps: 'first → vip → first' },
      });
    });
  });

  describe('drafts', () => {
    /** A journey half built in the console: settings not chosen, exits not connected. */
    const unfinished = (name: string) => ({
      name,
      entry: { trigger: { type: 'event', event: '' }, reentry: { policy: 'once' } },
      start: 'send',
      steps: [
        { id: 'send', type: 'send_email', template: '', topic: 'marketing' },
        {
          id: 'vip',
          type: 'branch',
          branches: [{ conditions: [{ source: 'score', model: '', op: 'gte', value: null }] }],
        },
        { id: 'later', type: 'wait', duration: '', next: 'gone' },
      ],
      canvas: { entry: { x: 0, y: 0 }, send: { x: 0, y: 150 }, vip: { x: 0, y: 300 } },
    });

    it('saves an unfinished draft and gives it back as saved; publishing it names the step and field it lacks', async () => {
      const definition = unfinished(unique('half built'));
      const created = await api<{ id: string; status: string; draft: unknown }>('POST', '/journeys', {
        definition,
      });
      expect(created.status).toBe(201);
      const changed = { ...definition, steps: [...definition.steps, { id: 'done', type: 'exit' }] };
      const saved = await api('PUT', `/journeys/${created.body.id}`, { definition: changed });
      expect(saved.status).toBe(200);

      const read = await api<{ status: string; currentVersion: number | null; draft: unknown }>(
        'GET',
        `/journeys/${created.body.id}`,
      );
      expect(read.body).toMatchObject({ status: 'draft', currentVersion: null });
      expect(read.body.draft).toEqual(changed);

      const refused = await api<ApiError>('POST', `/journeys/${created.body.id}/publish`);
      expect(refused.status).toBe(400);
      expect(refused.body.error).toMatchObject({
        field: 'draft.entry.trigger.event',
        message: 'draft.entry.trigger.event: must be filled in',
      });
      const withEvent = {
        ...changed,
        entry: { ...changed.entry, trigger: { type: 'event', event: 'Signed Up' } },
      };
      expect((await api('PUT', `/journeys/${created.body.id}`, { definition: withEvent })).status).toBe(200);
      const stillRefused = await api<ApiError>('POST', `/journeys/${created.body.id}/publish`);
      expect(stillRefused.body.error.field).toBe('draft.steps.0.template');
      expect((await api<{ status: string }>('GET', `/journeys/${created.body.id}`)).body.status).toBe(
        'draft',
      );
      // Nothing runs a draft: nobody can be enrolled in it.
      expect((await enrol(created.body.id, { profileId: (await newProfile()).id })).status).toBe(409);
    });

    it('refuses a malformed draft with a 400 naming the field, and keeps the draft it had', async () => {
      const definition = unfinished(unique('kept'));
      const created = await api<{ id: string }>('POST', '/journeys', { definition });
      expect(created.status).toBe(201);
      const withSteps = (steps: unknown[]) => ({ ...definition, steps });
      const malformed: Array<[unknown, string]> = [
        [withSteps([{ id: 'later', type: 'wait', duration: 5 }]), 'definition.steps.0.duration'],
        [withSteps([{ id: 'later', type: 'wait', duration: 'a day' }]), 'definition.steps.0.duration'],
        [withSteps([{ id: 'later', type: 'wait', durtion: '1d' }]), 'definition.steps.0.durtion'],
        [withSteps([{ id: 'x', type: 'teleport' }]), 'definition.steps.0.type'],
        [withSteps([{ id: 'x' }]), 'definition.steps.0.type'],
        [withSteps([{ type: 'exit' }]), 'definition.steps.0.id'],
        [
          withSteps([
            { id: 'x', type: 'exit' },
            { id: 'x', type: 'wait' },
          ]),
          'definition.steps.1.id',
        ],
        [withSteps([{ id: 'x', type: 'send_sms', body: 'x'.repeat(10_001) }]), 'definition.steps.0.body'],
        [
          withSteps(Array.from({ length: 201 }, (_, index) => ({ id: `s${index}`, type: 'exit' }))),
          'definition.steps',
        ],
        [{ ...definition, name: 'x'.repeat(201) }, 'definition.name'],
        [{ ...definition, name: ' ' }, 'definition.name'],
        [{ ...definition, entry: {} }, 'definition.entry.trigger'],
        [{ ...definition, steps: undefined }, 'definition.steps'],
        // A condition that could never hold, as segment rules refuse one: ordered by a word or a code.
        ...[
          { source: 'trait', path: 'plan', op: 'gt', value: 'pro' },
          { source: 'trait', path: 'postcode', op: 'gte', value: '00100' },
          { source: 'event', path: 'properties..total', op: 'gt', value: 5 },
        ].map((condition): [unknown, string] => [
          withSteps([
            { id: 'b', type: 'branch', branches: [{ conditions: [condition], next: 'b' }], otherwise: 'b' },
          ]),
          `definition.steps.0.branches.0.conditions.0.${condition.path.includes('..') ? 'path' : 'value'}`,
        ]),
      ];
      for (const [body, field] of malformed) {
        const refused = await api<ApiError>('PUT', `/journeys/${created.body.id}`, { definition: body });
        expect(refused.status, field).toBe(400);
        expect(refused.body.error.field).toBe(field);
        expect(refused.body.error.message.startsWith(`${field}: `)).toBe(true);
      }
      const refusedNew = await api<ApiError>('POST', '/journeys', { definition: malformed[0]?.[0] });
      expect(refusedNew.body.error.field).toBe('definition.steps.0.duration');
      expect((await api<{ draft: unknown }>('GET', `/journeys/${created.body.id}`)).body.draft).toEqual(
        definition,
      );
    });

    it('publishes an unchanged journey (or one whose steps only moved) as the version it is, and a template edited since as a new one', async () => {
      const templateId = await newTemplate();
      const journeyId = await publish(emailJourney(templateId));
      const again = await api<{ currentVersion: number }>('POST', `/journeys/${journeyId}/publish`);
      expect(again.status).toBe(200);
      expect(again.body.currentVersion).toBe(1);
      // Steps moved on the canvas (as the builder does when counts make a step taller): the same journey.
      const { draft } = (await api<{ draft: Record<string, unknown> }>('GET', `/journeys/${journeyId}`)).body;
      const canvas = { send: { x: 40, y: 330 }, done: { x: 40, y: 480 } };
      expect((await api('PUT', `/journeys/${journeyId}`, { definition: { ...draft, canvas } })).status).toBe(
        200,
      );
      const afterMove = await api<{ currentVersion: number }>('POST', `/journeys/${journeyId}/publish`);
      expect(afterMove.body.currentVersion).toBe(1);
      expect(
        (
          await api('PUT', `/templates/${templateId}`, {
            name: 'Edited',
            subject: 'A new subject',
            mjml: '<p>New</p>',
          })
        ).status,
      ).toBe(200);
      const edited = await api<{ currentVersion: number }>('POST', `/journeys/${journeyId}/publish`);
      expect(edited.body.currentVersion).toBe(2);
    });

    it('runs the published version while an unfinished draft replaces it', async () => {
      const published = emailJourney(await newTemplate());
      const journeyId = await publish(published);
      const draft = unfinished(published.name as string);
      expect((await api('PUT', `/journeys/${journeyId}`, { definition: draft })).status).toBe(200);
      const ada = await newProfile();

      const enrolled = await enrol(journeyId, { profileId: ada.id });

      expect(enrolled.status).toBe(201);
      expect(enrolled.body).toMatchObject({ version: 1 });
      const [message] = await settledMessages({ journeyId }, 1);
      expect(message).toMatchObject({ stepId: 'send', status: 'sent', toAddress: ada.email });
      expect((await report(journeyId)).steps.send).toMatchObject({ entered: 1 });
    });
  });

  describe('entry conditions', () => {
    it('enters on Order Completed only when every condition on the event holds', async () => {
      const journeyId = await publish(
        emailJourney(await newTemplate(), {
          trigger: {
            type: 'event',
            event: 'Order Completed',
            conditions: [
              { source: 'event', path: 'properties.total', op: 'gte', value: 100 },
              { source: 'event', path: 'properties.currency', op: 'in', value: ['EUR', 'USD'] },
            ],
          },
          reentry: { policy: 'every_time' },
        }),
      );
      const big = await newProfile();
      const exact = await newProfile();
      const small = await newProfile();
      const foreign = await newProfile();
      const numericString = await newProfile();
      const order = (profile: Profile, properties: Record<string, unknown>) => ({
        type: 'track',
        userId: profile.userId,
        event: 'Order Completed',
        properties,
      });

      await ingest([
        order(big, { total: 250, currency: 'EUR' }),
        order(exact, { total: 100, currency: 'USD' }),
        order(small, { total: 99.99, currency: 'EUR' }),
        order(foreign, { total: 500, currency: 'GBP' }),
        order(numericString, { total: '120', currency: 'EUR' }),
      ]);
      await caughtUp();

      expect((await report(journeyId)).entered).toBe(3);
      const messages = await settledMessages({ journeyId }, 3);
      expect(messages.map((m) => m.profileId).sort()).toEqual([big.id, exact.id, numericString.id].sort());
      expect(messages.every((m) => m.status === 'sent')).toBe(true);
    });
  });

  describe('archiving', () => {
    it('ends running instances as exited, reason journey archived', async () => {
      const journeyId = await publish({
        name: unique('journey'),
        entry: { trigger: { type: 'manual' } },
        start: 'wait-a-day',
        steps: [
          { id: 'wait-a-day', type: 'wait', duration: '1d', next: 'send' },
          { id: 'send', type: 'send_email', template: await newTemplate(), next: 'done' },
          { id: 'done', type: 'exit' },
        ],
      });
      const lea = await newProfile();
      const max = await newProfile();
      for (const profile of [lea, max])
        expect((await enrol(journeyId, { profileId: profile.id })).status).toBe(201);
      expect(await report(journeyId)).toMatchObject({ entered: 2, active: 2 });

      const archived = await api<{ status: string }>('POST', `/journeys/${journeyId}/archive`);

      expect(archived.status).toBe(200);
      expect(archived.body.status).toBe('archived');
      const after = await report(journeyId);
      expect(after).toMatchObject({ entered: 2, active: 0, completed: 0, exited: 2 });
      expect(after.steps['wait-a-day']).toMatchObject({ entered: 2, waiting: 0, exited: 2 });
      for (const profile of [lea, max]) {
        const instances = await api<{ items: InstanceJson[] }>('GET', `/profiles/${profile.id}/journeys`);
        expect(instances.body.items).toEqual([
          expect.objectContaining({ journeyId, status: 'exited', endReason: 'journey archived' }),
        ]);
        expect(instances.body.items[0]?.endedAt).not.toBeNull();
      }
      expect((await listMessages({ journeyId })).items).toEqual([]);
    });

    it('admits nobody once archived, neither on its event nor by hand', async () => {
      const event = unique('Trial Started');
      const journeyId = await publish(
        emailJourney(await newTemplate(), {
          trigger: { type: 'event', event },
          reentry: { policy: 'every_time' },
        }),
      );
      const before = await newProfile();
      const later = await newProfile();
      await ingest([{ type: 'track', userId: before.userId, event }]);
      await caughtUp();
      expect((await report(journeyId)).entered).toBe(1);

      expect((await api('POST', `/journeys/${journeyId}/archive`)).status).toBe(200);
      await ingest([
        { type: 'track', userId: later.userId, event },
        { type: 'track', userId: before.userId, event },
      ]);
      await caughtUp();
      const byHand = await enrol(journeyId, { profileId: later.id });

      expect(byHand.status).toBe(409);
      expect(byHand.body.error.message).toMatch(/archived/);
      expect((await report(journeyId)).entered).toBe(1);
      const instances = await api<{ items: InstanceJson[] }>('GET', `/profiles/${later.id}/journeys`);
      expect(instances.body.items).toEqual([]);
      expect((await settledMessages({ journeyId }, 1))[0]?.profileId).toBe(before.id);
    });
  });

  describe('split results', () => {
    it("reports each arm and the holdout on the journey's goal, counting those who left the journey", async () => {
      const split = {
        id: 'split',
        type: 'split' as const,
        arms: [
          { name: 'a', weight: 1, next: 'done' },
          { name: 'b', weight: 1, next: 'linger' },
        ],
        holdout: { weight: 1 },
      };
      const goal = unique('Bought');
      const journeyId = await publish({
        name: unique('journey'),
        entry: { trigger: { type: 'manual' } },
        goal: { event: goal },
        start: 'split',
        steps: [
          split,
          { id: 'linger', type: 'wait', duration: '1d', next: 'done' },
          { id: 'done', type: 'exit' },
        ],
      });
      const groupOf = (profile: Profile) =>
        chooseArm(split, `${journeyId}:split:${profile.id}`)?.name ?? null;
      // Two contacts in each group at least (the arm is a hash of the profile id), and one buyer of each.
      const profiles: Profile[] = [];
      const inGroup = (arm: string | null) => profiles.filter((profile) => groupOf(profile) === arm);
      while ([inGroup('a'), inGroup('b'), inGroup(null)].some((group) => group.length < 2))
        profiles.push(await newProfile());
      for (const profile of profiles)
        expect((await enrol(journeyId, { profileId: profile.id })).status).toBe(201);
      const buyers = ['a', 'b', null].flatMap((arm) => inGroup(arm).slice(0, 1));
      await ingest(buyers.map((buyer) => ({ type: 'track', userId: buyer.userId, event: goal })));
      await caughtUp();
      const expected = (arm: string | null) => {
        const entered = profiles.filter((profile) => groupOf(profile) === arm).length;
        const converted = buyers.filter((profile) => groupOf(profile) === arm).length;
        // Arm b's contacts wait in the journey for a day: the goal has no window, so those who have
        // not bought are pending until they leave it.
        const pending = arm === 'b' ? entered - converted : 0;
        return {
          arm,
          isControl: arm === null,
          entered,
          converted,
          pending,
          decided: entered - pending,
          decidedConverted: converted,
          rate: entered - pending === 0 ? null : converted / (entered - pending),
        };
      };
      // Arm a and the holdout left at once: their goal is met after their journey; b's still in it
      // converts. The journey counts a's buyer and b's, not the held-out one: it never worked on them.
      const { splits, heldOut, converted } = await report(journeyId);
      expect(heldOut).toBe(profiles.filter((profile) => groupOf(profile) === null).length);
      expect(converted).toBe(2);
      expect(splits).toEqual([
        {
          stepId: 'split',
          hasGoal: true,
          goalWithin: null,
          groups: [
            expect.objectContaining(expected('a')),
            expect.objectContaining(expected('b')),
            expect.objectContaining({ ...expected(null), comparison: null }),
          ],
          // The sizes are tested against the weights once five are expected in each of the three groups.
          sampleRatio:
            profiles.length >= 15 ? { pValue: expect.any(Number), isMismatch: expect.any(Boolean) } : null,
        },
      ]);
      // Each contact's journeys say which arm it took.
      for (const profile of profiles.slice(0, 3)) {
        const journeys = await api<{ items: Array<{ journeyId: string; splits: unknown }> }>(
          'GET',
          `/profiles/${profile.id}/journeys`,
        );
        expect(journeys.body.items.find((item) => item.journeyId === journeyId)?.splits).toEqual([
          { stepId: 'split', arm: groupOf(profile) },
        ]);
      }
      // So few contacts say nothing yet: no p-value; too early where some are still in the journey.
      const [armA, armB] = splits[0]?.groups ?? [];
      expect(armA?.comparison).toMatchObject({ pValue: null, verdict: 'too_few' });
      expect(armB?.comparison).toMatchObject({ pValue: null, verdict: 'too_early' });
      // The journey's own conversion is of those it worked on: the held out are no part of it.
      const dashboard = await api<{ items: Array<{ id: string; conversionRate: number | null }> }>(
        'GET',
        '/dashboard/journeys',
      );
      expect(dashboard.body.items.find((item) => item.id === journeyId)?.conversionRate).toBe(
        2 / (profiles.length - heldOut),
      );
    });
  });
});
