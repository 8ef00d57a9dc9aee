import { Migrator } from 'kysely';
import { type DialectName, type MigrationDb, migrationProvider } from '../storage/migrations/migrations.js';
import { withTablesOf } from '../storage/postgres/schema-introspection.js';

/**
 * A migrator over a test's database as the storage builds one: on PostgreSQL its tables looked up in
 * the test's own schema only (Kysely's lookup across every schema fails when another test file drops
 * its schema meanwhile), for migration tests that stop at a version and fill rows in before the next.
 */
export function testMigrator(db: MigrationDb, dialect: DialectName, schema?: string): Migrator {
  return new Migrator({
    db: schema ? withTablesOf(db, schema) : db,
    provider: migrationProvider(dialect),
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
}
