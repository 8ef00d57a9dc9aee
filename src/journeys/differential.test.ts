import { afterEach, describe, expect, it } from 'vitest';
import { AppError } from '../core/errors.js';
import type { JourneyInstance, Message } from '../core/journey.js';
import type { JourneyDefinition } from '../core/journey-definition.js';
import { SegmentInput } from '../core/segment-definition.js';
import { createSegment } from '../segments/segments.js';
import { BackendAgreement } from '../test-support/backend-agreement.js';
import { type JourneyWorld, startJourneyWorld } from '../test-support/journey-world.js';
import { crmWebhooks, JsonReceiver } from '../test-support/json-receiver.js';
import { SeededRandom, seedsToRun } from '../test-support/seeded-random.js';
import { TwilioStandIn } from '../test-support/twilio-stand-in.js';
import { BACKENDS, type Backend } from '../test-support/world.js';

/*
 * A differential test of journeys: random journeys (entered on events, on a trait changing, on
 * entering a segment; waits, waits for events, branches on traits, events, segments, scores and
 * stages, e-mails, texts, webhook calls, trait writes; goals, re-entry rules) and a random stream of
 * Segment calls with the clock moving between them, MQLs handed to sales (accepted, passed on a
 * missed SLA, or recycled), frequency caps and quiet hours holding messages back (deferred or
 * skipped). Both backends get the same seed, so the same journeys and calls in the same order: after
 * every settled step they must hold the same instances, messages, traits, stage moves and hand-offs.
 * Each also checks itself: every e-mail, text and webhook call recorded as sent reached its server
 * once (the SMTP sink, a Twilio stand-in, a receiver), a journey entered once holds one instance per
 * profile a contact was made of, one that allows no concurrency at most one active, and a contact at
 * most one hand-off pending.
 * Splits are left out: their arms follow the (random) ids of profile and journey.
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const START = Date.parse('2026-11-23T10:00:00Z');

/** `MOPS_JOURNEY_SEEDS=1-200` searches further; `MOPS_JOURNEY_STEPS`, steps per stream. */
const SEEDS = seedsToRun(process.env.MOPS_JOURNEY_SEEDS ?? '1,2');
const STEPS = Number(process.env.MOPS_JOURNEY_STEPS ?? 24);

const USERS = ['u0', 'u1', 'u2', 'u3', 'u4'];
const VISITORS = ['a0', 'a1'];
const ENTRY_EVENTS = ['Cart Abandoned', 'Demo Requested', 'Page Viewed'];
const EVENTS = [...ENTRY_EVENTS, 'Order Completed', 'Sales Accepted'];

const ENGAGEMENT = {
  id: 'engagement',
  name: 'Engagement',
  rules: [
    { id: 'demo', kind: 'event', event: 'Demo Requested', points: 20, halfLife: '2d' },
    { id: 'order', kind: 'event', event: 'Order Completed', points: 15 },
  ],
};
const LIFECYCLE = {
  stages: ['lead', 'mql', 'sql', 'customer'],
  rules: [
    { kind: 'score', to: 'mql', model: 'engagement', atLeast: 30 },
    { kind: 'event', to: 'sql', event: 'Sales Accepted' },
    { kind: 'event', to: 'customer', event: 'Order Completed' },
  ],
  recycleTo: 'lead',
};
/** MQLs handed to two owners in turn through the CRM receiver, accepted within a day or missed. */
const handOff = (recycleOnMiss: boolean) => ({
  stage: 'mql',
  owners: [
    { id: 'ada', name: 'Ada', email: 'ada@example.com' },
    { id: 'bo', name: 'Bo', email: 'bo@example.com' },
  ],
  destination: 'crm',
  acceptWithin: '1d',
  recycleOnMiss,
});

interface Audience {
  template: string;
  buyers: string;
  italians: string;
}

type Step = JourneyDefinition['steps'][number];
type Trigger = JourneyDefinition['entry']['trigger'];

function randomTrigger(random: SeededRandom, audience: Audience): Trigger {
  const kind = random.pick(['event', 'event', 'trait_changed', 'segment'] as const);
  if (kind === 'event')
    return {
      type: 'event',
      event: random.pick(ENTRY_EVENTS),
      conditions: random.chance(0.3)
        ? [{ source: 'event', path: 'properties.total', op: 'gte', value: 30 }]
        : [],
    };
  if (kind === 'trait_changed')
    return { type: 'trait_changed', trait: 'plan', ...(random.chance(0.5) ? { value: 'pro' } : {}) };
  return {
    type: 'segment',
    segment: random.pick([audience.buyers, audience.italians]),
    on: 'entered',
    exitOnSegmentExit: random.chance(0.5),
  };
}

