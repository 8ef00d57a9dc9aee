import type { Clock } from '../core/clock.js';
import { AppError } from '../core/errors.js';
import type { JourneyDefinition } from '../core/journey-definition.js';
import { ingest } from '../ingest/ingest.js';
import { createJourney, publishJourney } from '../journeys/journeys.js';
import type { Storage } from '../storage/storage.js';
import { saveTemplate } from '../templates/templates.js';

const DAY = 86_400_000;
/** Calls per append, as an SDK flushes them. */
const BATCH = 500;
const TEMPLATE_PREFIX = 'Demo shop · ';

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
  onProgress?: (progress: { contacts: number; total: number; events: number }) => void;
}

export interface DemoSummary {
  contacts: number;
  events: number;
  templates: string[];
  journeys: string[];
}

/**
 * Loads a living workspace for a newcomer: a shop's contacts with a month of page views, product
 * views, carts and orders (through the real ingest path, so profiles, segments and scores build as
 * they would), then two published journeys with their e-mails — a welcome for sign-ups and an
 * abandoned-cart reminder. Deterministic (the same calls every time), so a load cut short can run
 * again: events already stored are dropped as duplicates.
 */
export async function loadDemoShop(storage: Storage, options: DemoOptions): Promise<DemoSummary> {
  const { workspaceId, clock } = options;
  const total = options.contacts ?? 10_000;
  const days = options.days ?? 30;
  const existing = await storage.templates.list(workspaceId);
  if (existing.some((template) => template.name.startsWith(TEMPLATE_PREFIX)))
    throw new AppError('conflict', 'the demo shop is already loaded in this workspace');

  const end = clock.now();
  const random = seededRandom(20_261_129);
  let pending: Array<Record<string, unknown>> = [];
  let events = 0;
  const flush = async () => {
    if (pending.length === 0) return;
    const result = await ingest(storage.events, {
      workspaceId,
      endpoint: 'batch',
      body: { batch: pending },
      receivedAt: clock.now(),
    });
    if (result.rejected[0]) throw new Error(`demo event rejected: ${result.rejected[0].reason}`);
    events += pending.length;
    pending = [];
  };
  for (let contact = 0; contact < total; contact++) {
    for (const call of contactHistory(contact, { random, end, days })) pending.push(call);
    if (pending.length >= BATCH) await flush();
    if (contact % 250 === 249) options.onProgress?.({ contacts: contact + 1, total, events });
  }
  await flush();
  options.onProgress?.({ contacts: total, total, events });
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
  for (const call of liveMoments(total, clock.now())) pending.push(call);
  await flush();
  return { contacts: total, events, templates: [welcome.id, reminder.id], journeys: published };
}

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

/** One contact's month: signs up, browses in sessions, sometimes fills a cart and mostly buys it. */
function contactHistory(
  contact: number,
  options: { random: Random; end: number; days: number },
): Array<Record<string, unknown>> {
  const { random, end, days } = options;
  const userId = `demo-${contact}`;
  const first = pick(random, FIRST_NAMES);
  const last = pick(random, LAST_NAMES);
  const signedUpAt = end - Math.floor(random() * days * DAY);
  const calls: Array<Record<string, unknown>> = [];
  let sequence = 0;
  const at = (time: number) => ({
    userId,
    messageId: `demo-${contact}-${sequence++}`,
    timestamp: new Date(Math.min(time, end)).toISOString(),
  });
  calls.push({
    type: 'identify',
    ...at(signedUpAt),
    traits: {
      email: `${first}.${last}.${contact}@example.com`.toLowerCase(),
      first_name: first,
      last_name: last,
      country: pick(random, COUNTRIES),
      plan: pick(random, PLANS),
      created_at: new Date(signedUpAt).toISOString(),
    },
  });
  calls.push({
    type: 'track',
    event: 'Signed Up',
    ...at(signedUpAt + 1000),
    properties: { method: 'email' },
  });
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
      calls.push({ type: 'page', ...at(step()), properties: pageProperties(pick(random, PAGES)) });
    const category = pick(random, CATEGORIES);
    const sku = `${category}-${Math.floor(random() * 40)}`;
    const price = Math.round((15 + random() * 185) * 100) / 100;
    calls.push({
      type: 'track',
      event: 'Product Viewed',
      ...at(step()),
      properties: { sku, category, price },
    });
    if (random() > 0.35) continue;
    const cartId = `cart-${contact}-${session}`;
    calls.push({
      type: 'track',
      event: 'Product Added',
      ...at(step()),
      properties: { cart_id: cartId, sku, category, price, quantity: 1 },
    });
    if (random() > 0.6) continue;
    calls.push({
      type: 'track',
      event: 'Checkout Started',
      ...at(step()),
      properties: { cart_id: cartId, value: price },
    });
    calls.push({
      type: 'track',
      event: 'Order Completed',
      ...at(step()),
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
