import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import type { IssueDetail } from '../core/input-issues.js';
import type { SplitResult } from '../experiments/split-results.js';
import { type ReceivedMail, SmtpSink } from './smtp-sink.js';
import { type Backend, basicAuth, eventually, startTestWorld, type TestWorld } from './world.js';

// Shapes of the JSON the API answers with, kept to the fields the HTTP suites read.
export interface ApiError {
  error: { code: string; message: string; field?: string; issue?: IssueDetail };
}
export interface MessageJson {
  id: string;
  profileId: string;
  journeyId: string | null;
  stepId: string | null;
  topic: string | null;
  toAddress: string | null;
  subject: string | null;
  webhookDestination: string | null;
  status: string;
  reason: string | null;
  createdAt: string;
  openedAt: string | null;
  clickedAt: string | null;
  bouncedAt: string | null;
  deliveredAt: string | null;
}
export interface InstanceJson {
  id: string;
  journeyId: string;
  version: number;
  profileId: string;
  status: string;
  stepId: string | null;
  endedAt: string | null;
  endReason: string | null;
}
interface Counts {
  entered: number;
  completed: number;
  waiting: number;
  exited: number;
  converted: number;
}
export interface Report {
  entered: number;
  active: number;
  completed: number;
  exited: number;
  converted: number;
  heldOut: number;
  steps: Record<string, Counts>;
  messages: Record<string, Record<string, number>>;
  splits: SplitResult[];
}
export interface Profile {
  id: string;
  userId: string;
  email: string;
}

/** Statuses after which a message never changes again (no caps or quiet hours are set, so nothing defers). */
const SETTLED = ['sent', 'suppressed', 'skipped', 'failed'];

/** Suites share one world per backend, so every name a test creates must not collide with another test's. */
export const unique = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

/** The open pixel, the first tracked link and the List-Unsubscribe URL of a received e-mail. */
export function trackingUrls(mail: ReceivedMail): { pixel: string; click: string; unsubscribe: string } {
  const html = String(mail.parsed.html);
  const pixel = /src="(http:\/\/127\.0\.0\.1:\d+\/t\/o\/[\w.-]+\.gif)"/.exec(html)?.[1];
  const click = /href="(http:\/\/127\.0\.0\.1:\d+\/t\/c\/[\w.-]+)"/.exec(html)?.[1];
  // Long headers are folded onto continuation lines.
  const headers = mail.raw.replace(/\r?\n[ \t]+/g, ' ');
  const unsubscribe = /^List-Unsubscribe: <([^>]+)>/m.exec(headers)?.[1];
  if (!pixel || !click || !unsubscribe) throw new Error(`no tracking URLs in ${mail.raw}`);
  return { pixel, click, unsubscribe };
}

/** A running Mops whose workspace e-mails a real SMTP sink. */
export interface MailWorld {
  world: TestWorld;
  sink: SmtpSink;
  close(): Promise<void>;
}

/**
 * Sets no frequency caps, so every journey e-mail goes out at once and a test can wait for it to settle
 * instead of advancing a clock.
 */
