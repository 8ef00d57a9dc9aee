/** Keeps each statement well under SQLite's bound-variable limit and PostgreSQL's 65,535. */
const CHUNK = 500;

/** Splits a list into statement-sized pieces. */
export function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
