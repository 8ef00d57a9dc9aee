import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { type DispatcherOptions, MessageDispatcher } from '../channels/dispatcher.js';
import { SecretBox, saveSettings } from '../channels/settings.js';
import { ManualClock } from '../core/clock.js';
import { newId } from '../core/ids.js';
import type { JourneyDefinition } from '../core/journey-definition.js';
import { ingest } from '../ingest/ingest.js';
import { createJourney, publishJourney } from '../journeys/journeys.js';
import { runMemberEntries } from '../journeys/member-entries.js';
import { runOverdueHandOffs } from '../scoring/hand-offs.js';
import { runDueScoreRefreshes } from '../scoring/score-refresh.js';
import { runScoreReplays } from '../scoring/score-replay.js';
import { runDueStageTimers } from '../scoring/stage-timers.js';
import { runPendingBackfills } from '../segments/backfill.js';
import { runListAdditions } from '../segments/list-additions.js';
import { runDueSegmentTimers } from '../segments/live-segments.js';
import { type Background, createBackground } from '../server/background.js';
import { createPostgresStorage } from '../storage/postgres/postgres-storage.js';
import { createSqliteStorage } from '../storage/sqlite/sqlite-storage.js';
import type { Storage } from '../storage/storage.js';
import { saveTemplate } from '../templates/templates.js';
import { createTestSchema } from './postgres.js';
import { SmtpSink } from './smtp-sink.js';
import type { Backend } from './world.js';

export const SECRET = 'journey-world-secret-journey-world-secret';

/**
 * The journey engine without a server: storage, a manual clock, the pipeline, timers and dispatcher
 * driven by hand (`settle()`), and a real SMTP sink. Time moves only when a test advances it.
 */
export interface JourneyWorld {
  storage: Storage;
  /** The PostgreSQL schema the world's tables are in; undefined on SQLite. */
  schema: string | undefined;
  /** The SQLite database file; undefined on PostgreSQL. */
  sqlitePath: string | undefined;
  clock: ManualClock;
  background: Background;
  sink: SmtpSink;
  workspaceId: string;
  /** Sends Segment calls through the real ingest path. */
  send(calls: Array<Record<string, unknown>>): Promise<void>;
  /** Runs the pipeline, due timers and due messages until nothing is left to do at the current time. */
  settle(): Promise<void>;
  /** Moves the clock and settles. */
  advance(ms: number): Promise<void>;
  /** Replaces top-level settings as the API does (secrets sealed), keeping the others. */
  configure(patch: Record<string, unknown>): Promise<void>;
  publish(definition: unknown): Promise<string>;
  template(input: { name?: string; subject: string; mjml: string; text?: string }): Promise<string>;
  profileOf(userId: string): Promise<string>;
  /**
   * Another dispatcher on this world's storage and SMTP sink, as a second worker (or a server started
   * otherwise) would run one; private networks allowed unless the options say not.
   */
  dispatcher(options?: Partial<DispatcherOptions>): MessageDispatcher;
  close(): Promise<void>;
}