export async function startMailWorld(backend: Backend): Promise<MailWorld> {
  const sink = await new SmtpSink().start();
  let world: TestWorld | undefined;
  const close = async () => {
    await world?.close();
    await sink.stop();
  };
  // The suite's afterAll never sees a world that failed to start, so whatever did start is closed here.
  try {
    world = await startTestWorld(backend);
    const mail: MailWorld = { world, sink, close };
    const settings = await apiClient(() => mail).api('PUT', '/settings', {
      smtp: { host: '127.0.0.1', port: sink.port, from: 'Shop <shop@example.com>' },
      frequencyCaps: { email: [] },
    });
    expect(settings.status).toBe(200);
    return mail;
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * The HTTP calls the journey and messaging suites make, all through the public API with the world's keys.
 * Takes a getter because suites bind the helpers in the describe body, where their tests can see them,
 * while the world itself only starts in beforeAll.
 */
export function apiClient(current: () => MailWorld) {
  const api = async <T>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }> => {
    const { world } = current();
    const response = await fetch(`${world.url}/api/workspaces/${world.workspaceId}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${world.secretKey}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
  };

  /** Segment calls go in with the write key, as a site would send them, not through the admin API. */
  const ingest = async (batch: Array<Record<string, unknown>>) => {
    const { world } = current();
    const response = await fetch(`${world.url}/v1/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basicAuth(world.writeKey) },
      body: JSON.stringify({ batch }),
    });
    expect(response.status).toBe(200);
  };

  /** Waits until every consumer (profiles, scoring, segments, journeys) has handled every stored event (lag 0). */
  const caughtUp = () =>
    eventually(async () => {
      const metrics = await (await fetch(`${current().world.url}/metrics`)).text();
      const lags = [...metrics.matchAll(/mops_pipeline_lag_events\{consumer="\w+"\} (\d+)/g)];
      return lags.length === 4 && lags.every((lag) => lag[1] === '0') ? true : undefined;
    });

  /** The value of one series at /metrics, e.g. `mops_hand_offs{status="pending"}` (0 when it is not there). */
  const metric = async (series: string) => {
    const metrics = await (await fetch(`${current().world.url}/metrics`)).text();
    const line = metrics.split('\n').find((candidate) => candidate.startsWith(`${series} `));
    return line === undefined ? 0 : Number(line.slice(series.length + 1));
  };

  /** Profiles are made by identify calls, as in production, so the suites also cover identity resolution. */
  async function newProfile(traits: Record<string, unknown> = {}): Promise<Profile> {
    const userId = unique('user');
    const email = `${userId}@example.com`;
    await ingest([{ type: 'identify', userId, traits: { email, first_name: 'Ada', ...traits } }]);
    const id = await eventually(async () => {
      const page = await api<{ items: Array<{ id: string }> }>('GET', `/profiles?q=${userId}`);
      return page.body.items[0]?.id;
    });
    return { id, userId, email };
  }

  /** Personalises from both the profile and the entry event, so tests can see which data reached the send. */
  async function newTemplate(overrides: Record<string, unknown> = {}): Promise<string> {
    const created = await api<{ id: string }>('POST', '/templates', {
      name: unique('template'),
      subject: 'Hello {{ profile.traits.first_name | default: "there" }}',
      mjml: `<mjml><mj-body><mj-section><mj-column>
        <mj-text>Hi {{ profile.traits.first_name }}, your code is {{ event.properties.coupon | default: "none" }}.</mj-text>
        <mj-button href="https://shop.example.com/offers">See the offers</mj-button>
      </mj-column></mj-section></mj-body></mjml>`,
      ...overrides,
    });
    expect(created.status).toBe(201);
    return created.body.id;
  }

  /** A journey that sends one e-mail and ends; entered by hand unless another trigger is given. */
  function emailJourney(
    templateId: string,
    entry: Record<string, unknown> = { trigger: { type: 'manual' } },
  ): Record<string, unknown> {
    return {
      name: unique('journey'),
      entry,
      start: 'send',
      steps: [
        { id: 'send', type: 'send_email', template: templateId, next: 'done' },
        { id: 'done', type: 'exit' },
      ],
    };
  }

  async function publish(definition: Record<string, unknown>): Promise<string> {
    const created = await api<{ id: string }>('POST', '/journeys', { definition });
    expect(created.status).toBe(201);
    expect((await api('POST', `/journeys/${created.body.id}/publish`)).status).toBe(200);
    return created.body.id;
  }

  const enrol = (journeyId: string, body: unknown) =>
    api<InstanceJson & ApiError>('POST', `/journeys/${journeyId}/enrol`, body);

  const report = async (journeyId: string) =>
    (await api<Report>('GET', `/journeys/${journeyId}/report`)).body;

  const listMessages = async (query: Record<string, string>) => {
    const page = await api<{ items: MessageJson[]; nextCursor: string | null }>(
      'GET',
      `/messages?${new URLSearchParams(query)}`,
    );
    expect(page.status).toBe(200);
    return page.body;
  };

  /** The messages matching `query` once there are `count` of them and none can change any more. */
  const settledMessages = (query: Record<string, string>, count: number) =>
    eventually(async () => {
      const { items } = await listMessages(query);
      return items.length === count && items.every((m) => SETTLED.includes(m.status)) ? items : undefined;
    });

  /** Sending is asynchronous, so a test waits for the first mail the sink receives for `address`. */
  const mailTo = (address: string) => eventually(async () => current().sink.to(address)[0]);

  return {
    api,
    ingest,
    caughtUp,
    metric,
    newProfile,
    newTemplate,
    emailJourney,
    publish,
    enrol,
    report,
    listMessages,
    settledMessages,
    mailTo,
  };
}
