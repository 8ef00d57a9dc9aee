/**
 * A valid body for each admin API operation taking JSON, filled in far enough (settings with every
 * section, a journey with a step of each kind, a rule nesting conditions) that a walk making one field
 * at a time wrong reaches the checks deep inside them.
 */

export const OWNER = { email: 'owner@example.com', password: 'correct horse battery staple' };

/** The settings the world is given: the destination and score model here are the ones paths name. */
export const FULL_SETTINGS = {
  timezone: 'Europe/Rome',
  smtp: { host: 'smtp.example.com', port: 587, from: 'Shop <shop@example.com>' },
  sms: { accountSid: 'AC1', authToken: 'token-0123456789', from: '+15005550006' },
  frequencyCaps: { email: [{ max: 3, period: '1d' }], sms: [{ max: 1, period: '1d' }] },
  quietHours: { start: '21:00', end: '08:00' },
  topics: [
    { id: 'marketing', name: 'Marketing' },
    { id: 'transactional', name: 'Transactional' },
  ],
  webhooks: {
    destinations: [{ id: 'probe', url: 'https://crm.example.com/hooks', headers: { 'X-Api-Key': 'k1' } }],
    timeoutMs: 5000,
  },
  scoring: {
    models: [
      {
        id: 'engagement',
        name: 'Engagement',
        rules: [
          { id: 'visit', kind: 'event', event: 'Visit', points: 5, where: [{ path: 'plan', op: 'exists' }] },
          {
            id: 'fit',
            kind: 'fit',
            when: { type: 'trait', path: 'plan', op: 'eq', value: 'pro' },
            points: 10,
          },
        ],
      },
    ],
  },
  lifecycle: {
    stages: ['lead', 'mql', 'sql'],
    rules: [
      { kind: 'score', to: 'mql', model: 'engagement', atLeast: 10 },
      { kind: 'event', to: 'sql', event: 'Demo Booked' },
    ],
    recycleTo: 'lead',
  },
  handOff: {
    stage: 'mql',
    owners: [{ id: 'ann', name: 'Ann', email: 'ann@example.com' }],
    assignment: [{ when: { type: 'trait', path: 'plan', op: 'exists' }, owner: 'ann' }],
    businessHours: { days: ['mon', 'tue'], start: '09:00', end: '17:00' },
  },
};

/** A journey with a step of each kind, sending the given template. */
export function fullJourney(templateId: string) {
  const condition = { source: 'trait', path: 'plan', op: 'eq', value: 'pro' };
  return {
    name: 'Welcome',
    description: 'Greets whoever signs up',
    entry: {
      trigger: { type: 'event', event: 'Signed Up', conditions: [condition] },
      reentry: { policy: 'once_per_period', period: '30d' },
      allowConcurrent: false,
    },
    goal: { event: 'Order Completed', within: '7d' },
    start: 'wait',
    steps: [
      { id: 'wait', type: 'wait', duration: '1d', next: 'morning' },
      { id: 'morning', type: 'wait_until', time: '09:00', days: ['mon'], next: 'order' },
      {
        id: 'order',
        type: 'wait_for_event',
        event: 'Order Completed',
        conditions: [{ ...condition, source: 'event' }],
        timeout: '1h',
        next: 'done',
        timeoutNext: 'mail',
      },
      { id: 'mail', type: 'send_email', template: templateId, topic: 'marketing', next: 'opened' },
      {
        id: 'opened',
        type: 'branch',
        branches: [{ conditions: [{ source: 'message', step: 'mail', op: 'opened' }], next: 'split' }],
        otherwise: 'text',
      },
      {
        id: 'split',
        type: 'split',
        arms: [{ name: 'a', weight: 1, next: 'traits' }],
        holdout: { weight: 1 },
      },
      { id: 'text', type: 'send_sms', body: 'Hi {{ profile.traits.first_name }}', next: 'traits' },
      { id: 'traits', type: 'update_traits', set: { welcomed: true }, next: 'call' },
      { id: 'call', type: 'webhook', destination: 'probe', path: '/welcomed', next: 'done' },
      { id: 'done', type: 'exit' },
    ],
  };
}

/** A segment rule nesting conditions of several kinds. */
export const NESTED_RULE = {
  all: [
    { type: 'trait', path: 'plan', op: 'exists' },
    {
      any: [
        {
          type: 'event',
          event: 'Visit',
          where: [{ path: 'page', op: 'eq', value: '/pricing' }],
          within: '30d',
        },
        { not: { type: 'subscription', topic: 'marketing', channel: 'email' } },
        { type: 'score', model: 'engagement', min: 10 },
      ],
    },
  ],
};

