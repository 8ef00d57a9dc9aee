import type { Clock } from '../core/clock.js';
import { AppError } from '../core/errors.js';
import type { JourneyDefinition } from '../core/journey-definition.js';
import { LifecycleSettings } from '../core/lifecycle.js';
import { ScoreModel } from '../core/score-model.js';
import { SegmentInput } from '../core/segment-definition.js';
import { ingest } from '../ingest/ingest.js';
import { createJourney, publishJourney } from '../journeys/journeys.js';
import { createSegment, leaves, listSegments } from '../segments/segments.js';
import type { Storage } from '../storage/storage.js';
import { saveTemplate } from '../templates/templates.js';

const DAY = 86_400_000;
/** Calls per append at most, as an SDK flushes them. */
const BATCH = 500;
/**
 * How often the shop's SDK flushes its queue: the history is received a flush at a time, when its
 * last call was made, so what it moves (stages, scores) is dated within minutes of what caused it.
 */
const FLUSH_EVERY_MS = 10 * 60_000;
const SEED = 20_261_129;
const TEMPLATE_PREFIX = 'Demo shop · ';
/** Every call of the history's message id starts so (the live moments’ too: they come after a load is complete). */
const HISTORY_MESSAGE_ID_PREFIX = 'demo-';

export interface DemoOptions {
  workspaceId: string;
  clock: Clock;
  /** Contacts of the synthetic shop (10,000 by default). */
  contacts?: number;
  /** Days of history before now (30 by default). */
  days?: number;
  /**
   * Resolves once every consumer of the log has handled what was appended: the journeys are published
   * only then, so that the month of history enters none of them (a journey acts on what comes next).
   */
  waitForPipeline: () => Promise<void>;
  /** After each day of the history: `contacts`, those who had signed up by its end. */
  onProgress?: (progress: { contacts: number; total: number; events: number }) => void;
}

export interface DemoSummary {
  contacts: number;
  events: number;
  templates: string[];
  journeys: string[];
  segments: string[];
}

/**
 * Loads a living workspace for a newcomer: score models, lifecycle stages and live segments, then a
 * shop's contacts with a month of page views, product views, carts and orders (through the real
 * ingest path, so profiles, segments, scores and stages build as they would), then two published
 * journeys with their e-mails — a welcome for sign-ups and an abandoned-cart reminder. Deterministic
 * (the same calls every time), so a load cut short while sending the history can run again: it sends
 * the calls it had not stored, and what was set up before is not set up twice. Cut short once the
 * e-mails are saved, it is refused as loaded already.
 *
 * The month is received as it happened, oldest first, so that stage moves (dated by receipt, as scores
 * are judged) and the dashboard's ranges spread over it rather than over the minutes of the load. Not
 * before what the log received already, though (read before each append, other writers going on):
 * ids follow receipt, and time-range reads rely on it, so history older than the log's newest event is
 * received with it (all of it, in a log in use today).
 */
