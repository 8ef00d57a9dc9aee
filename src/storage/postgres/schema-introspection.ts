import { type DatabaseIntrospector, type Kysely, sql, type TableMetadata } from 'kysely';

/**
 * The database as Kysely's migrator sees it, with table introspection kept to one schema. The
 * migrator asks for every table of every schema the role may use, `has_schema_privilege` on each:
 * besides reading the whole catalog for two names, that query fails outright when another schema
 * is dropped while it runs (other Mops databases sharing the server, test suites side by side).
 */
export function withTablesOf<DB>(db: Kysely<DB>, schema: string): Kysely<DB> {
  const introspection: DatabaseIntrospector = {
    getSchemas: () => db.introspection.getSchemas(),
    getMetadata: async () => ({ tables: await getTables() }),
    getTables,
  };
  async function getTables(): Promise<TableMetadata[]> {
    const { rows } = await sql<{ name: string }>`
      select c.relname as name from pg_catalog.pg_class c
      join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where n.nspname = ${schema} and c.relkind in ('r', 'p')`.execute(db);
    // The migrator reads names and schemas only.
    return rows.map((row) => ({ name: row.name, schema, isView: false, columns: [] }));
  }
  return new Proxy(db, {
    get(target, property) {
      if (property === 'introspection') return introspection;
      const value = Reflect.get(target, property, target);
      // Kysely's methods read private fields of the instance itself, not of a proxy.
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
