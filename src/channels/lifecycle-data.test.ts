import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type JourneyWorld, startJourneyWorld } from '../test-support/journey-world.js';
import { crmWebhooks, JsonReceiver } from '../test-support/json-receiver.js';
import { identify, track } from '../test-support/segment-calls.js';
import { BACKENDS } from '../test-support/world.js';

/**
 * A nurture e-mail signed by the contact's sales owner, a CRM call with the lead's scores: messages
 * whose Liquid names `lifecycle` read the contact's stage, owner and scores as they stand when sent.
 */
describe.each(BACKENDS)('lifecycle in messages, on %s', (backend) => {
  let world: JourneyWorld;
  let receiver: JsonReceiver;

  beforeEach(async () => {
    world = await startJourneyWorld(backend);
    receiver = await new JsonReceiver().start();
    await world.configure({
      webhooks: crmWebhooks(receiver),
      scoring: {
        models: [
          {
            id: 'engagement',
            name: 'Engagement',
            rules: [
              { id: 'pricing', kind: 'event', event: 'Pricing Viewed', points: 20 },
              { id: 'demo', kind: 'event', event: 'Demo Requested', points: 40, repeat: 'once' },
            ],
          },
        ],
      },
      lifecycle: {
        stages: ['lead', 'mql', 'sql'],
        rules: [{ kind: 'score', to: 'mql', model: 'engagement', atLeast: 50 }],
        recycleTo: 'lead',
      },
      handOff: {
        stage: 'mql',
        owners: [{ id: 'giulia', name: 'Giulia Bianchi', email: 'giulia@example.com' }],
        acceptWithin: '30d',
      },
    });
  });
  afterEach(async () => {
    await receiver.stop();
    await world.close();
  });

  it('fills an e-mail and a webhook body with the stage, owner and scores when they are sent', async () => {
    const template = await world.template({
      subject:
        '{{ lifecycle.owner.name }} will call you ({{ lifecycle.stage }}, {{ lifecycle.scores.engagement }})',
      mjml: '<mjml><mj-body><mj-section><mj-column><mj-text>Write to {{ lifecycle.owner.email }}</mj-text></mj-column></mj-section></mj-body></mjml>',
    });
    await world.publish({
      name: 'Demo follow-up',
      entry: { trigger: { type: 'event', event: 'Demo Requested' } },
      start: 'mail',
      steps: [
        { id: 'mail', type: 'send_email', template, next: 'crm' },
        {
          id: 'crm',
          type: 'webhook',
          destination: 'crm',
          path: '/',
          body: '{"user": {{ profile.userId | json }}, "stage": {{ lifecycle.stage | json }}, "score": {{ lifecycle.scores.engagement | json }}, "owner": {{ lifecycle.owner.id | json }}}',
          next: 'end',
        },
        { id: 'end', type: 'exit' },
      ],
    });
    await world.send([
      identify('ada', { email: 'ada@example.com' }),
      track('ada', 'Pricing Viewed'),
      track('ada', 'Demo Requested'),
    ]);
    await world.settle();

    const [mail] = await world.sink.waitFor(1);
    expect(mail?.parsed.subject).toBe('Giulia Bianchi will call you (mql, 60)');
    expect(mail?.parsed.text).toContain('Write to giulia@example.com');
    await expect
      .poll(() => receiver.received)
      .toEqual([{ user: 'ada', stage: 'mql', score: 60, owner: 'giulia' }]);
  });

  it('leaves lifecycle empty for a contact with no stage, owner or points', async () => {
    const template = await world.template({
      subject:
        'Stage: {{ lifecycle.stage | default: "none" }}; owner: {{ lifecycle.owner.name | default: "nobody" }}; score {{ lifecycle.scores.engagement }}',
      mjml: '<mjml><mj-body><mj-section><mj-column><mj-text>Hello</mj-text></mj-column></mj-section></mj-body></mjml>',
    });
    await world.publish({
      name: 'Welcome',
      entry: { trigger: { type: 'event', event: 'Signed Up' } },
      start: 'mail',
      steps: [
        { id: 'mail', type: 'send_email', template, next: 'end' },
        { id: 'end', type: 'exit' },
      ],
    });
    await world.send([identify('bo', { email: 'bo@example.com' }), track('bo', 'Signed Up')]);
    await world.settle();
    const [mail] = await world.sink.waitFor(1);
    expect(mail?.parsed.subject).toBe('Stage: none; owner: nobody; score 0');
  });
});
