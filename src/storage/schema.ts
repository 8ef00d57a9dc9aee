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
    created_by: string | null;
    revoked_by: string | null;
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
    /** `mops` for events Mops wrote itself; null for everything clients sent. */
    origin: Generated<string | null>;
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
    merged_by_event: Generated<number | null>;
    merge_seq: Generated<number | null>;
    revision: Generated<number>;
    /** The profile's trait values, lower-cased, for search: see `searchTextOf`. */
    search_text: Generated<string>;
    /** The `phone` trait in E.164 form, if it is a valid international number: see `phoneNumberOf`. */
    phone_number: string | null;
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
  workspace_settings: { workspace_id: string; settings: JsonColumn; updated_at: number };
  login_failures: { key: string; at: number; attempt: string | null };
  set_aside_events: {
    id: Generated<number>;
    workspace_id: string;
    consumer: string;
    event_id: number;
    message_id: string;
    type: string;
    name: string | null;
    reason: string;
    set_aside_at: number;
    resolved_at: number | null;
    resolution: string | null;
    resolved_by: string | null;
  };
  set_aside_timers: {
    id: Generated<number>;
    workspace_id: string;
    kind: string;
    subject: string;
    token: string | null;
    due_at: number;
    reason: string;
    set_aside_at: number;
    resolved_at: number | null;
    resolution: string | null;
    resolved_by: string | null;
  };
  templates: {
    id: string;
    workspace_id: string;
    name: string;
    subject: string;
    preheader: string | null;
    mjml: string;
    text: string | null;
    created_at: number;
    updated_at: number;
  };
  journeys: {
    id: string;
    workspace_id: string;
    name: string;
    status: string;
    draft: JsonColumn;
    current_version: number | null;
    created_at: number;
    updated_at: number;
  };
  journey_versions: { journey_id: string; version: number; definition: JsonColumn; published_at: number };
  journey_instances: {
    id: string;
    workspace_id: string;
    journey_id: string;
    version: number;
    profile_id: string;
    status: string;
    step_id: string | null;
    entry_event: JsonColumn;
    state: JsonColumn;
    entered_at: number;
    updated_at: number;
    ended_at: number | null;
    end_reason: string | null;
    /** When an instance that had ended met its goal (see migration 0031); null otherwise. */
    goal_met_after_ending_at: number | null;
  };
  journey_split_entries: {
    instance_id: string;
    step_id: string;
    workspace_id: string;
    journey_id: string;
    arm: string | null;
    watch_until: number | null;
    goal_reached_at: number | null;
  };
  journey_transitions: {
    id: Generated<number>;
    workspace_id: string;
    journey_id: string;
    version: number;
    instance_id: string;
    step_id: string | null;
    kind: string;
    at: number;
  };
  journey_timers: {
    id: Generated<number>;
    workspace_id: string;
    instance_id: string;
    token: string;
    due_at: number;
  };
  journey_waits: {
    instance_id: string;
    workspace_id: string;
    profile_id: string;
    event: string;
    step_id: string;
  };
  messages: {
    id: string;
    workspace_id: string;
    profile_id: string;
    journey_id: string | null;
    instance_id: string | null;
    step_id: string | null;
    channel: string;
    template_id: string | null;
    topic: string | null;
    when_not_allowed: string;
    to_address: string | null;
    subject: string | null;
    status: string;
    reason: string | null;
    idempotency_key: string;
    attempts: Generated<number>;
    next_attempt_at: number | null;
    claimed_until: number | null;
    /** The dispatcher round (`host:pid:id`) that holds the message, or settled it last. */
    claimed_by: string | null;
    context: JsonColumn;
    provider_message_id: string | null;
    created_at: number;
    updated_at: number;
    sent_at: number | null;
    opened_at: number | null;
    clicked_at: number | null;
    unsubscribed_at: number | null;
    bounced_at: number | null;
    delivered_at: number | null;
    complained_at: number | null;
    /** Messages of a profile with the same sequence go out in order, one at a time (hand-off calls). */
    sequence: string | null;
  };
  trait_changes: {
    id: Generated<number>;
    workspace_id: string;
    event_id: number | null;
    profile_id: string;
    trait: string;
    value: string;
    previous: string;
    at: number;
  };
  account_trait_changes: {
    id: Generated<number>;
    workspace_id: string;
    event_id: number;
    account_id: string;
    trait: string;
    value: string;
    previous: string;
    at: number;
  };
  inbound_texts: {
    workspace_id: string;
    message_sid: string;
    from_address: string;
    received_at: number;
  };
  suppressions: {
    workspace_id: string;
    channel: string;
    address: string;
    reason: string;
    /** The weaker reason this one replaced, brought back when this one is lifted. */
    replaced_reason: string | null;
    created_at: number;
  };
  subscriptions: {
    workspace_id: string;
    profile_id: string;
    topic: string;
    is_subscribed: number;
    updated_at: number;
  };
  segments: {
    id: string;
    workspace_id: string;
    name: string;
    description: string | null;
    /** `live` (a rule, kept current) or `static` (a list uploaded as CSV). */
    kind: string;
    rule: JsonColumn | null;
    version: number;
    /** `backfilling` until every existing profile was evaluated against this version, then `ready`. */
    status: string;
    backfill_total: Generated<number>;
    backfill_done: Generated<number>;
    /** The last profile id the backfill evaluated: it resumes after it. */
    backfill_after: string | null;
    backfill_started_at: number | null;
    backfill_finished_at: number | null;
    /** Why its backfill stopped (it failed at every attempt); null while it runs or once done. */
    backfill_failure: string | null;
    /** When its first backfill finished (a static list: when it was made); null until then. */
    ready_since: number | null;
    created_at: number;
    updated_at: number;
  };
  segment_members: { segment_id: string; profile_id: string; workspace_id: string; entered_at: number };
  /** Per profile: the next moment one of its time-dependent segments may change. */
  segment_profile_timers: { profile_id: string; workspace_id: string; due_at: number };
  /** Per profile: the next moment time alone may take a score over a stage's threshold. */
  stage_timers: { profile_id: string; workspace_id: string; due_at: number };
  score_refresh_timers: { profile_id: string; workspace_id: string; due_at: number };
  score_ledger: {
    id: Generated<number>;
    workspace_id: string;
    profile_id: string;
    model: string;
    rule: string;
    event_id: number;
    at: number;
    points: number;
  };
  sms_links: { code: string; workspace_id: string; message_id: string; url: string; created_at: number };
  list_additions: {
    id: string;
    workspace_id: string;
    segment_id: string;
    user_ids: JsonColumn;
    status: string;
    matched: number;
    unmatched: number;
    added: number;
    requested_at: number;
    finished_at: number | null;
    reason: string | null;
  };
  journey_member_entries: {
    id: string;
    workspace_id: string;
    journey_id: string;
    segment_id: string;
    status: string;
    after_profile: string | null;
    members_total: number;
    members_done: number;
    entered: number;
    requested_at: number;
    finished_at: number | null;
    reason: string | null;
  };
  score_replays: {
    id: string;
    workspace_id: string;
    model: string;
    since: number | null;
    status: string;
    after_profile: string | null;
    profiles_total: number;
    profiles_done: number;
    profiles_scored: number;
    awards: number;
    points: number;
    merges_before: number;
    requested_at: number;
    finished_at: number | null;
    reason: string | null;
  };
  profile_scores: {
    profile_id: string;
    model: string;
    workspace_id: string;
    score: number;
    /** The score as decay has moved it since (see migration 0037); null only before that migration ran. */
    current_score: number | null;
    updated_at: number;
    /** `modelRevision` of the model the score was computed under; null before migration 0016. */
    model_revision: string | null;
  };
  profile_stages: { profile_id: string; workspace_id: string; stage: string; updated_at: number };
  stage_history: {
    id: Generated<number>;
    workspace_id: string;
    profile_id: string;
    from_stage: string | null;
    to_stage: string;
    reason: string;
    at: number;
  };
  hand_off_turns: {
    workspace_id: string;
    turn: number;
  };
  hand_offs: {
    id: string;
    workspace_id: string;
    profile_id: string;
    /** Null while the hand-off is owed (`awaiting_identity`, or `dropped` before it was made). */
    owner: string | null;
    /**
     * `pending` until `Sales Accepted` (`accepted`) or the SLA runs out (`breached`, `recycled`);
     * `awaiting_identity` while owed to a profile sales cannot identify yet, `dropped` if never made.
     */
    status: string;
    message_id: string | null;
    created_at: number;
    due_at: number;
    accepted_at: number | null;
    breached_at: number | null;
    /** When the profile reached the hand-off stage unknown to sales; null for a hand-off made at once. */
    owed_at: number | null;
    dropped_reason: string | null;
  };
}