export async function startJourneyWorld(
  backend: Backend,
  start = Date.parse('2026-11-23T10:00:00Z'),
): Promise<JourneyWorld> {
  const clock = new ManualClock(start);
  const sink = await new SmtpSink().start();
  let storage: Storage;
  let schemaName: string | undefined;
  let sqlitePath: string | undefined;
  let cleanup: () => Promise<void>;
  if (backend === 'sqlite') {
    const dir = mkdtempSync(path.join(tmpdir(), 'mops-journeys-'));
    sqlitePath = path.join(dir, 'mops.db');
    storage = await createSqliteStorage({ path: sqlitePath, clock });
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
  } else {
    const schema = await createTestSchema();
    schemaName = schema.schema;
    storage = await createPostgresStorage({ url: schema.url, schema: schema.schema, poolSize: 4 });
    cleanup = () => schema.drop();
  }
  await storage.migrate();
  const workspaceId = newId('ws');
  await storage.workspaces.create({ id: workspaceId, name: 'Shop', createdAt: clock.now() });
  await storage.settings.put(
    workspaceId,
    {
      timezone: 'Europe/Rome',
      smtp: {
        host: '127.0.0.1',
        port: sink.port,
        tls: 'opportunistic',
        verifyCertificate: true,
        from: 'shop@example.com',
        pool: 2,
      },
      frequencyCaps: { email: [], sms: [] },
      quietHours: null,
      topics: [
        { id: 'marketing', name: 'Marketing', defaultSubscribed: true },
        { id: 'transactional', name: 'Transactional', defaultSubscribed: true },
      ],
      webhooks: { destinations: [], allowPrivateNetworks: false, timeoutMs: 10_000, maxAttempts: 8 },
      scoring: { models: [] },
    },
    clock.now(),
  );
  const logger = pino({ level: 'silent' });
  const background = createBackground({
    storage,
    clock,
    logger,
    secret: SECRET,
    publicUrl: 'http://mops.test',
    // The SMTP sink, webhook receivers and SMS stand-ins of tests listen on loopback.
    allowPrivateNetworks: true,
  });

  const world: JourneyWorld = {
    storage,
    schema: schemaName,
    sqlitePath,
    clock,
    background,
    sink,
    workspaceId,
    dispatcher: (options = {}) =>
      new MessageDispatcher({
        storage,
        clock,
        logger,
        email: background.email,
        allowPrivateNetworks: true,
        ...options,
      }),
    async send(calls) {
      await ingest(storage.events, {
        workspaceId,
        endpoint: 'batch',
        body: { batch: calls },
        receivedAt: clock.now(),
      });
    },
    async settle() {
      for (let round = 0; round < 50; round++) {
        const backfills = await runPendingBackfills(storage, { clock, logger });
        const replayPages = await runScoreReplays(storage, { clock, logger });
        const memberPages = await runMemberEntries(storage, { engine: background.engine, clock, logger });
        const listAdditions = await runListAdditions(storage, { clock, logger });
        const events = await background.pipeline.drain();
        const segmentTimers = (await runDueSegmentTimers(storage, { now: clock.now() })).taken;
        const handOffs = (await runOverdueHandOffs(storage, { now: clock.now() })).handled;
        const stageTimers = (await runDueStageTimers(storage, { now: clock.now() })).handled;
        const scoreRefreshes = await runDueScoreRefreshes(storage, { now: clock.now() });
        const timers = await background.engine.runDueTimers();
        const messages = await background.dispatcher.runOnce();
        if (
          backfills +
            replayPages +
            memberPages +
            listAdditions +
            events +
            segmentTimers +
            handOffs +
            stageTimers +
            scoreRefreshes +
            timers +
            messages ===
          0
        )
          return;
      }
      throw new Error('the world did not settle in 50 rounds');
    },
    async advance(ms) {
      clock.advance(ms);
      await world.settle();
    },
    async configure(patch) {
      await saveSettings(storage, new SecretBox(SECRET), {
        workspaceId,
        settings: { ...(await storage.settings.get(workspaceId)), ...patch },
        at: clock.now(),
        privateNetworksAllowed: true,
      });
    },
    async publish(definition) {
      const journey = await createJourney(storage, clock, {
        workspaceId,
        definition: definition as JourneyDefinition,
      });
      await publishJourney(storage, clock, workspaceId, journey.id);
      return journey.id;
    },
    async template(input) {
      const template = await saveTemplate(storage, clock, {
        workspaceId,
        template: {
          name: input.name ?? input.subject,
          subject: input.subject,
          mjml: input.mjml,
          text: input.text ?? null,
        },
      });
      return template.id;
    },
    async profileOf(userId) {
      const identities = await storage.profiles.findIdentities(workspaceId, [
        { kind: 'user', value: userId },
      ]);
      const id = identities[0]?.profileId;
      if (!id) throw new Error(`no profile for ${userId}`);
      return id;
    },
    async close() {
      await background.stop();
      await storage.close();
      await sink.stop();
      await cleanup();
    },
  };
  return world;
}