export async function loadDemoShop(storage: Storage, options: DemoOptions): Promise<DemoSummary> {
  const { workspaceId, clock } = options;
  const total = options.contacts ?? 10_000;
  const days = options.days ?? 30;
  const existing = await storage.templates.list(workspaceId);
  if (existing.some((template) => template.name.startsWith(TEMPLATE_PREFIX)))
    throw new AppError('conflict', 'the demo shop is already loaded in this workspace');

  // Before the history: scores and segments are kept as events arrive, not worked out afterwards.
  const segments = await setUpIntent(storage, workspaceId, clock.now());
  const end = clock.now();
  // A load cut short resumes with what it did not store: sent again, the calls it stored would be
  // stored twice wherever the log's duplicate check no longer reaches back to their receipt.
  const stored = new Set(
    await storage.events.listMessageIdsWithPrefix(workspaceId, HISTORY_MESSAGE_ID_PREFIX),
  );
  let pending: TimedCall[] = [];
  let events = 0;
  const send = async (calls: Array<Record<string, unknown>>, receivedAt: number) => {
    if (calls.length === 0) return;
    const result = await ingest(storage.events, {
      workspaceId,
      endpoint: 'batch',
      body: { batch: calls },
      receivedAt,
    });
    if (result.rejected[0]) throw new Error(`demo event rejected: ${result.rejected[0].reason}`);
    events += calls.length;
  };
  const flush = async () => {
    const last = pending.at(-1);
    // Read before each append, as other writers may append meanwhile: none of it is received before.
    if (last)
      await send(
        pending.map(({ call }) => call),
        Math.max(last.at, (await storage.events.newestReceivedAt()) ?? Number.NEGATIVE_INFINITY),
      );
    pending = [];
  };
  const history = { end, days };
  const { contactsByDay, signedUpOn } = daysActive(total, history);
  let signedUp = 0;
  for (const day of [...contactsByDay.keys()].sort((a, b) => a - b)) {
    const calls = (contactsByDay.get(day) ?? [])
      .flatMap((contact) => contactHistory(contact, history))
      .filter(({ at }) => dayOf(at) === day)
      .sort((a, b) => a.at - b.at);
    for (const call of calls) {
      if (stored.has(String(call.call.messageId))) {
        events++;
        continue;
      }
      const first = pending[0];
      if (first && (pending.length >= BATCH || flushOf(call.at) !== flushOf(first.at))) await flush();
      pending.push(call);
    }
    await flush();
    signedUp += signedUpOn.get(day) ?? 0;
    options.onProgress?.({ contacts: signedUp, total, events });
  }
  await options.waitForPipeline();

  const welcome = await saveTemplate(storage, clock, { workspaceId, template: WELCOME_TEMPLATE });
  const reminder = await saveTemplate(storage, clock, { workspaceId, template: CART_TEMPLATE });
  const journeys = [welcomeJourney(welcome.id), abandonedCartJourney(reminder.id)];
  const published: string[] = [];
  for (const definition of journeys) {
    const journey = await createJourney(storage, clock, { workspaceId, definition });
    await publishJourney(storage, clock, workspaceId, journey.id);
    published.push(journey.id);
  }
  // A few moments of today, after the journeys went live: they start with someone in them.
  const now = clock.now();
  await send(liveMoments(total, now), now);
  return { contacts: total, events, templates: [welcome.id, reminder.id], journeys: published, segments };
}

/**
 * The demo's score models and lifecycle, beside what the workspace has (a model of the same id, or a
 * lifecycle already set, is kept as it is), and its live segments (one of the same name is kept, and
 * one on a stage a lifecycle kept does not have is left out: creating it would be refused, after the
 * others were created). Returns the ids of the segments created.
 */
async function setUpIntent(storage: Storage, workspaceId: string, now: number): Promise<string[]> {
  const lifecycle = await storage.transaction(async (tx) => {
    // As a settings save does: no segment edit comes between reading the settings and writing them.
    await tx.segments.lockDefinitions(workspaceId);
    const settings = await tx.settings.get(workspaceId);
    const kept = settings.scoring.models;
    const added = DEMO_SCORE_MODELS.filter((model) => !kept.some((other) => other.id === model.id));
    const inForce = settings.lifecycle ?? DEMO_LIFECYCLE;
    await tx.settings.put(
      workspaceId,
      { ...settings, scoring: { models: [...kept, ...added] }, lifecycle: inForce },
      now,
    );
    return inForce;
  });
  const stages = new Set(lifecycle.stages);
  const existing = new Set((await listSegments(storage, workspaceId)).map((segment) => segment.name));
  const created: string[] = [];
  for (const input of DEMO_SEGMENTS) {
    if (existing.has(input.name)) continue;
    const asked = (input.rule ? leaves(input.rule) : []).flatMap((condition) =>
      condition.type === 'lifecycle' ? condition.stages : [],
    );
    if (!asked.every((stage) => stages.has(stage))) continue;
    created.push((await createSegment(storage, { workspaceId, input, now })).id);
  }
  return created;
}

