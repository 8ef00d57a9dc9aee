import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type JourneyWorld, startJourneyWorld } from '../test-support/journey-world.js';
import { identify, track } from '../test-support/segment-calls.js';
import { BACKENDS } from '../test-support/world.js';
import { createMetrics } from './metrics.js';

const HOUR = 3_600_000;

/** What operators alert on when background work stops keeping up, read from the tables it works off. */
describe.each(BACKENDS)('lateness metrics on %s', (backend) => {
  let world: JourneyWorld;

  beforeEach(async () => {
    world = await startJourneyWorld(backend);
  });
  afterEach(async () => {
    await world.close();
  });

  const scrape = async () => (await createMetrics(world.storage, world.clock).registry.metrics()).split('\n');
  const sample = (lines: string[], series: string) =>
    Number(lines.find((line) => line.startsWith(`${series} `))?.slice(series.length + 1));

  it('says how late the earliest due timer of each kind and the earliest due message are, 0 when none is', async () => {
    await world.publish({
      name: 'Nudge',
      entry: { trigger: { type: 'event', event: 'Joined' } },
      start: 'wait',
      steps: [
        { id: 'wait', type: 'wait', duration: '1h', next: 'done' },
        { id: 'done', type: 'exit' },
      ],
    });
    await world.send([identify('ada', {}), track('ada', 'Joined')]);
    await world.settle();
    const profileId = await world.profileOf('ada');
    await world.storage.transaction(async (tx) => {
      await tx.segments.bringTimersForward([
        { profileId, workspaceId: world.workspaceId, dueAt: world.clock.now() + 2 * HOUR },
      ]);
      await tx.scoring.bringStageTimersForward([
        { profileId, workspaceId: world.workspaceId, dueAt: world.clock.now() + 150 * 60_000 },
      ]);
    });

    // Nothing is due yet.
    const onTime = await scrape();
    expect(sample(onTime, 'mops_timers_overdue_seconds{kind="journey"}')).toBe(0);
    expect(sample(onTime, 'mops_timers_overdue_seconds{kind="segment"}')).toBe(0);
    expect(sample(onTime, 'mops_timers_overdue_seconds{kind="hand-off"}')).toBe(0);
    expect(sample(onTime, 'mops_timers_overdue_seconds{kind="stage"}')).toBe(0);
    expect(sample(onTime, 'mops_messages_overdue_seconds')).toBe(0);

    // Three hours on and nothing has run them: the wait is two hours late, the segment window one,
    // the stage check half an hour.
    world.clock.advance(3 * HOUR);
    const stuck = await scrape();
    expect(sample(stuck, 'mops_timers_overdue_seconds{kind="journey"}')).toBe(7200);
    expect(sample(stuck, 'mops_timers_overdue_seconds{kind="segment"}')).toBe(3600);
    expect(sample(stuck, 'mops_timers_overdue_seconds{kind="hand-off"}')).toBe(0);
    expect(sample(stuck, 'mops_timers_overdue_seconds{kind="stage"}')).toBe(1800);

    // Run, they are gone.
    await world.settle();
    const caughtUp = await scrape();
    expect(sample(caughtUp, 'mops_timers_overdue_seconds{kind="journey"}')).toBe(0);
    expect(sample(caughtUp, 'mops_timers_overdue_seconds{kind="segment"}')).toBe(0);
    expect(sample(caughtUp, 'mops_timers_overdue_seconds{kind="stage"}')).toBe(0);
  });

  it('says how late the earliest message due to be sent is', async () => {
    const template = await world.template({ subject: 'Hi', mjml: '<mjml><mj-body></mj-body></mjml>' });
    await world.publish({
      name: 'Welcome',
      entry: { trigger: { type: 'event', event: 'Joined' } },
      start: 'send',
      steps: [
        { id: 'send', type: 'send_email', template, next: 'done' },
        { id: 'done', type: 'exit' },
      ],
    });
    await world.send([identify('bea', { email: 'bea@example.com' }), track('bea', 'Joined')]);
    // Queued by the journey, not sent: nobody has run the dispatcher for ten minutes.
    await world.background.pipeline.drain();
    world.clock.advance(600_000);
    expect(sample(await scrape(), 'mops_messages_overdue_seconds')).toBe(600);
  });
});