/** A branch's condition; one on the entry event's properties only where an event entered the journey. */
function randomCondition(random: SeededRandom, audience: Audience, isEventEntered: boolean) {
  const onEntryEvent = () => ({ source: 'entry_event', path: 'properties.total', op: 'lt', value: 50 });
  return random.pick([
    () => ({ source: 'trait', path: 'plan', op: 'eq', value: random.pick(['free', 'pro']) }),
    () => ({ source: 'trait', path: 'country', op: 'in', value: ['IT', 'FR'] }),
    () => ({ source: 'event', path: 'properties.total', op: 'gte', value: random.pick([20, 50, 80]) }),
    ...(isEventEntered ? [onEntryEvent] : []),
    () => ({ source: 'segment', segment: audience.buyers, op: random.pick(['in', 'not_in']) }),
    () => ({ source: 'score', model: 'engagement', op: 'gte', value: random.pick([10, 30]) }),
    () => ({ source: 'lifecycle', op: random.pick(['in', 'not_in']), stages: ['mql'] }),
  ])();
}

/** A tree of steps at most four deep, every path ending at `end`. */
function randomSteps(random: SeededRandom, audience: Audience, isEventEntered: boolean): Step[] {
  const steps: Step[] = [{ id: 'end', type: 'exit' }];
  let count = 0;
  const build = (depth: number): string => {
    if (depth >= 4 || (depth > 0 && random.chance(0.15))) return 'end';
    const id = `s${count++}`;
    const kind = random.pick([
      'wait',
      'wait_for_event',
      'branch',
      'send_email',
      'send_email',
      'send_sms',
      'webhook',
      'update_traits',
    ] as const);
    let step: Step;
    if (kind === 'wait')
      step = { id, type: 'wait', duration: random.pick(['30m', '2h', '1d']), next: build(depth + 1) };
    else if (kind === 'wait_for_event')
      step = {
        id,
        type: 'wait_for_event',
        event: random.pick(EVENTS),
        conditions: [],
        ...(isEventEntered && random.chance(0.3) ? { matchEntryProperty: 'properties.cart_id' } : {}),
        timeout: random.pick(['1h', '1d']),
        next: build(depth + 1),
        timeoutNext: build(depth + 1),
      };
    else if (kind === 'branch')
      step = {
        id,
        type: 'branch',
        branches: Array.from({ length: random.int(1, 2) }, () => ({
          conditions: [randomCondition(random, audience, isEventEntered)] as never,
          next: build(depth + 1),
        })),
        otherwise: build(depth + 1),
      };
    else if (kind === 'send_email')
      step = {
        id,
        type: 'send_email',
        template: audience.template,
        topic: 'marketing',
        whenNotAllowed: random.pick(['defer', 'defer', 'skip'] as const),
        next: build(depth + 1),
      };
    else if (kind === 'send_sms')
      step = {
        id,
        type: 'send_sms',
        body: 'Hi {{ profile.traits.plan }}, your total is {{ event.properties.total }}',
        topic: 'marketing',
        whenNotAllowed: random.pick(['defer', 'defer', 'skip'] as const),
        next: build(depth + 1),
      };
    else if (kind === 'webhook')
      step = {
        id,
        type: 'webhook',
        destination: 'crm',
        path: `/journeys/${id}`,
        method: 'POST',
        body: '{"plan": {{ profile.traits.plan | json }}, "total": {{ event.properties.total | json }}}',
        next: build(depth + 1),
      };
    else
      step = {
        id,
        type: 'update_traits',
        set: {
          [random.pick(['tier', 'plan', 'last_total'])]: random.pick([
            'gold',
            'pro',
            '{{ event.properties.total }}',
            '{{ profile.traits.plan }}',
          ]),
        },
        next: build(depth + 1),
      };
    steps.push(step);
    return id;
  };
  const start = build(0);
  // The start first, as people write them.
  const first = steps.find((step) => step.id === start) as Step;
  return [first, ...steps.filter((step) => step !== first)];
}

