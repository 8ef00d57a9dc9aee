import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { durationMs } from '../core/duration.js';
import type { Message } from '../core/journey.js';
import { isWithinWindow, nextLocalTime, profileTimeZone } from '../core/local-time.js';
import type { Profile } from '../core/profile.js';
import { TRANSACTIONAL_TOPIC, type WorkspaceSettings } from '../core/workspace-settings.js';
import type { Storage } from '../storage/storage.js';
import { type EmailSender, sendEmail } from './email/email-channel.js';
import { sendWebhook } from './webhook/webhook-channel.js';

export interface DispatcherOptions {
  storage: Storage;
  clock: Clock;
  logger: Logger;
  email: EmailSender;
  /** Messages claimed per round. */
  batchSize?: number;
  /** Messages in flight at once. */
  concurrency?: number;
  pollIntervalMs?: number;
  /** A claimed message is this process's for this long; if it dies mid-send, it is retried after. */
  leaseMs?: number;
}

const PAUSED_RETRY_MS = 60_000;
const MAX_ATTEMPTS = 6;
const SETTINGS_TTL_MS = 5_000;

export type Outcome =
  | { status: 'sent'; providerMessageId: string | null; toAddress: string | null; subject: string | null }
  | { status: 'deferred'; until: number; reason: string }
  | { status: 'suppressed' | 'skipped' | 'failed'; reason: string; toAddress?: string | null };

/**
 * Sends what journeys queued: claims due messages from the message log (which is the outbox),
 * checks consent, suppression, quiet hours and frequency caps just before sending, sends, and records
 * the outcome. A message is claimed by one process at a time (a lease; `SKIP LOCKED` on PostgreSQL)
 * and its idempotency key was fixed when the journey step queued it, so a step sends at most one
 * message; only a crash between the provider's acceptance and the record of it can send it twice.
 */
export class MessageDispatcher {
  readonly #options: Required<DispatcherOptions>;
  readonly #settings = new Map<string, { settings: WorkspaceSettings; until: number }>();
  #running: Promise<void> | undefined;
  #pending = false;
  #stopped = true;
  #timer: NodeJS.Timeout | undefined;
  #sent = 0;

  constructor(options: DispatcherOptions) {
    this.#options = { batchSize: 200, concurrency: 32, pollIntervalMs: 1000, leaseMs: 60_000, ...options };
  }

  get sentCount(): number {
    return this.#sent;
  }

  start(): void {
    this.#stopped = false;
    this.wake();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  /** New messages are queued: send them now. */
  wake(): void {
    if (this.#stopped) return;
    this.#pending = true;
    this.#running ??= this.#loop().finally(() => {
      this.#running = undefined;
    });
  }

