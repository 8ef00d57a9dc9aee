import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IssueDetail as NamedRefusal } from '../core/input-issues.js';
import {
  type ApiError,
  apiClient,
  type MailWorld,
  startMailWorld,
  unique,
} from '../test-support/api-client.js';
import { BACKENDS } from '../test-support/world.js';

interface SegmentJson {
  id: string;
  name: string;
}

const SMS = {
  baseUrl: 'https://api.twilio.com',
  accountSid: 'AC0123456789',
  authToken: 'an-auth-token',
  from: '+15005550006',
};

/**
 * Refusals a console user meets that the domain words in English only, as the API answers them: their
 * English message as it was, and named by a reason (with what the wording needs) for the console to
 * word in Italian too.
 */
describe.each(BACKENDS)('refusals named for clients on %s', (backend) => {
  let mailWorld: MailWorld;
  const { api, publish } = apiClient(() => mailWorld);

  beforeAll(async () => {
    mailWorld = await startMailWorld(backend);
  });
  afterAll(async () => {
    await mailWorld?.close();
  });

  /** The refusal's error, expected to keep its English message and to carry `issue`. */
  async function expectNamed(
    call: Promise<{ status: number; body: unknown }>,
    expected: { status: number; message: string | RegExp; field?: string; issue: NamedRefusal },
  ): Promise<void> {
    const { status, body } = await call;
    expect({ status, body }).toMatchObject({
      status: expected.status,
      body: {
        error: {
          message:
            typeof expected.message === 'string' ? expected.message : expect.stringMatching(expected.message),
          issue: expected.issue,
        },
      },
    });
    expect((body as ApiError).error.field).toBe(expected.field);
  }

  const liveSegment = async (name: string, rule: Record<string, unknown>) => {
    const created = await api<SegmentJson>('POST', '/segments', { name, rule });
    expect(created.status).toBe(201);
    return created.body;
  };
  const planned = { type: 'trait', path: 'plan', op: 'exists' };
  const draftEnteringOn = async (segmentId: string) => {
    const name = unique('journey');
    const created = await api('POST', '/journeys', {
      definition: {
        name,
        entry: { trigger: { type: 'segment', segment: segmentId } },
        start: 'done',
        steps: [{ id: 'done', type: 'exit' }],
      },
    });
    expect(created.status).toBe(201);
    return name;
  };
  const uploadList = async (segmentId: string, csv: string) => {
    const { world } = mailWorld;
    const response = await fetch(
      `${world.url}/api/workspaces/${world.workspaceId}/segments/${segmentId}/members`,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${world.secretKey}`, 'content-type': 'text/csv' },
        body: csv,
      },
    );
    return { status: response.status, body: (await response.json()) as unknown };
  };

  it('names a segment still in use by the segments and journeys using it, each kind apart', async () => {
    const onlySegments = await liveSegment(unique('base'), planned);
    const derived = await liveSegment('Derived "quoted", too', {
      type: 'segment',
      segment: onlySegments.id,
    });
    await expectNamed(api('DELETE', `/segments/${onlySegments.id}`), {
      status: 409,
      message: `the segment "${onlySegments.name}" is used by the segment "${derived.name}": change those first`,
      issue: {
        code: 'refused',
        reason: 'segment_used_by_segments',
        params: { segment: onlySegments.name, segments: '"Derived "quoted", too"' },
      },
    });

    const onlyJourneys = await liveSegment(unique('base'), planned);
    const [first, second] = [await draftEnteringOn(onlyJourneys.id), await draftEnteringOn(onlyJourneys.id)];
    await expectNamed(api('DELETE', `/segments/${onlyJourneys.id}`), {
      status: 409,
      message: /is used by the journeys "/,
      issue: {
        code: 'refused',
        reason: 'segment_used_by_journeys',
        params: {
          segment: onlyJourneys.name,
          journeys: expect.stringMatching(`^("${first}", "${second}"|"${second}", "${first}")$`),
        },
      },
    });

    const both = await liveSegment(unique('base'), planned);
    const asking = await liveSegment(unique('asking'), { type: 'segment', segment: both.id });
    const journey = await draftEnteringOn(both.id);
    await expectNamed(api('DELETE', `/segments/${both.id}`), {
      status: 409,
      message: `the segment "${both.name}" is used by the segment "${asking.name}" and the journey "${journey}": change those first`,
      issue: {
        code: 'refused',
        reason: 'segment_used_by_segments_and_journeys',
        params: { segment: both.name, segments: `"${asking.name}"`, journeys: `"${journey}"` },
      },
    });
  });

  it('names segments that would ask about each other, with the circle they would make', async () => {
    const first = await liveSegment(unique('first'), planned);
    const second = await liveSegment(unique('second'), { type: 'segment', segment: first.id });
    const circle = `${first.name} (${first.id}) → ${second.name} (${second.id}) → ${first.name} (${first.id})`;
    await expectNamed(
      api('PUT', `/segments/${first.id}`, {
        name: first.name,
        rule: { type: 'segment', segment: second.id },
      }),
      {
        status: 400,
        message: `rule: segments would ask about each other: ${circle}`,
        field: 'rule',
        issue: { code: 'refused', reason: 'segments_circular', params: { circle } },
      },
    );
  });

  it('names a comparison that could never hold, at its field', async () => {
    for (const [condition, reason, field] of [
      [{ op: 'gt', value: 'pro' }, 'value_not_orderable', 'rule.all.0.value'],
      [{ op: 'lt', value: '01234' }, 'value_is_code', 'rule.all.0.value'],
      [{ op: 'in', value: [] }, 'in_without_choices', 'rule.all.0.value'],
      [{ op: 'exists', path: 'plan..tier' }, 'path_empty_part', 'rule.all.0.path'],
    ] as const) {
      await expectNamed(
        api('POST', '/segments', {
          name: unique('never'),
          rule: { all: [{ type: 'trait', path: 'plan', ...condition }] },
        }),
        { status: 400, message: new RegExp(`^${field}: `), field, issue: { code: 'refused', reason } },
      );
    }
  });

  it('names a score model’s rule that could never hold, on saving settings', async () => {
    const fit = { type: 'trait', path: 'plan', op: 'gt', value: 'pro' };
    await expectNamed(
      api('PATCH', '/settings', {
        scoring: {
          models: [
            { id: unique('fit'), name: 'Fit', rules: [{ id: 'plan', kind: 'fit', when: fit, points: 20 }] },
          ],
        },
      }),
      {
        status: 400,
        message: /^scoring\.models\.0\.rules\.0\.when\.value: value must be a number/,
        field: 'scoring.models.0.rules.0.when.value',
        issue: { code: 'refused', reason: 'value_not_orderable' },
      },
    );
  });

  it('names a score model, topic or stage a live segment asks about, and each a journey uses, with a destination', async () => {
    const model = unique('model');
    const topic = unique('topic');
    const stage = unique('stage');
    const destination = unique('dest');
    const current = (await api<{ topics: unknown[] }>('GET', '/settings')).body;
    const saved = await api('PATCH', '/settings', {
      scoring: {
        models: [
          {
            id: model,
            name: 'Engagement',
            rules: [{ id: 'r', kind: 'event', event: 'Signed Up', points: 5 }],
          },
        ],
      },
      topics: [...current.topics, { id: topic, name: 'News' }],
      lifecycle: { stages: ['lead', stage], recycleTo: 'lead' },
      webhooks: { destinations: [{ id: destination, url: 'https://crm.example.com/hook' }] },
      sms: SMS,
    });
    expect(saved.status).toBe(200);
    const segment = await liveSegment(unique('asking'), {
      all: [
        { type: 'score', model, min: 1 },
        { type: 'subscription', topic },
        { type: 'lifecycle', stages: [stage] },
      ],
    });
    await expectNamed(api('PATCH', '/settings', { scoring: { models: [] } }), {
      status: 400,
      message: `scoring.models: segment ${segment.name} asks about the score model ${model}: keep it`,
      field: 'scoring.models',
      issue: { code: 'refused', reason: 'model_used_by_segment', params: { segment: segment.name, model } },
    });
    await expectNamed(api('PATCH', '/settings', { topics: current.topics }), {
      status: 400,
      message: /^topics: segment /,
      field: 'topics',
      issue: { code: 'refused', reason: 'topic_used_by_segment', params: { segment: segment.name, topic } },
    });
    await expectNamed(
      api('PATCH', '/settings', { lifecycle: { stages: ['lead', 'mql'], recycleTo: 'lead' } }),
      {
        status: 400,
        message: /^lifecycle\.stages: segment /,
        field: 'lifecycle.stages',
        issue: { code: 'refused', reason: 'stage_used_by_segment', params: { segment: segment.name, stage } },
      },
    );
    expect((await api('DELETE', `/segments/${segment.id}`)).status).toBe(204);

    const journey = unique('journey');
    const journeyId = await publish({
      name: journey,
      entry: { trigger: { type: 'manual' } },
      start: 'ask',
      steps: [
        {
          id: 'ask',
          type: 'branch',
          branches: [
            {
              conditions: [
                { source: 'score', model, op: 'gte', value: 10 },
                { source: 'lifecycle', stages: [stage] },
              ],
              next: 'text',
            },
          ],
          otherwise: 'done',
        },
        { id: 'text', type: 'send_sms', body: 'Hello', topic, next: 'call' },
        { id: 'call', type: 'webhook', destination, next: 'done' },
        { id: 'done', type: 'exit' },
      ],
    });
    await expectNamed(api('PATCH', '/settings', { scoring: { models: [] } }), {
      status: 400,
      message: `scoring.models: journey ${journey} asks about the score model ${model}: keep it`,
      field: 'scoring.models',
      issue: { code: 'refused', reason: 'model_used_by_journey', params: { journey, model } },
    });
    await expectNamed(
      api('PATCH', '/settings', { lifecycle: { stages: ['lead', 'mql'], recycleTo: 'lead' } }),
      {
        status: 400,
        message: /^lifecycle\.stages: journey /,
        field: 'lifecycle.stages',
        issue: { code: 'refused', reason: 'stage_used_by_journey', params: { journey, stage } },
      },
    );
    await expectNamed(api('PATCH', '/settings', { webhooks: { destinations: [] } }), {
      status: 400,
      message: `webhooks.destinations: journey ${journey} calls the destination ${destination}: keep it`,
      field: 'webhooks.destinations',
      issue: { code: 'refused', reason: 'destination_used_by_journey', params: { journey, destination } },
    });
    await expectNamed(api('PATCH', '/settings', { topics: current.topics }), {
      status: 400,
      message: /^topics: journey /,
      field: 'topics',
      issue: { code: 'refused', reason: 'topic_used_by_journey', params: { journey, topic } },
    });
    expect((await api('POST', `/journeys/${journeyId}/archive`)).status).toBe(200);
  });

  it('names a stage threshold over its model’s maximum score', async () => {
    const model = unique('capped');
    await expectNamed(
      api('PATCH', '/settings', {
        scoring: {
          models: [
            {
              id: model,
              name: 'Capped',
              cap: 50,
              rules: [{ id: 'r', kind: 'event', event: 'Signed Up', points: 5 }],
            },
          ],
        },
        lifecycle: {
          stages: ['lead', 'mql'],
          recycleTo: 'lead',
          rules: [{ kind: 'score', to: 'mql', model, atLeast: 1500 }],
        },
      }),
      {
        status: 400,
        message: `lifecycle.rules.0.atLeast: ${model} never scores more than 50 (its cap), so 1500 would never be reached`,
        field: 'lifecycle.rules.0.atLeast',
        issue: {
          code: 'refused',
          reason: 'threshold_over_cap',
          params: { model, cap: '50', atLeast: '1500' },
        },
      },
    );
  });

  it('names a webhook step whose query sets what its destination sets, on publishing', async () => {
    const destination = unique('keyed');
    const saved = await api('PATCH', '/settings', {
      webhooks: { destinations: [{ id: destination, url: 'https://crm.example.com/hook?key=1' }] },
    });
    expect(saved.status).toBe(200);
    const created = await api<{ id: string }>('POST', '/journeys', {
      definition: {
        name: unique('journey'),
        entry: { trigger: { type: 'manual' } },
        start: 'call',
        steps: [
          { id: 'call', type: 'webhook', destination, path: '/leads?key=2', next: 'done' },
          { id: 'done', type: 'exit' },
        ],
      },
    });
    expect(created.status).toBe(201);
    await expectNamed(api('POST', `/journeys/${created.body.id}/publish`), {
      status: 400,
      message: `draft.steps.0.path: its query sets key, which the destination ${destination} sets itself`,
      field: 'draft.steps.0.path',
      issue: {
        code: 'refused',
        reason: 'query_parameter_set_by_destination',
        params: { parameter: 'key', destination },
      },
    });
  });

  it('names what is wrong with a static list’s file', async () => {
    const created = await api<SegmentJson>('POST', '/segments', { name: unique('list'), kind: 'static' });
    expect(created.status).toBe(201);
    const list = created.body.id;
    await expectNamed(uploadList(list, 'user_id,company\n'), {
      status: 400,
      message: 'the file holds a header but no rows: it needs a row per contact',
      field: 'body',
      issue: { code: 'refused', reason: 'csv_no_rows' },
    });
    await expectNamed(uploadList(list, 'user_id,User ID\nada,ada\n'), {
      status: 400,
      message:
        'the header has 2 columns read as userid (user_id, User ID): keep one, so that nothing is guessed',
      field: 'body',
      issue: {
        code: 'refused',
        reason: 'csv_column_repeated',
        params: { count: '2', column: 'userid', columns: 'user_id, User ID' },
      },
    });
    const unreadable = await uploadList(list, 'user_id\n"ada\n');
    const detail = /^the CSV could not be read, so nothing was added: (.+)$/s.exec(
      (unreadable.body as ApiError).error.message,
    )?.[1];
    expect(detail).toBeDefined();
    expect(unreadable.body).toMatchObject({
      error: { issue: { code: 'refused', reason: 'csv_unreadable', params: { detail } } },
    });
  });

  it('names what is wrong with a contacts file’s header, and a trait name too long', async () => {
    await expectNamed(
      api('POST', '/profiles/import/preview', { csv: 'email,,name\na@example.com,1,Ada\n' }),
      {
        status: 400,
        message: 'csv: column 2 of the header has no name',
        field: 'csv',
        issue: { code: 'refused', reason: 'csv_column_unnamed', params: { column: '2' } },
      },
    );
    await expectNamed(
      api('POST', '/profiles/import/preview', { csv: 'email,name,email\na@example.com,Ada,b\n' }),
      {
        status: 400,
        message: 'csv: the header names email twice',
        field: 'csv',
        issue: { code: 'refused', reason: 'csv_column_twice', params: { column: 'email' } },
      },
    );
    // One row over what an import takes (100,000).
    const rows = Array.from({ length: 100_001 }, (_, index) => `c${index}@example.com`).join('\n');
    await expectNamed(api('POST', '/profiles/import/preview', { csv: `email\n${rows}\n` }), {
      status: 400,
      message:
        'csv: 100,001 rows, over the 100,000 one import takes; split the file, or use mops import events',
      field: 'csv',
      issue: { code: 'refused', reason: 'csv_too_many_rows', params: { rows: '100001', max: '100000' } },
    });
    const trait = 't'.repeat(150);
    await expectNamed(
      api('POST', '/profiles/import', {
        csv: 'email,name\na@example.com,Ada\n',
        idColumn: 'email',
        columns: { name: trait },
      }),
      {
        status: 400,
        message: `columns.name: a trait name is 1–100 characters without a dot ("${trait}" is not)`,
        field: 'columns.name',
        issue: { code: 'refused', reason: 'trait_name_form', params: { max: '100', trait: `"${trait}"` } },
      },
    );
  });

  it('names what is wrong with the SMS provider’s address and a webhook destination’s URL, headers and secret', async () => {
    await expectNamed(
      api('PATCH', '/settings', { sms: { ...SMS, baseUrl: 'https://api.twilio.com/?region=eu' } }),
      {
        status: 400,
        message: /^sms\.baseUrl: must be the API address alone/,
        field: 'sms.baseUrl',
        issue: { code: 'refused', reason: 'sms_base_url_not_alone' },
      },
    );
    const destination = (url: string, more: Record<string, unknown> = {}) => ({
      webhooks: { destinations: [{ id: 'receiver', url, ...more }] },
    });
    await expectNamed(api('PATCH', '/settings', destination('https://user:secret@hooks.example.com/a')), {
      status: 400,
      message:
        'webhooks.destinations.0.url: must not hold a user name or password: send credentials as a header (headers)',
      field: 'webhooks.destinations.0.url',
      issue: { code: 'refused', reason: 'url_credentials' },
    });
    await expectNamed(
      api(
        'PATCH',
        '/settings',
        destination('https://hooks.example.com/a', { headers: { 'content-type': 'text/plain' } }),
      ),
      {
        status: 400,
        message: 'webhooks.destinations.0.headers.content-type: Mops sets content-type on every call itself',
        field: 'webhooks.destinations.0.headers.content-type',
        issue: { code: 'refused', reason: 'header_set_by_mops', params: { header: 'content-type' } },
      },
    );
    const signed = await api(
      'PATCH',
      '/settings',
      destination('https://hooks.example.com/a', { secret: 'a-secret-of-some-length' }),
    );
    expect(signed.status).toBe(200);
    await expectNamed(api('PATCH', '/settings', destination('https://elsewhere.example.com/a')), {
      status: 400,
      message: /^webhooks\.destinations\.0\.secret: where or how it is sent changed; send it again/,
      field: 'webhooks.destinations.0.secret',
      issue: { code: 'refused', reason: 'secret_send_again' },
    });
  });

  it('leaves a refusal it has no reason for as it was, unnamed', async () => {
    const { body } = await api<ApiError>('PATCH', '/settings', {
      quietHours: { start: '21:00', end: '21:00' },
    });
    expect(body.error).toEqual({
      code: 'invalid_input',
      message: expect.stringMatching(/^quietHours\.end: must differ from the start/),
      field: 'quietHours.end',
    });
  });
});