function randomJourney(random: SeededRandom, name: string, audience: Audience): JourneyDefinition {
  const trigger = randomTrigger(random, audience);
  const steps = randomSteps(random, audience, trigger.type === 'event');
  return {
    name,
    entry: {
      trigger,
      reentry: random.pick([
        { policy: 'once' },
        { policy: 'every_time' },
        { policy: 'once_per_period', period: '1d' },
      ] as const),
      allowConcurrent: random.chance(0.3),
    },
    ...(random.chance(0.4)
      ? {
          goal: {
            event: 'Order Completed',
            conditions: [],
            ...(random.chance(0.5) ? { within: '2d' } : {}),
          },
        }
      : {}),
    start: (steps[0] as Step).id,
    steps,
  } as JourneyDefinition;
}

function randomCall(random: SeededRandom, now: number): Record<string, unknown> {
  const isVisitor = random.chance(0.2);
  const who = isVisitor ? { anonymousId: random.pick(VISITORS) } : { userId: random.pick(USERS) };
  const kind = random.pick(['identify', 'track', 'track', 'track', 'sign-in'] as const);
  if (kind === 'sign-in')
    // A visitor signs in: their profile and the user's become one.
    return { type: 'identify', anonymousId: random.pick(VISITORS), userId: random.pick(USERS), traits: {} };
  if (kind === 'identify') {
    const traits: Record<string, unknown> = {};
    if ('userId' in who && random.chance(0.7)) traits.email = `${who.userId}@example.com`;
    if ('userId' in who && random.chance(0.5))
      traits.phone = `+3933300000${USERS.indexOf(String(who.userId))}`;
    if (random.chance(0.5)) traits.plan = random.pick(['free', 'pro']);
    if (random.chance(0.4)) traits.country = random.pick(['IT', 'FR', 'DE']);
    return { type: 'identify', ...who, traits };
  }
  // Now and then an event a phone recorded offline, stamped before now.
  const late = random.chance(0.1) ? random.int(1, 120) * MINUTE : 0;
  return {
    type: 'track',
    ...who,
    event: random.pick(EVENTS),
    properties: { total: random.pick([10, 40, 90]), cart_id: random.pick(['c1', 'c2']) },
    ...(late > 0 ? { timestamp: new Date(now - late).toISOString() } : {}),
  };
}

/** Each seed's journeys, messages and traits, step by step, as the first backend left them. */
const agreement = new BackendAgreement();

/** Steps visited, in the order of their ids: PostgreSQL keeps a JSON object's keys in an order of its own. */
const visitsOf = (instance: JourneyInstance) =>
  JSON.stringify(Object.entries(instance.state.visits ?? {}).sort(([a], [b]) => a.localeCompare(b)));

/** Where a message went; a webhook call by its path (each run's receiver has a port of its own). */
const addressOf = (message: Message) =>
  message.channel === 'webhook' && message.toAddress
    ? new URL(message.toAddress).pathname
    : (message.toAddress ?? '-');

const count = (counts: Map<string, number>, key: string) => counts.set(key, (counts.get(key) ?? 0) + 1);

/** The servers the journeys' messages go to, besides the world's SMTP sink. */
interface Receivers {
  twilio: TwilioStandIn;
  crm: JsonReceiver;
}

/**
 * How many profiles each contact was made of, from the calls alone: a call naming an id no profile
 * holds makes one, and a sign-in naming two ids held by two profiles merges them.
 */
class Contacts {
  readonly #parent = new Map<string, string>();
  readonly #merges = new Map<string, number>();

