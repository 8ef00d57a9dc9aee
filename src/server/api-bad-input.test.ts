import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../access/access.js';
import { systemClock } from '../core/clock.js';
import {
  accepts,
  type BodyCase,
  type JsonSchema,
  LONG_TEXT,
  malformedBodies,
  ODD_PATH_IDS,
  ODD_QUERY_VALUES,
  queryValue,
  type SchemaResolver,
  schemaResolver,
} from '../test-support/malformed-inputs.js';
import {
  FULL_SETTINGS,
  fullJourney,
  NESTED_RULE,
  OWNER,
  TEMPLATE,
  validBodies,
} from '../test-support/valid-requests.js';
import { BACKENDS, basicAuth, eventually, startTestWorld, type TestWorld } from '../test-support/world.js';

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema: JsonSchema;
}
interface Operation {
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: JsonSchema }> };
  security?: unknown[];
}
interface OpenApi {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, JsonSchema> };
}
interface Call {
  method: string;
  path: string;
  operation: Operation;
}

/** Segment calls take what Segment takes (numeric ids, fields they ignore): their document describes, it does not bound. */
const isIngest = (path: string) => path.startsWith('/v1/') && !path.startsWith('/v1/sms/');

/**
 * Of the malformed bodies, those a Segment call refuses too: Segment takes fields of its own, an id as a
 * number, a name or a type a call does not use, and ignores a batch's unreadable `sentAt` or `context`.
 */
function isBadSegmentCall(path: string, malformed: BodyCase): boolean {
  if (malformed.field === 'body' || malformed.label === 'a body over 1 MB') return true;
  const isOneCall = !['/v1/batch', '/v1/import'].includes(path);
  return isOneCall && malformed.value === LONG_TEXT;
}

/** What makes a draft a journey at all, never left empty: its name, its trigger's type, its steps' ids and types. */
const DRAFT_ESSENTIAL = /^definition(\.name|\.entry(\.trigger(\.type)?)?|\.steps\.\d+\.(id|type))?$/;

/**
 * A journey's draft keeps what is not filled in yet, as the console saves it over several sittings
 * (docs/journeys.md): any other setting, connection or the start null, empty, or an object with nothing
 * filled in, and no steps yet. The document describes the complete journey that publishing needs.
 */
function isLeftEmptyInDraft(path: string, malformed: BodyCase): boolean {
  const { field, value } = malformed;
  if (!path.includes('/journeys') || !field.startsWith('definition.') || DRAFT_ESSENTIAL.test(field))
    return false;
  if (field === 'definition.steps') return Array.isArray(value) && value.length === 0;
  return (
    value === null ||
    (Array.isArray(value) && value.length === 0) ||
    (typeof value === 'object' && value !== null && Object.keys(value).length === 0)
  );
}

/** Query values an operation needs to answer at all (a dashboard's range). */
const REQUIRED_QUERY: Record<string, string> = {
  from: '2026-01-01T00:00:00.000Z',
  to: '2026-01-08T00:00:00.000Z',
};