/** Engagement from browsing and carts, fading within weeks; fit from the plan and the shop's home market. */
const DEMO_SCORE_MODELS = [
  {
    id: 'engagement',
    name: 'Engagement',
    cap: 100,
    rules: [
      { id: 'page-view', kind: 'event', event: 'Page Viewed', points: 1, halfLife: '14d', cap: 15 },
      { id: 'product-view', kind: 'event', event: 'Product Viewed', points: 3, halfLife: '14d', cap: 30 },
      { id: 'cart', kind: 'event', event: 'Product Added', points: 10, halfLife: '7d' },
      { id: 'checkout', kind: 'event', event: 'Checkout Started', points: 15, halfLife: '7d' },
    ],
  },
  {
    id: 'fit',
    name: 'Fit',
    rules: [
      { id: 'pro', kind: 'fit', when: { type: 'trait', path: 'plan', op: 'eq', value: 'pro' }, points: 30 },
      { id: 'plus', kind: 'fit', when: { type: 'trait', path: 'plan', op: 'eq', value: 'plus' }, points: 15 },
      {
        id: 'italy',
        kind: 'fit',
        when: { type: 'trait', path: 'country', op: 'eq', value: 'IT' },
        points: 10,
      },
    ],
  },
].map((model) => ScoreModel.parse(model));

/** Signing up makes a lead, 40 engagement points an MQL, an order a customer. */
const DEMO_LIFECYCLE = LifecycleSettings.parse({
  rules: [
    { kind: 'event', to: 'lead', event: 'Signed Up' },
    { kind: 'score', to: 'mql', model: 'engagement', atLeast: 40 },
    { kind: 'event', to: 'customer', event: 'Order Completed' },
  ],
});

const DEMO_SEGMENTS = [
  {
    name: 'Active this week',
    description: 'Viewed a page in the last 7 days',
    rule: { type: 'event', event: 'Page Viewed', within: '7d' },
  },
  {
    name: 'Cart abandoners',
    description: 'Added to a cart in the last 3 days and ordered nothing since',
    rule: {
      all: [
        { type: 'event', event: 'Product Added', within: '3d' },
        { not: { type: 'event', event: 'Order Completed', within: '3d' } },
      ],
    },
  },
  {
    name: 'Repeat buyers',
    description: 'Two orders or more',
    rule: { type: 'event', event: 'Order Completed', atLeast: 2 },
  },
  {
    name: 'Hot leads',
    description: 'Engagement score of 40 or more (falls as points decay)',
    rule: { type: 'score', model: 'engagement', min: 40 },
  },
  {
    name: 'Marketing-qualified',
    description: 'At the MQL stage',
    rule: { type: 'lifecycle', stages: ['mql'] },
  },
  {
    name: 'Italian Pro customers',
    rule: {
      all: [
        { type: 'trait', path: 'country', op: 'eq', value: 'IT' },
        { type: 'trait', path: 'plan', op: 'eq', value: 'pro' },
      ],
    },
  },
].map((segment) => SegmentInput.parse(segment));

/** Contacts who sign up now, and others who put something in a new cart: about one in a hundred each. */
export function liveMomentCounts(contacts: number): { signUps: number; carts: number } {
  return { signUps: Math.max(1, Math.floor(contacts / 100)), carts: Math.max(1, Math.floor(contacts / 100)) };
}

function liveMoments(contacts: number, now: number): Array<Record<string, unknown>> {
  const { signUps, carts } = liveMomentCounts(contacts);
  const at = (userId: string, key: string) => ({
    userId,
    messageId: `demo-live-${key}`,
    timestamp: new Date(now).toISOString(),
  });
  const calls: Array<Record<string, unknown>> = [];
  for (let i = 0; i < signUps; i++) {
    const userId = `demo-new-${i}`;
    calls.push({
      type: 'identify',
      ...at(userId, `identify-${i}`),
      traits: {
        email: `new.${i}@example.com`,
        first_name: FIRST_NAMES[i % FIRST_NAMES.length],
        plan: 'free',
      },
    });
    calls.push({
      type: 'track',
      event: 'Signed Up',
      ...at(userId, `signup-${i}`),
      properties: { method: 'email' },
    });
  }
  const stride = Math.max(1, Math.floor(contacts / carts));
  for (let i = 0; i < carts; i++) {
    const contact = (i * stride) % contacts;
    calls.push({
      type: 'track',
      event: 'Product Added',
      ...at(`demo-${contact}`, `cart-${i}`),
      properties: {
        cart_id: `cart-${contact}-live`,
        sku: 'shoes-7',
        category: 'shoes',
        price: 89,
        quantity: 1,
      },
    });
  }
  return calls;
}

/** A call of the shop's client and when it was made. */
interface TimedCall {
  at: number;
  call: Record<string, unknown>;
}

const dayOf = (at: number) => Math.floor(at / DAY);
const flushOf = (at: number) => Math.floor(at / FLUSH_EVERY_MS);

