import { createHash } from 'node:crypto';
import type { ApiKey, ApiKeyKind, KeyActor } from '../core/access.js';
import type { Clock } from '../core/clock.js';
import { AppError } from '../core/errors.js';
import { newId, randomToken } from '../core/ids.js';
import type { Storage } from '../storage/storage.js';

const PREFIX: Record<ApiKeyKind, string> = { write: 'wk_', secret: 'sk_' };
const HINT_LENGTH = 10;

/** API keys are 192 random bits, so a plain SHA-256 is enough to store them: nothing to brute-force. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export async function createApiKey(
  storage: Storage,
  options: {
    workspaceId: string;
    kind: ApiKeyKind;
    name: string;
    now: number;
    /** The user or secret key creating it; null on the command line. */
    createdBy: string | null;
  },
): Promise<{ key: ApiKey; token: string }> {
  const workspace = await storage.workspaces.find(options.workspaceId);
  if (!workspace) throw new AppError('not_found', `workspace ${options.workspaceId} does not exist`);
  const token = PREFIX[options.kind] + randomToken(24);
  const key: ApiKey = {
    id: newId('key', options.now),
    workspaceId: options.workspaceId,
    kind: options.kind,
    name: options.name,
    hint: `${token.slice(0, HINT_LENGTH)}…`,
    createdAt: options.now,
    lastUsedAt: null,
    revokedAt: null,
    createdBy: options.createdBy,
    revokedBy: null,
  };
  // One write transaction: the creator's check and the insert see one state of the keys.
  const stored = { ...key, tokenHash: hashToken(token) };
  if (!(await storage.transaction((tx) => tx.access.createApiKey(stored))))
    throw new AppError('unauthorized', 'the API key is not valid or was revoked');
  return { key, token };
}

/**
 * The users and keys named as creators or revokers of these keys (all of one workspace), by id. A key
 * is only ever created or revoked by a secret key of its own workspace, so the keys listed name every
 * key that can be asked about; any other id is a user's.
 */
export async function keyActorsOf(storage: Storage, keys: readonly ApiKey[]): Promise<Map<string, KeyActor>> {
  const keysById = new Map(keys.map((key) => [key.id, key]));
  const actors = new Map<string, KeyActor>();
  for (const id of new Set(keys.flatMap((key) => [key.createdBy, key.revokedBy]))) {
    if (id === null || actors.has(id)) continue;
    const key = keysById.get(id);
    if (key) {
      actors.set(id, { kind: 'key', id, name: key.name, email: null });
      continue;
    }
    const user = await storage.access.findUser(id);
    actors.set(id, { kind: 'user', id, name: user?.name ?? null, email: user?.email ?? null });
  }
  return actors;
}

const POSITIVE_TTL_MS = 10_000;
const NEGATIVE_TTL_MS = 2_000;
const MAX_ENTRIES = 10_000;
const TOUCH_INTERVAL_MS = 60_000;

/**
 * Looks keys up by hash with a short cache: ingest checks a key per request, and a database round
 * trip each time would cost PostgreSQL deployments latency. A key revoked in this process stops
 * working at once; one revoked elsewhere within `POSITIVE_TTL_MS`.
 */
export class ApiKeyVerifier {
  readonly #storage: Storage;
  readonly #clock: Clock;
  readonly #cache = new Map<string, { key: ApiKey | undefined; until: number }>();
  readonly #touched = new Map<string, number>();

  constructor(storage: Storage, clock: Clock) {
    this.#storage = storage;
    this.#clock = clock;
  }

  /** The active key of that kind, or undefined for unknown, revoked or other-kind tokens. */
  async verify(token: string, kind: ApiKeyKind): Promise<ApiKey | undefined> {
    const key = await this.find(token);
    return key && key.kind === kind ? key : undefined;
  }

  /** The active key, of any kind. */
  async find(token: string): Promise<ApiKey | undefined> {
    if (!token.startsWith(PREFIX.write) && !token.startsWith(PREFIX.secret)) return undefined;
    const now = this.#clock.now();
    const tokenHash = hashToken(token);
    let entry = this.#cache.get(tokenHash);
    if (!entry || entry.until <= now) {
      const found = await this.#storage.access.findApiKeyByHash(tokenHash);
      const key = found && found.revokedAt === null ? found : undefined;
      entry = { key, until: now + (key ? POSITIVE_TTL_MS : NEGATIVE_TTL_MS) };
      if (this.#cache.size >= MAX_ENTRIES) this.#cache.clear();
      this.#cache.set(tokenHash, entry);
    }
    if (entry.key) this.#touch(entry.key.id, now);
    return entry.key;
  }

  /**
   * Revokes a key on behalf of `by` (a user or secret key; null on the command line), and the keys it
   * created, and theirs: a leaked secret key must not live on in keys it made. The ids revoked now.
   */
  async revoke(workspaceId: string, keyId: string, by: string | null): Promise<string[]> {
    const revoked = await this.#storage.transaction((tx) =>
      tx.access.revokeApiKey(workspaceId, keyId, { at: this.#clock.now(), by }),
    );
    if (!revoked) throw new AppError('not_found', `key ${keyId} does not exist in this workspace`);
    const gone = new Set(revoked);
    for (const [hash, entry] of this.#cache)
      if (entry.key && gone.has(entry.key.id)) this.#cache.delete(hash);
    return revoked;
  }

  /** Records last use at most once a minute per key, so ingest does not write a row per request. */
  #touch(keyId: string, now: number): void {
    const last = this.#touched.get(keyId) ?? 0;
    if (now - last < TOUCH_INTERVAL_MS) return;
    this.#touched.set(keyId, now);
    this.#storage.access.touchApiKey(keyId, now).catch(() => this.#touched.delete(keyId));
  }
}
