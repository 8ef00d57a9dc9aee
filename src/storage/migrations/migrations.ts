import type { Kysely, Migration, MigrationProvider } from 'kysely';
import { initialSchema } from './0001-initial.js';
import { journeysSchema } from './0002-journeys.js';
import { segmentsSchema } from './0003-segments.js';
import { profileTimersSchema } from './0004-profile-timers.js';
import { mergeEventsSchema } from './0005-merge-events.js';
import { handOffTurnsSchema } from './0006-hand-off-turns.js';
import { scoresInDoublePrecision } from './0007-scores-in-double-precision.js';
import { scoresByProfile } from './0008-scores-by-profile.js';
import { segmentReadySince } from './0009-segment-ready-since.js';
import { profileRevision } from './0010-profile-revision.js';
import { inboundTextsSchema } from './0011-inbound-texts.js';
import { instancesByVersion } from './0012-instances-by-version.js';
import { rejectedOnce } from './0013-rejected-once.js';
import { mergeOrder } from './0014-merge-order.js';
import { loginFailures } from './0015-login-failures.js';
import { scoreModelRevision } from './0016-score-model-revision.js';
import { unnamedViews } from './0017-unnamed-views.js';
import { setAsideEvents } from './0018-set-aside-events.js';
import { setAsideTimers } from './0019-set-aside-timers.js';
import { segmentBackfillFailure } from './0020-segment-backfill-failure.js';
import { setAsideResolution } from './0021-set-aside-resolution.js';
import { owedHandOffs } from './0022-owed-hand-offs.js';
import { profileSearchText } from './0023-profile-search-text.js';
import { splitEntries } from './0024-split-entries.js';
import { keyActors } from './0025-key-actors.js';
import { messagesByAddress } from './0026-messages-by-address.js';
import { profilePhoneNumbers } from './0027-profile-phone-numbers.js';
import { scoreReplays } from './0028-score-replays.js';
import { stageTimers } from './0029-stage-timers.js';
import { loginAttemptIds } from './0030-login-attempt-ids.js';
import { goalMetAfterEnding } from './0031-goal-met-after-ending.js';
import { stageIndexes } from './0032-stage-indexes.js';
import { messageDeliveredAt } from './0033-message-delivered-at.js';
import { journeyMemberEntries } from './0034-journey-member-entries.js';
import { listAdditions } from './0035-list-additions.js';
import { smsLinks } from './0036-sms-links.js';
import { scoreRefreshTimers } from './0037-score-refresh-timers.js';
import { handOffsNewestFirst } from './0038-hand-offs-newest-first.js';
import { messageSequences } from './0039-message-sequences.js';
import { suppressionsKeepReplaced } from './0040-suppressions-keep-replaced.js';
import { accountTraitChanges } from './0041-account-trait-changes.js';

export type DialectName = 'sqlite' | 'postgres';

/** Migrations are written once and take the dialect, for the few column types that differ. */
export type DialectMigration = (dialect: DialectName) => Migration;

const ALL: Record<string, DialectMigration> = {
  '0001-initial': initialSchema,
  '0002-journeys': journeysSchema,
  '0003-segments': segmentsSchema,
  '0004-profile-timers': profileTimersSchema,
  '0005-merge-events': mergeEventsSchema,
  '0006-hand-off-turns': handOffTurnsSchema,
  '0007-scores-in-double-precision': scoresInDoublePrecision,
  '0008-scores-by-profile': scoresByProfile,
  '0009-segment-ready-since': segmentReadySince,
  '0010-profile-revision': profileRevision,
  '0011-inbound-texts': inboundTextsSchema,
  '0012-instances-by-version': instancesByVersion,
  '0013-rejected-once': rejectedOnce,
  '0014-merge-order': mergeOrder,
  '0015-login-failures': loginFailures,
  '0016-score-model-revision': scoreModelRevision,
  '0017-unnamed-views': unnamedViews,
  '0018-set-aside-events': setAsideEvents,
  '0019-set-aside-timers': setAsideTimers,
  '0020-segment-backfill-failure': segmentBackfillFailure,
  '0021-set-aside-resolution': setAsideResolution,
  '0022-owed-hand-offs': owedHandOffs,
  '0023-profile-search-text': profileSearchText,
  '0024-split-entries': splitEntries,
  '0025-key-actors': keyActors,
  '0026-messages-by-address': messagesByAddress,
  '0027-profile-phone-numbers': profilePhoneNumbers,
  '0028-score-replays': scoreReplays,
  '0029-stage-timers': stageTimers,
  '0030-login-attempt-ids': loginAttemptIds,
  '0031-goal-met-after-ending': goalMetAfterEnding,
  '0032-stage-indexes': stageIndexes,
  '0033-message-delivered-at': messageDeliveredAt,
  '0034-journey-member-entries': journeyMemberEntries,
  '0035-list-additions': listAdditions,
  '0036-sms-links': smsLinks,
  '0037-score-refresh-timers': scoreRefreshTimers,
  '0038-hand-offs-newest-first': handOffsNewestFirst,
  '0039-message-sequences': messageSequences,
  '0040-suppressions-keep-replaced': suppressionsKeepReplaced,
  '0041-account-trait-changes': accountTraitChanges,
};

export function migrationProvider(dialect: DialectName): MigrationProvider {
  return {
    async getMigrations() {
      return Object.fromEntries(Object.entries(ALL).map(([name, make]) => [name, make(dialect)]));
    },
  };
}

// biome-ignore lint/suspicious/noExplicitAny: migrations run against the schema as it was, not as it is now.
export type MigrationDb = Kysely<any>;

/** The column types that differ per backend, and a table with a generated integer key. */
export function columnTypes(dialect: DialectName) {
  const isPostgres = dialect === 'postgres';
  return {
    json: isPostgres ? 'jsonb' : 'text',
    int64: isPostgres ? 'bigint' : 'integer',
    serialTable: (db: MigrationDb, table: string) =>
      db.schema
        .createTable(table)
        .addColumn('id', isPostgres ? 'bigserial' : 'integer', (c) =>
          isPostgres ? c.primaryKey() : c.primaryKey().autoIncrement(),
        ),
  } as const;
}
