/**
 * How many times running one record (an event for a consumer, a due timer, a segment's backfill) may
 * fail, while the database answers, before it is given up with its error so that the rest go on.
 */
export const FAILURES_BEFORE_GIVING_UP = 4;

/**
 * Whether an error says the database or the network let a batch down (a connection lost, a lock or
 * a disk full, a deadlock chosen as victim), rather than the events it was given: such a batch is
 * retried for as long as it takes, and its events are never set aside for it.
 */
export function isPassingFailure(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string') {
    if (POSTGRES_PASSING_STATE.test(code)) return true;
    if (SQLITE_PASSING_CODE.test(code)) return true;
    if (SYSTEM_ERROR_CODE.test(code)) return true;
  }
  // node-postgres ends a query on a lost connection with an error that has no code, and refuses the
  // queries after it (the rollback's among them, whose error is the one a transaction then throws).
  // Its own messages only: any error may quote a field named `timeoutMs`, and one that did was never given up.
  return typeof message === 'string' && NODE_POSTGRES_LOST_CONNECTION.test(message);
}

/** What node-postgres (and its pool) say when a connection is lost or cannot be had in time. */
const NODE_POSTGRES_LOST_CONNECTION =
  /^(connection terminated|connection ended|client has encountered a connection error|timeout exceeded when trying to connect|query read timeout|timeout expired)/i;

/**
 * SQLSTATE classes: 08 connection, 40 transaction rollback (serialization, deadlock), 53 resources,
 * 57 operator intervention (shutdown, cancel), 58 system, XX internal; and 55P03 lock not available.
 */
const POSTGRES_PASSING_STATE = /^(08|40|53|57|58|XX)[0-9A-Z]{3}$|^55P03$/;
const SQLITE_PASSING_CODE = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|NOMEM|READONLY|PROTOCOL|INTERRUPT)/;
/** ECONNRESET, ECONNREFUSED, ETIMEDOUT, EPIPE, ENOSPC, … */
const SYSTEM_ERROR_CODE = /^E[A-Z]{3,}$/;
