import type { ColumnType, Generated } from 'kysely';

/**
 * Table shapes as both backends store them. JSON columns are `jsonb` on PostgreSQL and TEXT on
 * SQLite; `JsonColumn` accepts either on read and the dialect helper serialises on write.
 * Times are epoch milliseconds (BIGINT / INTEGER).
 */
export type JsonColumn = ColumnType<unknown, string, string>;

export interface Database {
  workspaces: { id: string; name: string; created_at: number };
  users: { id: string; email: string; name: string | null; password_hash: string; created_at: number };
  memberships: { workspace_id: string; user_id: string; role: string; created_at: number };
  api_keys: {
    id: string;
    workspace_id: string;
    kind: string;
    name: string;
    hint: string;
    token_hash: string;
    created_at: number;
    last_used_at: number | null;
    revoked_at: number | null;
  };
  sessions: { token_hash: string; user_id: string; created_at: number; expires_at: number };
  events: {
    id: Generated<number>;
    workspace_id: string;
    message_id: string;
    type: string;
    name: string | null;
    user_id: string | null;
    anonymous_id: string | null;
    timestamp: number;
    original_timestamp: number | null;
    sent_at: number | null;
    received_at: number;
    payload: JsonColumn;
  };
  rejected_events: {
    id: Generated<number>;
    workspace_id: string;
    received_at: number;
    message_id: string | null;
    reason: string;
    field: string | null;
    payload: string;
  };
  profiles: {
    id: string;
    workspace_id: string;
    user_id: string | null;
    traits: JsonColumn;
    trait_times: JsonColumn;
    first_seen_at: number;
    last_seen_at: number;
    created_at: number;
    updated_at: number;
    merged_into: string | null;
  };
  identities: {
    id: Generated<number>;
    workspace_id: string;
    kind: string;
    value: string;
    profile_id: string;
    created_at: number;
  };
  identity_events: { identity_id: number; timestamp: number; event_id: number };
  accounts: {
    id: string;
    workspace_id: string;
    group_id: string;
    traits: JsonColumn;
    trait_times: JsonColumn;
    created_at: number;
    updated_at: number;
  };
  account_members: { workspace_id: string; account_id: string; profile_id: string; created_at: number };
  pipeline_cursors: { name: string; position: string; updated_at: number };
}
