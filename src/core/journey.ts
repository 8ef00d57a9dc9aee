import { newId } from './ids.js';
import type { JourneyDefinition, JourneyStatus } from './journey-definition.js';
import type { JourneyDraft } from './journey-draft.js';

export interface Journey {
  id: string;
  workspaceId: string;
  name: string;
  status: JourneyStatus;
  /** The definition being edited, maybe unfinished; publishing checks it and freezes a copy as the next version. */
  draft: JourneyDraft;
  /** The version new entries use; null until first published. */
  currentVersion: number | null;
  createdAt: number;
  updatedAt: number;
}

/** A published, frozen definition, with the templates it used at the time. */
export interface JourneyVersion {
  journeyId: string;
  version: number;
  definition: JourneyDefinition;
  templates: Record<string, EmailTemplate>;
  publishedAt: number;
}

export const INSTANCE_STATUSES = ['active', 'completed', 'exited', 'converted'] as const;
export type InstanceStatus = (typeof INSTANCE_STATUSES)[number];

/** The end reason of an instance a split held out: it exits at the split, and is sent nothing. */
export const HELD_OUT = 'holdout';

/** The end reason of an instance whose contact left the segment it entered on (`exitOnSegmentExit`). */
export const LEFT_ENTRY_SEGMENT = 'left the entry segment';

/**
 * Why the later of two instances a merge brought together in one journey ended, and why what it still
 * held back was not sent.
 */
export const MERGED_INTO_INSTANCE = 'merged into a profile already in this journey';

/** Why an instance that met its journey's goal ended, and why what it still held back was not sent. */
export const GOAL_REACHED = 'goal reached';

/** The event that started an instance: conditions and templates can refer to it as `entry_event`. */
export interface EntryEvent {
  name: string | null;
  messageId: string | null;
  timestamp: number;
  properties: Record<string, unknown>;
}

export interface JourneyInstance {
  id: string;
  workspaceId: string;
  journeyId: string;
  version: number;
  profileId: string;
  status: InstanceStatus;
  /** The step it is at (waiting in, or about to run); null once ended. */
  stepId: string | null;
  entryEvent: EntryEvent;
  state: InstanceState;
  enteredAt: number;
  updatedAt: number;
  endedAt: number | null;
  endReason: string | null;
}

export interface InstanceState {
  /** What the instance waits for: a timer token or an event wait; a firing that does not match is stale. */
  waitingFor?: string;
  /**
   * When it began a `wait` or a `wait_for_event`: the messages it queued since are those the wait
   * follows, and counts from once they went out.
   */
  waitingSince?: number;
  /** The split arm taken, by split step id. */
  arms?: Record<string, string>;
  /** How often each step was entered: tokens and message keys carry it, so loops stay distinct. */
  visits?: Record<string, number>;
  /** The event that last moved the instance on (what a wait_for_event heard), for later `event` conditions. */
  lastEvent?: EntryEvent;
}

export interface EmailTemplate {
  id: string;
  workspaceId: string;
  name: string;
  subject: string;
  preheader: string | null;
  /** MJML with Liquid; plain HTML works too (wrapped as mj-raw). */
  mjml: string;
  /** The plain-text part; generated from the HTML when null. */
  text: string | null;
  createdAt: number;
  updatedAt: number;
}

export const MESSAGE_STATUSES = [
  'queued',
  'deferred',
  'sending',
  'sent',
  'suppressed',
  'skipped',
  'failed',
] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

export const MESSAGE_CHANNELS = ['email', 'sms', 'webhook'] as const;

export interface Message {
  id: string;
  workspaceId: string;
  profileId: string;
  journeyId: string | null;
  instanceId: string | null;
  stepId: string | null;
  channel: (typeof MESSAGE_CHANNELS)[number];
  templateId: string | null;
  topic: string | null;
  whenNotAllowed: 'defer' | 'skip';
  toAddress: string | null;
  subject: string | null;
  status: MessageStatus;
  reason: string | null;
  idempotencyKey: string;
  attempts: number;
  nextAttemptAt: number | null;
  /** What the message is rendered with: the journey's entry event and its version's templates. */
  context: MessageContext;
  providerMessageId: string | null;
  createdAt: number;
  updatedAt: number;
  sentAt: number | null;
  openedAt: number | null;
  clickedAt: number | null;
  unsubscribedAt: number | null;
  bouncedAt: number | null;
  complainedAt: number | null;
  /** When the provider reported a text delivered (SMS delivery receipts). */
  deliveredAt: number | null;
  /**
   * Messages of one profile with the same sequence go out one at a time, in the order they were
   * queued: one is not sent while an earlier one is queued, retrying or being sent (it goes once that
   * one is sent or has failed for good). Hand-off calls to a destination are one sequence
   * (`hand-off:crm`), so the CRM never hears of a recycle before the hand-off it ends. Null: no order.
   */
  sequence: string | null;
}

/** What a new message must say; everything else starts as a message nothing has happened to yet. */
export type NewMessage = Pick<
  Message,
  'workspaceId' | 'profileId' | 'channel' | 'idempotencyKey' | 'context'
> &
  Partial<
    Pick<
      Message,
      | 'journeyId'
      | 'instanceId'
      | 'stepId'
      | 'templateId'
      | 'topic'
      | 'whenNotAllowed'
      | 'status'
      | 'attempts'
      | 'nextAttemptAt'
      | 'sequence'
    >
  >;

/** A message created `at`: queued to go at once unless the input says otherwise, not sent, opened or clicked. */
export function newMessage(input: NewMessage, at: number): Message {
  return {
    id: newId('msg', at),
    journeyId: null,
    instanceId: null,
    stepId: null,
    templateId: null,
    topic: null,
    whenNotAllowed: 'defer',
    toAddress: null,
    subject: null,
    status: 'queued',
    reason: null,
    attempts: 0,
    nextAttemptAt: at,
    providerMessageId: null,
    createdAt: at,
    updatedAt: at,
    sentAt: null,
    openedAt: null,
    clickedAt: null,
    unsubscribedAt: null,
    bouncedAt: null,
    complainedAt: null,
    deliveredAt: null,
    sequence: null,
    ...input,
  };
}

export interface MessageContext {
  event?: EntryEvent;
  journey?: { id: string; name: string; version: number; step: string };
  template?: EmailTemplate;
  /**
   * A webhook step's call: the destination is looked up in the workspace's settings when it is made;
   * `rendered` is the Liquid body as first rendered, kept before the first call for every later one.
   */
  webhook?: { destination: string; path: string; method: string; body: string; rendered?: string };
  /**
   * An SMS step's Liquid text, rendered when it is first sent: `text` is that rendering, kept with the
   * number and sender of the latest call to the provider before it is made, so that a retry sends
   * that text, and looks for an earlier send of it where it went then.
   */
  /** `trackLinks`: the step shortens and tracks the text's links (see short-links.ts). */
  sms?: { body: string; trackLinks?: boolean; text?: string; to?: string; from?: string };
}

/** The reason a message waits while its journey is paused (resuming sends them at once). */
export const JOURNEY_PAUSED_REASON = 'journey paused';