export const TEMPLATE = { name: 'Welcome', subject: 'Hello', preheader: 'Hi', mjml: '<p>Hi</p>', text: 'Hi' };

/** Keyed `METHOD path` as the OpenAPI document writes them; `ids` are the objects the world holds. */
export function validBodies(ids: Record<string, string>): Record<string, unknown> {
  const definition = fullJourney(ids.templateId ?? '');
  const event = { userId: 'fuzzed', event: 'Fuzzed', traits: {}, groupId: 'g', previousId: 'p' };
  const workspace = '/api/workspaces/{workspaceId}';
  return {
    'POST /api/auth/login': OWNER,
    'POST /api/auth/password': { currentPassword: OWNER.password, newPassword: 'another long password' },
    'POST /api/workspaces': { name: 'Second' },
    [`POST ${workspace}/keys`]: { kind: 'write', name: 'site' },
    [`POST ${workspace}/users`]: { email: 'new@example.com', password: 'a long password!', role: 'member' },
    [`PATCH ${workspace}/users/{userId}`]: { role: 'admin' },
    [`POST ${workspace}/profiles/import/preview`]: { csv: 'email\na@example.com\n' },
    [`POST ${workspace}/profiles/import`]: {
      csv: 'email,name\na@example.com,Ann\n',
      idColumn: 'email',
      columns: { name: 'first_name' },
      list: 'Imported',
    },
    [`POST ${workspace}/journeys`]: { definition },
    [`PUT ${workspace}/journeys/{journeyId}`]: { definition },
    [`POST ${workspace}/journeys/{journeyId}/enrol`]: { profileId: ids.profileId, properties: { a: 1 } },
    [`PUT ${workspace}/settings`]: FULL_SETTINGS,
    [`PATCH ${workspace}/settings`]: FULL_SETTINGS,
    [`POST ${workspace}/templates`]: TEMPLATE,
    [`PUT ${workspace}/templates/{templateId}`]: TEMPLATE,
    [`POST ${workspace}/templates/preview`]: { template: TEMPLATE, profileId: ids.profileId },
    [`POST ${workspace}/templates/{templateId}/preview`]: { profileId: ids.profileId, properties: {} },
    [`POST ${workspace}/templates/{templateId}/test-send`]: {
      to: 'test@example.com',
      profileId: ids.profileId,
    },
    [`POST ${workspace}/suppressions`]: { channel: 'email', address: 'gone@example.com' },
    [`POST ${workspace}/bounces`]: { address: 'gone@example.com', type: 'hard', messageId: 'msg_1' },
    [`PUT ${workspace}/profiles/{profileId}/subscriptions`]: {
      topics: { marketing: false },
      channels: { email: { marketing: true } },
    },
    [`POST ${workspace}/sms/preview`]: { body: 'Hi', profileId: ids.profileId, trackLinks: false },
    [`POST ${workspace}/sms/test-send`]: { body: 'Hi', to: '+393471234567', profileId: ids.profileId },
    [`POST ${workspace}/profiles/{profileId}/lifecycle/recycle`]: { reason: 'by hand' },
    [`POST ${workspace}/scoring/models/{model}/replays`]: { since: '30d' },
    [`POST ${workspace}/demo`]: { contacts: 10 },
    [`POST ${workspace}/segments`]: {
      name: 'Planners',
      description: 'Who plans',
      rule: NESTED_RULE,
      kind: 'live',
    },
    [`POST ${workspace}/segments/preview`]: { rule: NESTED_RULE, sampleSize: 5 },
    [`PUT ${workspace}/segments/{segmentId}`]: { name: 'Planners', rule: NESTED_RULE, kind: 'live' },
    [`POST ${workspace}/webhooks/destinations/{destinationId}/test`]: undefined,
    [`POST ${workspace}/webhooks/dead-letters/redrive`]: { ids: ['dl_1'], destination: 'probe' },
    [`POST ${workspace}/sms/failed/redrive`]: { ids: ['msg_1'] },
    ...Object.fromEntries(
      ['batch', 'import'].map((endpoint) => [
        `POST /v1/${endpoint}`,
        { batch: [{ type: 'track', ...event }] },
      ]),
    ),
    ...Object.fromEntries(
      ['identify', 'track', 'page', 'screen', 'group', 'alias'].map((type) => [`POST /v1/${type}`, event]),
    ),
  };
}