/**
 * The days each contact did something on, and how many signed up on each: a day of the history is
 * loaded by making again the calls of only the contacts active on it, so that the month need not be
 * held in memory to be sent in the order it happened.
 */
function daysActive(
  total: number,
  history: { end: number; days: number },
): { contactsByDay: Map<number, number[]>; signedUpOn: Map<number, number> } {
  const contactsByDay = new Map<number, number[]>();
  const signedUpOn = new Map<number, number>();
  for (let contact = 0; contact < total; contact++) {
    const days = new Set(contactHistory(contact, history).map(({ at }) => dayOf(at)));
    for (const day of days) {
      const active = contactsByDay.get(day);
      if (active) active.push(contact);
      else contactsByDay.set(day, [contact]);
    }
    const first = Math.min(...days);
    signedUpOn.set(first, (signedUpOn.get(first) ?? 0) + 1);
  }
  return { contactsByDay, signedUpOn };
}

type Random = () => number;

/** Mulberry32: small, fast and the same on every machine. */
function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;

const FIRST_NAMES = ['Giulia', 'Marco', 'Sofia', 'Luca', 'Emma', 'Matteo', 'Ada', 'Alan', 'Grace', 'Linus'];
const LAST_NAMES = [
  'Rossi',
  'Bianchi',
  'Romano',
  'Colombo',
  'Ricci',
  'Lovelace',
  'Turing',
  'Hopper',
  'Smith',
];
const COUNTRIES = ['IT', 'IT', 'IT', 'DE', 'FR', 'ES', 'GB', 'US', 'NL', 'CH'];
const PLANS = ['free', 'free', 'free', 'plus', 'pro'];
const CATEGORIES = ['shoes', 'jackets', 'bags', 'hats', 'socks'];
const PAGES = ['/', '/new-in', '/sale', '/about', '/shipping', '/blog'];

const DEMO_SHOP_ORIGIN = 'https://shop.example.com';

/** What analytics.js fills in on a page call. */
function pageProperties(path: string) {
  return { path, url: `${DEMO_SHOP_ORIGIN}${path}`, title: 'Demo shop' };
}

/**
 * One contact's month: signs up, browses in sessions, sometimes fills a cart and mostly buys it. The
 * same calls every time it is asked, from a random source of the contact's own.
 */
function contactHistory(contact: number, options: { end: number; days: number }): TimedCall[] {
  const { end, days } = options;
  const random = seededRandom(SEED + contact);
  const userId = `demo-${contact}`;
  const first = pick(random, FIRST_NAMES);
  const last = pick(random, LAST_NAMES);
  const signedUpAt = end - Math.floor(random() * days * DAY);
  const calls: TimedCall[] = [];
  let sequence = 0;
  const make = (time: number, call: Record<string, unknown>) => {
    const at = Math.min(time, end);
    const sent = {
      ...call,
      userId,
      messageId: `${HISTORY_MESSAGE_ID_PREFIX}${contact}-${sequence++}`,
      timestamp: new Date(at).toISOString(),
    };
    calls.push({ at, call: sent });
  };
  make(signedUpAt, {
    type: 'identify',
    traits: {
      email: `${first}.${last}.${contact}@example.com`.toLowerCase(),
      first_name: first,
      last_name: last,
      country: pick(random, COUNTRIES),
      plan: pick(random, PLANS),
      created_at: new Date(signedUpAt).toISOString(),
    },
  });
  make(signedUpAt + 1000, { type: 'track', event: 'Signed Up', properties: { method: 'email' } });
  // Most contacts come back a few times; some are much keener than others.
  const sessions = Math.floor(random() ** 2 * 8) + 1;
  for (let session = 0; session < sessions; session++) {
    let time = signedUpAt + Math.floor(random() * (end - signedUpAt));
    const step = () => {
      time += 20_000 + Math.floor(random() * 120_000);
      return time;
    };
    for (let view = 0, views = 1 + Math.floor(random() * 4); view < views; view++)
      // As an analytics snippet sends them, without a name: counted as Page Viewed.
      make(step(), { type: 'page', properties: pageProperties(pick(random, PAGES)) });
    const category = pick(random, CATEGORIES);
    const sku = `${category}-${Math.floor(random() * 40)}`;
    const price = Math.round((15 + random() * 185) * 100) / 100;
    make(step(), { type: 'track', event: 'Product Viewed', properties: { sku, category, price } });
    if (random() > 0.35) continue;
    const cartId = `cart-${contact}-${session}`;
    make(step(), {
      type: 'track',
      event: 'Product Added',
      properties: { cart_id: cartId, sku, category, price, quantity: 1 },
    });
    if (random() > 0.6) continue;
    make(step(), { type: 'track', event: 'Checkout Started', properties: { cart_id: cartId, value: price } });
    make(step(), {
      type: 'track',
      event: 'Order Completed',
      properties: { cart_id: cartId, order_id: `order-${contact}-${session}`, total: price, currency: 'EUR' },
    });
  }
  return calls;
}

