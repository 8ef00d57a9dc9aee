import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../core/clock.js';
import { trackEvent } from '../../test-support/events.js';
import { runAudienceContract } from '../audience.contract.js';
import { runStorageContract } from '../storage.contract.js';
import { createSqliteStorage } from './sqlite-storage.js';

describe('SQLite storage', () => {
  const newStorage = async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mops-sqlite-'));
    return {
      storage: await createSqliteStorage({ path: path.join(dir, 'mops.db') }),
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  };
  describe('contract', () => {
    runStorageContract(newStorage);
  });
  describe('audience contract', () => {
    runAudienceContract(newStorage);
  });

  it('still dedupes after a restart, and sees rows another connection wrote', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mops-sqlite-'));
    const file = path.join(dir, 'mops.db');
    const clock = new ManualClock(Date.UTC(2026, 10, 23));
    const now = clock.now();
    const event = (messageId: string) => trackEvent({ messageId, timestamp: now, receivedAt: now });
    try {
      const first = await createSqliteStorage({ path: file, clock });
      await first.migrate();
      await first.events.append({ events: [event('m1')], rejected: [] });
      // A second process (here: a second connection) appends while the first keeps running.
      const second = await createSqliteStorage({ path: file, clock });
      await second.events.append({ events: [event('m2')], rejected: [] });
      expect(await first.events.append({ events: [event('m2')], rejected: [] })).toEqual({
        stored: 0,
        duplicates: 1,
      });
      await first.close();
      await second.close();

      const restarted = await createSqliteStorage({ path: file, clock });
      expect(await restarted.events.append({ events: [event('m1'), event('m3')], rejected: [] })).toEqual({
        stored: 1,
        duplicates: 1,
      });
      await restarted.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('waits for the write lock another connection holds, without blocking the event loop', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mops-sqlite-'));
    const file = path.join(dir, 'mops.db');
    const holder = await createSqliteStorage({ path: file });
    const appender = await createSqliteStorage({ path: file });
    try {
      await holder.migrate();
      let release: () => void = () => undefined;
      const held = holder.transaction(
        () =>
          new Promise<void>((resolve) => {
            release = resolve;
          }),
      );
      await new Promise((resolve) => setTimeout(resolve, 20));
      const append = appender.events.append({
        events: [trackEvent({ messageId: 'waits' })],
        rejected: [],
      });
      let settled = false;
      append.then(
        () => (settled = true),
        () => (settled = true),
      );
      // The event loop still turns while the append waits for the lock (however slowly a busy
      // machine turns it).
      let ticks = 0;
      const ticker = setInterval(() => ticks++, 5);
      await vi.waitFor(() => expect(ticks).toBeGreaterThan(5), { timeout: 5_000, interval: 5 });
      clearInterval(ticker);
      expect(settled).toBe(false);
      release();
      await held;
      expect(await append).toEqual({ stored: 1, duplicates: 0 });
    } finally {
      await holder.close();
      await appender.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('forgets messageIds older than the dedupe window', async () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 23));
    const storage = await createSqliteStorage({ path: ':memory:', clock, dedupeWindowMs: 60_000 });
    await storage.migrate();
    const event = () => trackEvent({ messageId: 'm1', timestamp: clock.now(), receivedAt: clock.now() });
    await storage.events.append({ events: [event()], rejected: [] });
    clock.advance(30_000);
    expect((await storage.events.append({ events: [event()], rejected: [] })).duplicates).toBe(1);
    clock.advance(2 * 60_000 + 1);
    expect((await storage.events.append({ events: [event()], rejected: [] })).stored).toBe(1);
    await storage.close();
  });
});
