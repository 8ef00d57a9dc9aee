import type { Clock } from '../core/clock.js';
import type { Config } from '../core/config.js';
import { createPostgresStorage } from './postgres/postgres-storage.js';
import { createSqliteStorage } from './sqlite/sqlite-storage.js';
import type { Storage } from './storage.js';

/** Opens the backend the configuration names; callers then `migrate()`. */
export function openStorage(
  config: Pick<Config, 'database' | 'dedupeWindowMs'>,
  clock?: Clock,
): Promise<Storage> {
  const { database } = config;
  if (database.kind === 'postgres') {
    return createPostgresStorage({
      url: database.url,
      poolSize: database.poolSize,
      idleInTransactionTimeoutMs: database.idleInTransactionTimeoutMs,
    });
  }
  return createSqliteStorage({
    path: database.path,
    synchronous: database.synchronous,
    dedupeWindowMs: config.dedupeWindowMs,
    ...(clock ? { clock } : {}),
  });
}