  /** One round: claims due messages and settles each; returns how many were claimed. */
  async runOnce(): Promise<number> {
    const { storage, clock, batchSize, concurrency } = this.#options;
    const claimed = await storage.messages.claimDue(clock.now(), batchSize, this.#options.leaseMs);
    let next = 0;
    const worker = async () => {
      while (next < claimed.length) {
        const message = claimed[next++] as Message;
        await this.#settle(message);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, claimed.length) }, worker));
    return claimed.length;
  }

  async #loop(): Promise<void> {
    clearTimeout(this.#timer);
    while (this.#pending && !this.#stopped) {
      this.#pending = false;
      try {
        while (!this.#stopped && (await this.runOnce()) > 0) {
          // keep going while there is work
        }
      } catch (error) {
        this.#options.logger.error({ err: error }, 'message dispatch failed; retrying');
      }
    }
    if (this.#stopped) return;
    const due = await this.#options.storage.messages.nextDue().catch(() => undefined);
    const wait =
      due === undefined
        ? this.#options.pollIntervalMs
        : Math.max(0, Math.min(due - this.#options.clock.now(), this.#options.pollIntervalMs));
    this.#timer = setTimeout(() => this.wake(), wait);
    this.#timer.unref();
  }

  async #settle(message: Message): Promise<void> {
    const { storage, clock, logger } = this.#options;
    let outcome: Outcome;
    try {
      outcome = await this.#attempt(message);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      logger.warn({ messageId: message.id, reason }, 'message attempt failed');
      outcome =
        message.attempts < MAX_ATTEMPTS
          ? {
              status: 'deferred',
              until: clock.now() + backoffMs(message.attempts),
              reason: `retrying: ${reason}`,
            }
          : { status: 'failed', reason };
    }
    const now = clock.now();
    const updated: Message = { ...message, updatedAt: now };
    switch (outcome.status) {
      case 'sent':
        Object.assign(updated, {
          status: 'sent',
          reason: null,
          sentAt: now,
          nextAttemptAt: null,
          providerMessageId: outcome.providerMessageId,
          toAddress: outcome.toAddress,
          subject: outcome.subject,
        });
        this.#sent++;
        break;
      case 'deferred':
        Object.assign(updated, { status: 'deferred', reason: outcome.reason, nextAttemptAt: outcome.until });
        break;
      default:
        Object.assign(updated, {
          status: outcome.status,
          reason: outcome.reason,
          nextAttemptAt: null,
          toAddress: outcome.toAddress ?? message.toAddress,
        });
    }
    await storage.messages.update(updated);
  }

  async #attempt(message: Message): Promise<Outcome> {
    const { storage, clock } = this.#options;
    const now = clock.now();
    const profile = await storage.profiles.find(message.workspaceId, message.profileId);
    if (!profile) return { status: 'skipped', reason: 'the profile no longer exists' };
    if (message.journeyId) {
      const journey = await storage.journeys.find(message.workspaceId, message.journeyId);
      if (journey?.status === 'paused')
        return { status: 'deferred', until: now + PAUSED_RETRY_MS, reason: 'journey paused' };
      if (journey?.status === 'archived') return { status: 'skipped', reason: 'journey archived' };
    }
    if (message.channel === 'webhook') return sendWebhook(message, profile, now);

    const settings = await this.#settingsOf(message.workspaceId);
    const gate = await this.#checkConsent(message, profile, settings, now);
    if (gate) return gate;
    return sendEmail(this.#options.email, { message, profile, settings, storage });
  }

  /** Suppression, topic subscription, quiet hours and frequency caps, in that order. */
  async #checkConsent(
    message: Message,
    profile: Profile,
    settings: WorkspaceSettings,
    now: number,
  ): Promise<Outcome | undefined> {
    const { storage } = this.#options;
    const address = emailAddressOf(profile);
    if (!address) return { status: 'skipped', reason: 'the profile has no e-mail address (trait email)' };
    const suppressed = await storage.consent.findSuppression(message.workspaceId, 'email', address);
    if (suppressed)
      return { status: 'suppressed', reason: `address suppressed: ${suppressed}`, toAddress: address };
    const topic = message.topic ?? 'marketing';
    const subscriptions = await storage.consent.findSubscriptions(message.workspaceId, profile.id);
    const isSubscribed =
      subscriptions[topic] ?? settings.topics.find((t) => t.id === topic)?.defaultSubscribed ?? true;
    if (!isSubscribed)
      return { status: 'suppressed', reason: `unsubscribed from ${topic}`, toAddress: address };
    if (topic === TRANSACTIONAL_TOPIC) return undefined;

    const timeZone = profileTimeZone(profile.traits, settings.timezone);
    let allowedAt: number | undefined;
    let reason = '';
    const quiet = settings.quietHours;
    if (quiet && isWithinWindow(now, timeZone, quiet.start, quiet.end)) {
      allowedAt = nextLocalTime(now, timeZone, quiet.end);
      reason = `quiet hours ${quiet.start}–${quiet.end} (${timeZone})`;
    }
    const cap = settings.frequencyCap;
    if (cap) {
      const periodMs = durationMs(cap.period);
      const sent = await storage.messages.sentTimesSince({
        workspaceId: message.workspaceId,
        profileId: profile.id,
        channel: 'email',
        since: now - periodMs,
        exceptTopic: TRANSACTIONAL_TOPIC,
        exceptMessageId: message.id,
        now,
      });
      if (sent.length >= cap.max) {
        const freeAt = (sent[sent.length - cap.max] as number) + periodMs;
        if (allowedAt === undefined || freeAt > allowedAt) {
          allowedAt = freeAt;
          reason = `frequency cap: ${cap.max} per ${cap.period}`;
        }
      }
    }
    if (allowedAt === undefined) return undefined;
    return message.whenNotAllowed === 'skip'
      ? { status: 'skipped', reason, toAddress: address }
      : { status: 'deferred', until: allowedAt, reason };
  }

  async #settingsOf(workspaceId: string): Promise<WorkspaceSettings> {
    const cached = this.#settings.get(workspaceId);
    const now = Date.now();
    if (cached && cached.until > now) return cached.settings;
    const settings = await this.#options.storage.settings.get(workspaceId);
    this.#settings.set(workspaceId, { settings, until: now + SETTINGS_TTL_MS });
    return settings;
  }
}

export function emailAddressOf(profile: Profile): string | undefined {
  const email = profile.traits.email;
  return typeof email === 'string' && /^[^\s@]+@[^\s@]+$/.test(email.trim()) ? email.trim() : undefined;
}

function backoffMs(attempts: number): number {
  return Math.min(3_600_000, 30_000 * 2 ** Math.max(0, attempts - 1));
}