describe.each(BACKENDS)('the API given bad input, on %s', (backend) => {
  let world: TestWorld;
  let cookie: string;
  let openapi: OpenApi;
  let resolve: SchemaResolver;
  /** An object of each kind the paths name, so that the one odd part of a call is the one meant. */
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    world = await startTestWorld(backend);
    ids.workspaceId = world.workspaceId;
    await createUser(world.mops.storage, systemClock, {
      ...OWNER,
      workspaceId: world.workspaceId,
      role: 'owner',
    });
    const login = await send('POST', '/api/auth/login', OWNER);
    expect(login.status).toBe(200);
    cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    openapi = (await (await fetch(`${world.url}/openapi.json`)).json()) as OpenApi;
    resolve = schemaResolver(openapi);

    // The bodies the walk starts from, taken as they are: what it refuses is the one thing made wrong.
    const settings = await admin('PUT', '/settings', FULL_SETTINGS);
    expect(settings.status).toBe(200);
    ids.model = 'engagement';
    ids.destinationId = 'probe';
    ids.userId = await created('/users', {
      email: 'member@example.com',
      password: OWNER.password,
      role: 'member',
    });
    ids.segmentId = await created('/segments', { name: 'Planners', rule: NESTED_RULE });
    ids.templateId = await created('/templates', TEMPLATE);
    ids.journeyId = await created('/journeys', { definition: fullJourney(ids.templateId) });
    const ingested = await fetch(`${world.url}/v1/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basicAuth(world.writeKey) },
      body: JSON.stringify({
        batch: [
          { type: 'identify', userId: 'ada', traits: { email: 'ada@example.com' } },
          { type: 'group', userId: 'ada', groupId: 'acme', traits: { name: 'Acme' } },
        ],
      }),
    });
    expect(ingested.status).toBe(200);
    const profile = await eventually(async () => {
      const page = (await (await admin('GET', '/profiles?q=ada')).json()) as { items: Array<{ id: string }> };
      const id = page.items[0]?.id;
      if (!id) return undefined;
      const details = (await (await admin('GET', `/profiles/${id}`)).json()) as {
        accounts: Array<{ id: string }>;
      };
      const account = details.accounts[0]?.id;
      return account ? { id, account } : undefined;
    });
    // Settled before the walk compares what is stored: its backfill moves the segment on its own.
    await eventually(async () => {
      const segment = (await (await admin('GET', `/segments/${ids.segmentId}`)).json()) as { status: string };
      return segment.status === 'ready' ? true : undefined;
    });
    ids.profileId = profile.id;
    ids.accountId = profile.account;
    ids.channel = 'email';
    ids.address = 'ada@example.com';
  });
  afterAll(async () => {
    await world?.close();
  });

  function send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    return fetch(`${world.url}${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  }
  const admin = (method: string, path: string, body?: unknown) =>
    send(method, `/api/workspaces/${world.workspaceId}${path}`, body, { cookie });
  async function created(path: string, body: unknown): Promise<string> {
    const response = await admin('POST', path, body);
    expect({ path, status: response.status }).toEqual({ path, status: 201 });
    return ((await response.json()) as { id: string }).id;
  }

  /** As its client calls it: ingest with the write key, the rest as the workspace's owner, logged in. */
  const credentials = (path: string): Record<string, string> =>
    isIngest(path) ? { authorization: basicAuth(world.writeKey) } : { cookie };

  function operations(): Call[] {
    return Object.entries(openapi.paths).flatMap(([path, byMethod]) =>
      Object.entries(byMethod).map(([method, operation]) => ({
        method: method.toUpperCase(),
        path,
        operation,
      })),
    );
  }

  /** The path with each parameter an existing object's id, but `odd` (already encoded) for `name`. */
  function pathOf(call: Call, odd?: { name: string; encoded: string }): string {
    return call.path.replace(/\{(\w+)\}/g, (_, name: string) => {
      if (name === odd?.name) return odd.encoded;
      const real = ids[name];
      if (real !== undefined) return encodeURIComponent(real);
      // No object of this kind is made: an id of the right shape, which finds nothing.
      const schema = call.operation.parameters?.find((parameter) => parameter.name === name)?.schema ?? {};
      return ['no_such_id', '1'].find((candidate) => accepts(schema, candidate, resolve)) ?? 'no_such_id';
    });
  }

  function requiredQuery(call: Call): string {
    const required = (call.operation.parameters ?? []).filter(
      (parameter) => parameter.in === 'query' && parameter.required,
    );
    return new URLSearchParams(
      required.map((parameter): [string, string] => [parameter.name, REQUIRED_QUERY[parameter.name] ?? 'x']),
    ).toString();
  }

  /** What is wrong with an answer to bad input, or undefined when it is a refusal in the API's shape. */
  async function faultOf(
    response: Response,
    expected: { field?: string; mayTake?: boolean },
  ): Promise<string | undefined> {
    const text = await response.text();
    if (expected.mayTake && response.status < 400) return undefined;
    if (response.status < 400 || response.status >= 500)
      return `HTTP ${response.status}: ${text.slice(0, 300)}`;
    let error: { code?: unknown; message?: unknown; field?: unknown } | undefined;
    try {
      error = (JSON.parse(text) as { error?: typeof error }).error;
    } catch {
      return `HTTP ${response.status}, not JSON: ${text.slice(0, 300)}`;
    }
    if (typeof error?.code !== 'string' || typeof error.message !== 'string' || error.message === '')
      return `HTTP ${response.status}, not the error shape: ${text.slice(0, 300)}`;
    if (expected.field === undefined) return undefined;
    const { field } = expected;
    // A body past its size limit is refused whole, before any of its fields is read.
    if (error.code === 'payload_too_large' && error.field === 'body') return undefined;
    const isNamed =
      error.field === field ||
      (typeof error.field === 'string' && error.field.startsWith(`${field}.`)) ||
      new RegExp(`\\b${field}\\b`).test(error.message);
    return isNamed
      ? undefined
      : `HTTP ${response.status} does not name ${field}: field ${String(error.field)}, “${error.message}”`;
  }

  /**
   * What the walk must leave as it found it: every refusal stores nothing. (Key listings move their last
   * use as the walk goes; the rest of each key stays.)
   */
  async function storedState(): Promise<unknown> {
    const lists = ['/segments', '/journeys', '/templates', '/keys', '/users', '/settings', '/suppressions'];
    const state: Record<string, unknown> = {};
    for (const path of [...lists, '/profiles?q=ada']) state[path] = await (await admin('GET', path)).json();
    state['/keys'] = (state['/keys'] as { items: Array<Record<string, unknown>> }).items.map(
      ({ lastUsedAt: _used, ...key }) => key,
    );
    state.workspaces = await (await send('GET', '/api/workspaces', undefined, { cookie })).json();
    return state;
  }

  it('refuses every malformed JSON body with a 4xx naming the field, and stores nothing', async () => {
    const bodies = validBodies(ids);
    const before = await storedState();
    const faults: string[] = [];
    let sent = 0;
    for (const call of operations()) {
      const schema = call.operation.requestBody?.content['application/json']?.schema;
      if (!schema) continue;
      const key = `${call.method} ${call.path}`;
      expect(key in bodies, `a valid body for ${key} in validBodies`).toBe(true);
      const base = bodies[key];
      expect(base === undefined || accepts(schema, base, resolve), `the valid body of ${key}`).toBe(true);
      const cases = malformedBodies(schema, base, resolve).filter(
        (malformed) =>
          (!isIngest(call.path) || isBadSegmentCall(call.path, malformed)) &&
          !isLeftEmptyInDraft(call.path, malformed),
      );
      for (const malformed of cases) {
        const response = await send(call.method, pathOf(call), malformed.body, credentials(call.path));
        sent++;
        const fault = await faultOf(response, { field: malformed.field });
        if (fault) faults.push(`${key}, ${malformed.label}: ${fault}`);
      }
    }
    expect(faults).toEqual([]);
    expect(sent).toBeGreaterThan(3000);
    expect(await storedState()).toEqual(before);
  }, 120_000);

  it('refuses an odd id in every path with a 4xx in the API’s error shape, and stores nothing', async () => {
    const bodies = validBodies(ids);
    const before = await storedState();
    const faults: string[] = [];
    let sent = 0;
    for (const call of operations()) {
      const pathParameters = (call.operation.parameters ?? []).filter((parameter) => parameter.in === 'path');
      const key = `${call.method} ${call.path}`;
      const isJson = call.operation.requestBody?.content['application/json'] !== undefined;
      for (const parameter of pathParameters)
        for (const odd of ODD_PATH_IDS) {
          const url = `${pathOf(call, { name: parameter.name, encoded: odd.encoded })}?${requiredQuery(call)}`;
          const response = await send(
            call.method,
            url,
            isJson ? bodies[key] : undefined,
            credentials(call.path),
          );
          sent++;
          const isRefusedBySchema = !accepts(parameter.schema, odd.value, resolve);
          const fault = await faultOf(response, isRefusedBySchema ? { field: parameter.name } : {});
          if (fault) faults.push(`${key}, ${parameter.name} ${odd.label}: ${fault}`);
        }
    }
    expect(faults).toEqual([]);
    expect(sent).toBeGreaterThan(500);
    expect(await storedState()).toEqual(before);
  }, 120_000);

  it('refuses a query value its schema does not take with a 4xx naming it, and fails on none', async () => {
    const faults: string[] = [];
    let sent = 0;
    for (const call of operations()) {
      const queryParameters = (call.operation.parameters ?? []).filter(
        (parameter) => parameter.in === 'query',
      );
      const key = `${call.method} ${call.path}`;
      for (const parameter of queryParameters)
        for (const text of ODD_QUERY_VALUES) {
          const query = new URLSearchParams(requiredQuery(call));
          query.set(parameter.name, text);
          const response = await send(
            call.method,
            `${pathOf(call)}?${query}`,
            undefined,
            credentials(call.path),
          );
          sent++;
          // A value the document takes (an unknown cursor, a search for unicode) may be answered, not fail.
          const isRefusedBySchema = !accepts(
            parameter.schema,
            queryValue(parameter.schema, text, resolve),
            resolve,
          );
          const fault = await faultOf(
            response,
            isRefusedBySchema ? { field: parameter.name } : { mayTake: true },
          );
          const label = text.length > 40 ? `a ${text.length}-character text` : JSON.stringify(text);
          if (fault) faults.push(`${key}, ${parameter.name}=${label}: ${fault}`);
        }
    }
    expect(faults).toEqual([]);
    expect(sent).toBeGreaterThan(300);
  }, 120_000);
});