  #root(key: string): string {
    const parent = this.#parent.get(key);
    return parent === undefined || parent === key ? key : this.#root(parent);
  }

  /** Takes a call's ids: `user:u1`, `anonymous:a0`. */
  called(keys: string[]): void {
    const roots = [...new Set(keys.filter((key) => this.#parent.has(key)).map((key) => this.#root(key)))];
    const [kept = keys[0] as string, ...merged] = roots;
    for (const root of merged) {
      this.#parent.set(root, kept);
      this.#merges.set(kept, (this.#merges.get(kept) ?? 0) + (this.#merges.get(root) ?? 0) + 1);
    }
    for (const key of keys) if (!this.#parent.has(key)) this.#parent.set(key, kept);
  }

  /** The profiles the contact holding this id was made of. */
  profilesOf(key: string): number {
    return 1 + (this.#merges.get(this.#root(key)) ?? 0);
  }
}

/** A call's ids, as `Contacts` takes them. */
function keysOf(call: Record<string, unknown>): string[] {
  return [
    ...(typeof call.anonymousId === 'string' ? [`anonymous:${call.anonymousId}`] : []),
    ...(typeof call.userId === 'string' ? [`user:${call.userId}`] : []),
  ];
}

/** Every contact as both backends name them: by the ids they hold (profile ids are random). */
async function observe(
  world: JourneyWorld,
  receivers: Receivers,
  journeys: Map<string, JourneyDefinition>,
  contacts: Contacts,
) {
  const { storage, workspaceId } = world;
  const lines: string[] = [];
  const findings: string[] = [];
  /** Per channel and address (a webhook call's path), the messages recorded as sent there. */
  const recorded = new Map<string, number>();
  const profiles = await storage.segments.listProfilesAfter(workspaceId, null, 1000);
  for (const { id } of profiles) {
    const identities = await storage.profiles.listIdentities(id);
    if (identities.length === 0) continue;
    const person = identities
      .map((identity) => `${identity.kind}:${identity.value}`)
      .sort()
      .join('+');
    const [profile, instances, messages, history, handOffs] = await Promise.all([
      storage.profiles.find(workspaceId, id),
      storage.journeys.listInstancesOfProfile(workspaceId, id),
      storage.messages.list(workspaceId, { profileId: id }, { limit: 500 }),
      storage.scoring.stageHistory(id),
      storage.scoring.listHandOffs(workspaceId, { profileId: id }, { limit: 100 }),
    ]);
    const moves = history.map(
      (change) => `${change.from ?? '-'}→${change.to} (${change.reason}) ${change.at}`,
    );
    const handOffLines = handOffs.items
      .map(
        (made) =>
          `${made.status} ${made.owner ?? '-'} ${made.createdAt}/${made.dueAt} accepted ${made.acceptedAt ?? '-'} breached ${made.breachedAt ?? '-'} owed ${made.owedAt ?? '-'} ${made.droppedReason ?? ''}`,
      )
      .sort();
    if (handOffs.items.filter((made) => made.status === 'pending').length > 1)
      findings.push(`${person}: several hand-offs pending at once`);
    const traits = Object.entries(profile?.traits ?? {}).sort(([a], [b]) => a.localeCompare(b));
    const journeyOf = (journeyId: string | null) =>
      (journeyId ? journeys.get(journeyId)?.name : undefined) ?? '-';
    const instanceLines = instances
      .map(
        (instance) =>
          `${journeyOf(instance.journeyId)} ${instance.status} at ${instance.stepId ?? '-'} (${instance.endReason ?? ''}) ${instance.enteredAt}→${instance.endedAt ?? '-'} ${visitsOf(instance)}`,
      )
      .sort();
    const messageLines = messages.items
      .map(
        (message) =>
          `${journeyOf(message.journeyId)}/${message.stepId} ${message.status} (${message.reason ?? ''}) ${addressOf(message)} ${message.sentAt ?? '-'}`,
      )
      .sort();
    lines.push(
      `${person}: traits ${JSON.stringify(traits)}; instances ${instanceLines.join(' | ')}; messages ${messageLines.join(' | ')}; stages ${moves.join(', ')}; hand-offs ${handOffLines.join(' | ')}`,
    );
    for (const message of messages.items)
      if (message.status === 'sent') count(recorded, `${message.channel} ${addressOf(message)}`);
    for (const [journeyId, { name, entry }] of journeys) {
      const own = instances.filter((instance) => instance.journeyId === journeyId);
      // A merge keeps the instances each profile entered on its own (docs/ARCHITECTURE.md), so a
      // contact made of several may hold one of each.
      const profilesMerged = contacts.profilesOf(`${identities[0]?.kind}:${identities[0]?.value}`);
      if (entry.reentry.policy === 'once' && own.length > profilesMerged)
        findings.push(`${person}: ${own.length} instances of ${name}, entered once only`);
      if (!entry.allowConcurrent && own.filter((instance) => instance.status === 'active').length > 1)
        findings.push(`${person}: several active instances of ${name}, which allows one at a time`);
    }
  }
  // Every message recorded as sent reached its server once, and nothing else did.
  const received = new Map<string, number>();
  for (const mail of world.sink.received) for (const to of mail.to) count(received, `email ${to}`);
  for (const text of receivers.twilio.sent) count(received, `sms ${text.to}`);
  for (const { path } of receivers.crm.arrivals) count(received, `webhook ${path}`);
  const asText = (counts: Map<string, number>) => JSON.stringify([...counts].sort());
  if (asText(received) !== asText(recorded))
    findings.push(`received ${asText(received)}, recorded as sent ${asText(recorded)}`);
  return { observation: lines.sort().join('\n'), findings };
}

describe.each(BACKENDS)('journeys agree with themselves and across backends on %s', (backend: Backend) => {
  let world: JourneyWorld | undefined;
  let receivers: Receivers | undefined;
  afterEach(async () => {
    await world?.close();
    await receivers?.twilio.stop();
    await receivers?.crm.stop();
    world = undefined;
    receivers = undefined;
  });

  it.each(SEEDS)(
    'through random journeys and a random stream of calls (seed %i)',
    async (seed) => {
      const random = new SeededRandom(seed);
      agreement.begin(seed, backend);
      const started = await startJourneyWorld(backend, START);
      world = started;
      const { storage, workspaceId, clock } = started;
      const servers = { twilio: await new TwilioStandIn().start(), crm: await new JsonReceiver().start() };
      receivers = servers;
      servers.twilio.now = () => clock.now();
      await started.configure({
        scoring: { models: [ENGAGEMENT] },
        lifecycle: LIFECYCLE,
        sms: {
          baseUrl: servers.twilio.baseUrl,
          accountSid: 'AC0123456789abcdef0123456789abcdef',
          authToken: 'twilio-auth-token-1',
          from: '+15005550006',
          allowPrivateNetworks: true,
        },
        webhooks: crmWebhooks(servers.crm),
        handOff: handOff(random.chance(0.5)),
        // Now and then a cap or quiet hours hold messages back: deferred to a later step, or skipped.
        frequencyCaps: random.chance(0.5)
          ? { email: [{ max: 2, period: '1d' }], sms: [{ max: 1, period: '1d' }] }
          : { email: [], sms: [] },
        quietHours: random.chance(0.4) ? { start: '22:00', end: '08:00' } : null,
      });
      const template = await started.template({
        subject: 'Hello {{ profile.traits.plan }}',
        mjml: '<mjml><mj-body><mj-section><mj-column><mj-text>Total {{ event.properties.total }}</mj-text></mj-column></mj-section></mj-body></mjml>',
      });
      const segment = async (name: string, rule: unknown) =>
        (
          await createSegment(storage, {
            workspaceId,
            input: SegmentInput.parse({ name, kind: 'live', rule }),
            now: clock.now(),
          })
        ).id;
      const audience: Audience = {
        template,
        buyers: await segment('Buyers', {
          type: 'event',
          event: 'Order Completed',
          atLeast: 1,
          within: '7d',
        }),
        italians: await segment('Italians', { type: 'trait', path: 'country', op: 'eq', value: 'IT' }),
      };
      const log: string[] = [];
      const journeys = new Map<string, JourneyDefinition>();
      const journeysToPublish = random.int(2, 3);
      for (let index = 0; index < journeysToPublish; index++) {
        const definition = randomJourney(random, `j${index}`, audience);
        try {
          journeys.set(await started.publish(definition), definition);
          log.push(`journey ${JSON.stringify(definition)}`);
        } catch (error) {
          // Refused on both backends alike (checked by the agreement below): the stream goes on.
          if (!(error instanceof AppError)) throw error;
          log.push(`journey refused (${error.message}): ${JSON.stringify(definition)}`);
        }
      }
      // A generator refusing every journey would leave nothing tested.
      expect(journeys.size, log.join('\n')).toBeGreaterThan(0);
      const contacts = new Contacts();
      const fail = (where: string, findings: string[]) => {
        if (findings.length > 0)
          expect.fail([`${backend}, seed ${seed}, ${where}:`, ...findings, 'steps:', ...log].join('\n'));
      };

      for (let step = 1; step <= STEPS; step++) {
        const calls = Array.from({ length: random.int(1, 4) }, () => randomCall(random, clock.now()));
        log.push(`${step} at ${new Date(clock.now()).toISOString()}: ${JSON.stringify(calls)}`);
        await started.send(calls);
        for (const call of calls) contacts.called(keysOf(call));
        try {
          await started.settle();
        } catch (error) {
          fail(`step ${step}`, [`the world did not settle: ${String(error)}`]);
        }
        const { observation, findings } = await observe(started, servers, journeys, contacts);
        fail(`step ${step}`, findings);
        const published = [...journeys.values()].map((journey) => journey.name);
        const mismatch = agreement.observe(seed, backend, `journeys ${published}\n${observation}`);
        if (mismatch) fail(`step ${step}`, [mismatch]);
        const span = random.pick([0, 10 * MINUTE, HOUR, 5 * HOUR, DAY, 2 * DAY]);
        if (span > 0) {
          clock.advance(span);
          log.push(`   +${span / MINUTE} min`);
        }
      }
    },
    120_000,
  );
});
