import { sql } from 'kysely';
import type { Traits } from '../../core/profile.js';
import type { DialectName, MigrationDb } from './migrations.js';

/** Profiles per read and per update while filling a column in: no statement grows with the table. */
const FILL_BATCH = 500;

/**
 * Fills a column a migration adds to `profiles` with a value worked out from each profile's traits,
 * in id order a batch at a time; a profile whose value is undefined keeps the column's default.
 */
export async function fillProfileColumn(
  db: MigrationDb,
  dialect: DialectName,
  column: 'search_text' | 'phone_number',
  valueFrom: (traits: Traits) => string | undefined,
): Promise<void> {
  // Every id sorts after the empty string.
  let after = '';
  for (;;) {
    const rows: Array<{ id: string; traits: unknown }> = await db
      .selectFrom('profiles')
      .select(['id', 'traits'])
      .where('id', '>', after)
      .orderBy('id')
      .limit(FILL_BATCH)
      .execute();
    const last = rows.at(-1);
    if (last === undefined) return;
    after = last.id;
    const computed = rows.flatMap((row) => {
      const value = valueFrom(traitsOf(row.traits, dialect));
      return value === undefined ? [] : [sql`(${row.id}, ${value})`];
    });
    if (computed.length === 0) continue;
    await sql`
      with computed (id, value) as (values ${sql.join(computed)})
      update profiles set ${sql.ref(column)} = computed.value
      from computed where profiles.id = computed.id`.execute(db);
  }
}

/** jsonb arrives parsed from PostgreSQL; SQLite keeps the JSON text. */
function traitsOf(value: unknown, dialect: DialectName): Traits {
  return (dialect === 'postgres' ? value : JSON.parse(value as string)) as Traits;
}