const WELCOME_TEMPLATE = {
  name: `${TEMPLATE_PREFIX}Welcome`,
  subject: 'Welcome to the shop, {{ profile.traits.first_name | default: "friend" }}!',
  preheader: 'Ten percent off your first order',
  mjml: `<mjml>
  <mj-body background-color="#f3f5f8">
    <mj-section background-color="#ffffff" padding="24px">
      <mj-column>
        <mj-text font-size="22px" font-weight="700">Ciao {{ profile.traits.first_name | default: "there" }}!</mj-text>
        <mj-text font-size="16px">Thanks for joining. Here is ten percent off your first order: use WELCOME10 at checkout.</mj-text>
        <mj-button href="${DEMO_SHOP_ORIGIN}/new-in" background-color="#0b57d0">See what is new</mj-button>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>`,
};

const CART_TEMPLATE = {
  name: `${TEMPLATE_PREFIX}Cart reminder`,
  subject: '{{ profile.traits.first_name | default: "Hi" }}, your cart is waiting',
  preheader: 'We kept it for you',
  mjml: `<mjml>
  <mj-body background-color="#f3f5f8">
    <mj-section background-color="#ffffff" padding="24px">
      <mj-column>
        <mj-text font-size="20px" font-weight="700">Still thinking it over?</mj-text>
        <mj-text font-size="16px">The {{ event.properties.category | default: "item" }} you picked ({{ event.properties.sku }}) is still in your cart.</mj-text>
        <mj-button href="${DEMO_SHOP_ORIGIN}/cart/{{ event.properties.cart_id }}" background-color="#0b57d0">Back to my cart</mj-button>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>`,
};

function welcomeJourney(templateId: string): JourneyDefinition {
  return {
    name: 'Welcome new customers',
    entry: {
      trigger: { type: 'event', event: 'Signed Up', conditions: [] },
      reentry: { policy: 'once' },
      allowConcurrent: false,
    },
    goal: { event: 'Order Completed', conditions: [] },
    start: 'welcome',
    steps: [
      {
        id: 'welcome',
        type: 'send_email',
        template: templateId,
        topic: 'marketing',
        whenNotAllowed: 'defer',
        next: 'done',
      },
      { id: 'done', type: 'exit' },
    ],
    canvas: { entry: { x: 0, y: 0 }, welcome: { x: 0, y: 150 }, done: { x: 0, y: 300 } },
  };
}

function abandonedCartJourney(templateId: string): JourneyDefinition {
  return {
    name: 'Abandoned cart',
    entry: {
      trigger: { type: 'event', event: 'Product Added', conditions: [] },
      reentry: { policy: 'every_time' },
      allowConcurrent: true,
    },
    goal: { event: 'Order Completed', conditions: [], matchEntryProperty: 'properties.cart_id' },
    start: 'wait_order',
    steps: [
      {
        id: 'wait_order',
        type: 'wait_for_event',
        event: 'Order Completed',
        conditions: [],
        matchEntryProperty: 'properties.cart_id',
        timeout: '1h',
        next: 'done',
        timeoutNext: 'reminder',
      },
      {
        id: 'reminder',
        type: 'send_email',
        template: templateId,
        topic: 'marketing',
        whenNotAllowed: 'defer',
        next: 'done',
      },
      { id: 'done', type: 'exit' },
    ],
    canvas: {
      entry: { x: 0, y: 0 },
      wait_order: { x: 0, y: 150 },
      reminder: { x: 260, y: 300 },
      done: { x: 0, y: 450 },
    },
  };
}
