import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { channelAddressOf } from '../core/channel-address.js';
import type { Clock } from '../core/clock.js';
import { durationMs } from '../core/duration.js';
import { newId } from '../core/ids.js';
import { JOURNEY_PAUSED_REASON, type Journey, type Message } from '../core/journey.js';
import { isWithinWindow, nextLocalTime, profileTimeZone } from '../core/local-time.js';
import type { Profile } from '../core/profile.js';
import {
  CONSENT_CHANNELS,
  type ConsentChannel,
  isHeldBySuppression,
  isSubscribedOn,
  type SuppressionReason,
  TRANSACTIONAL_TOPIC,
} from '../core/topic-consent.js';
import { TEST_TOPIC, type WorkspaceSettings } from '../core/workspace-settings.js';
import { isPassingFailure } from '../storage/passing-failures.js';
import type { Storage } from '../storage/storage.js';
import { errorMessage, RETRYING_PREFIX, RetryableError } from './delivery-errors.js';
import { type EmailSender, sendEmail } from './email/email-channel.js';
import { CappedSends, SendSlots, TextTurns } from './overlapping-rounds.js';
import { smsStatusUrl } from './sms/delivery-receipts.js';
import { type SmsCall, sendSms } from './sms/sms-channel.js';
import { reasonShownToMembers } from './webhook/failure-reasons.js';
import { sendWebhook } from './webhook/webhook-channel.js';

export interface DispatcherOptions {
  storage: Storage;
  clock: Clock;
  logger: Logger;
  email: EmailSender;
  /**
   * MOPS_ALLOW_PRIVATE_NETWORKS. Without it no webhook or SMS provider call goes to a private address,
   * whatever a workspace's settings say: they may have been saved while the server allowed it.
   */
  allowPrivateNetworks: boolean;
  /** Messages claimed per round. */
  batchSize?: number;
  /** Messages in flight at once, over every round under way. */
  concurrency?: number;
  pollIntervalMs?: number;
  /** A claimed message is this process's for this long; if it dies mid-send, it is retried after. */
  leaseMs?: number;
}

const PAUSED_RETRY_MS = 60_000;
/** How soon a capped send waits to be judged again while another round has one to the contact. */
const CAP_RECHECK_MS = 1_000;
/** Topics whose messages neither count against frequency caps nor are held by them. */
const UNCAPPED_TOPICS = [TRANSACTIONAL_TOPIC, TEST_TOPIC];
/**
 * Attempts at an e-mail or a text before it fails for good: with the back-off below, about five
 * hours — a relay or provider that defers (rate limits, an outage) is waited out, as mail servers do.
 */
export const MAX_ATTEMPTS = 12;
/** Channels that reach a person, so consent, quiet hours and caps apply. */
const MISSING_ADDRESS: Record<ConsentChannel, string> = {
  email: 'the profile has no e-mail address (trait email)',
  sms: 'the profile has no valid phone number in international form (trait phone, e.g. +393331234567)',
};
/** The first wait before recording a round's outcomes again, doubled up to the most. */
const RECORD_RETRY_MS = 250;
const RECORD_RETRY_MAX_MS = 5_000;

export type Outcome =
  | { status: 'sent'; providerMessageId: string | null; toAddress: string | null; subject: string | null }
  /** `heldBack`: nothing was tried (a paused journey, quiet hours, a cap), so no attempt is used up. */
  | { status: 'deferred'; until: number; reason: string; heldBack?: boolean }
  | { status: 'suppressed' | 'skipped' | 'failed'; reason: string; toAddress?: string | null };

/** What a round of claimed messages needs from storage, loaded once for all of them. */
interface RoundContext {
  profiles: Map<string, Profile>;
  journeys: Map<string, Journey | undefined>;
  settings: Map<string, WorkspaceSettings>;
  /** Per workspace and channel (`ws_…:email`), the suppressed addresses among the round's. */
  suppressions: Map<string, Map<string, SuppressionReason>>;
  subscriptions: Map<string, Map<string, Record<string, boolean>>>;
  /**
   * Per channel and address (`sms:+39…`, see `capKey`), send times inside the cap's period, whatever
   * profile they were for, kept current as this round sends.
   */
  sent: Map<string, number[]>;
  /** Per channel and address, the round's last capped send: the next one waits to see whether it happened. */
  capTurns: Map<string, Promise<void>>;
  /** The round's claimant: it names the round among those under way. */
  round: string;
  /** Workspaces whose facts could not be read, with the error: their messages fail this attempt. */
  unreadable: Map<string, unknown>;
}

/** A round begun: how many messages it claimed, once it has begun them all, and once it is over. */
interface Round {
  claimed: number;
  /** The time it claimed what was due by. */
  claimedAt: number;
  allBegun: Promise<void>;
  finished: Promise<void>;
}

/**
 * Sends what journeys queued: claims due messages from the message log (which is the outbox), checks
 * suppression, consent, quiet hours and frequency caps just before sending, sends, and records the
 * outcome. A message is claimed by one process at a time (a lease; `SKIP LOCKED` on PostgreSQL) and
 * its idempotency key was fixed when the journey step queued it, so a step sends at most one message;
 * only a crash between the provider's acceptance and the record of it can send one twice.
 * Claimed messages are checked together (one query per kind of fact, not per message), and outcomes
 * that arrive together are written in one transaction.
 */
export class MessageDispatcher {
  readonly #options: Required<DispatcherOptions>;
  /** Who claims: host and process, so that the message log shows which worker sent what. */
  readonly #worker = `${hostname()}:${process.pid}`;
  /** Settings as last read, by workspace, with when they had been saved: read again once saved since. */
  readonly #settings = new Map<string, { settings: WorkspaceSettings; savedAt: number | null }>();
  #running: Promise<void> | undefined;
  #pending = false;
  #stopped = true;
  /** Set by `stop()`: a round in progress finishes what it began and gives back the rest. */
  #isStopping = false;
  #timer: NodeJS.Timeout | undefined;
  #sent = 0;
  readonly #slots: SendSlots;
  readonly #cappedSends = new CappedSends();
  readonly #texts = new TextTurns();
  /** Rounds still sending after the next began: a hanging receiver holds up only its own round. */
  readonly #rounds = new Set<Promise<void>>();

  constructor(options: DispatcherOptions) {
    this.#options = { batchSize: 2000, concurrency: 64, pollIntervalMs: 1000, leaseMs: 60_000, ...options };
    this.#slots = new SendSlots(this.#options.concurrency);
  }

  get sentCount(): number {
    return this.#sent;
  }

  start(): void {
    this.#stopped = false;
    this.#isStopping = false;
    this.wake();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#isStopping = true;
    clearTimeout(this.#timer);
    await this.#running;
    await Promise.all(this.#rounds);
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
    const round = await this.#beginRound();
    await round.finished;
    return round.claimed;
  }

  /**
   * Claims due messages and begins sending them; the round is `finished` once each is settled. The
   * sends of every round under way share the process's slots.
   */
  async #beginRound(): Promise<Round> {
    const { storage, clock, batchSize, leaseMs } = this.#options;
    const claimant = `${this.#worker}:${newId('clm')}`;
    const claimedAt = clock.now();
    const claimed = await storage.messages.claimDue({
      now: claimedAt,
      limit: batchSize,
      leaseMs,
      claimant,
    });
    if (claimed.length === 0)
      return { claimed: 0, claimedAt, allBegun: Promise.resolve(), finished: Promise.resolve() };
    // Oldest first (ids are time-ordered), whatever order the database returned them in: when a cap lets
    // only some of a contact's messages through, it is the earliest ones.
    claimed.sort((a, b) => (a.nextAttemptAt ?? 0) - (b.nextAttemptAt ?? 0) || (a.id < b.id ? -1 : 1));
    this.#cappedSends.beginRound(claimant);
    let context: RoundContext;
    try {
      context = await this.#load(claimed, claimant);
    } catch (error) {
      this.#cappedSends.endRound(claimant);
      // Another round (or process) sends them at once, not after the lease.
      await storage.messages
        .releaseClaims({ ids: claimed.map((message) => message.id), claimant, now: clock.now() })
        .catch(() => undefined);
      throw error;
    }
    let beganAll = () => {};
    const allBegun = new Promise<void>((resolve) => {
      beganAll = resolve;
    });
    const finished = this.#send(claimed, context, beganAll).finally(() => {
      this.#cappedSends.endRound(claimant);
      this.#texts.endRound(claimant);
      beganAll();
    });
    return { claimed: claimed.length, claimedAt, allBegun, finished };
  }

  async #send(claimed: Message[], context: RoundContext, beganAll: () => void): Promise<void> {
    const { storage, clock, concurrency, leaseMs, logger } = this.#options;
    const claimant = context.round;
    // The claim is renewed while the round lasts, so a slow SMTP server never lets another worker
    // take a message this one is still sending; a message whose claim was lost is left to its new holder.
    const unsettled = new Set(claimed.map((message) => message.id));
    const lost = new Set<string>();
    const heartbeat = setInterval(() => {
      const ids = [...unsettled];
      storage.messages
        .renewClaims({ ids, claimant, until: clock.now() + leaseMs })
        .then((held) => {
          for (const id of ids) if (!held.has(id) && unsettled.has(id)) lost.add(id);
        })
        .catch((error: unknown) => logger.warn({ err: error }, 'renewing message claims failed'));
    }, leaseMs / 3);
    heartbeat.unref();
    // Outcomes are recorded as soon as they are known; those that arrive while a write is under way
    // go together in the next one (one transaction), so recording keeps up without lagging. A write
    // that fails (the database away a moment) leaves its outcomes to the next: a message sent is
    // never sent again for want of its outcome, and its claim is renewed until it is recorded.
    const outcomes: Array<[Message, Outcome]> = [];
    let writing: Promise<void> | undefined;
    const record = (): Promise<void> => {
      writing ??= (async () => {
        while (outcomes.length > 0) {
          const batch = outcomes.splice(0);
          let refused: Array<[Message, Outcome]>;
          try {
            refused = await this.#record(batch, claimant);
          } catch (error) {
            outcomes.unshift(...batch);
            throw error;
          }
          for (const [message] of batch) {
            if (refused.some(([other]) => other === message)) continue;
            unsettled.delete(message.id);
            this.#cappedSends.recorded(message.id);
            this.#texts.recorded(message.id);
          }
          // Tried again, alone, until the round's claims run out; then left to them, as after a crash.
          if (refused.length > 0) {
            outcomes.unshift(...refused);
            throw new Error(`${refused.length} send outcomes could not be recorded`);
          }
        }
      })().finally(() => {
        writing = undefined;
      });
      return writing;
    };
    let next = 0;
    const worker = async () => {
      // Stopping: what was begun is finished and recorded; the rest is given back below.
      while (next < claimed.length && !this.#isStopping) {
        await this.#slots.take();
        try {
          if (next >= claimed.length || this.#isStopping) return;
          const message = claimed[next++] as Message;
          if (next === claimed.length) beganAll();
          if (lost.has(message.id)) continue;
          outcomes.push([message, await this.#outcome(message, context, claimant)]);
        } finally {
          this.#slots.give();
        }
        record().catch((error: unknown) =>
          logger.warn({ err: error }, 'recording send outcomes failed; trying again'),
        );
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(concurrency, claimed.length) }, worker));
      beganAll();
      await this.#recordPatiently(record, outcomes);
      const untried = claimed.slice(next).map((message) => message.id);
      // Another worker sends them at once, not after the lease, and they keep the attempts they had.
      if (untried.length > 0)
        await storage.messages.releaseClaims({ ids: untried, claimant, now: clock.now() });
    } finally {
      clearInterval(heartbeat);
    }
  }

  async #loop(): Promise<void> {
    let lastClaimAt = Number.NEGATIVE_INFINITY;
    for (;;) {
      clearTimeout(this.#timer);
      while (this.#pending && !this.#stopped) {
        this.#pending = false;
        try {
          // The next round is claimed once this one has begun all its sends, and a slot is free: a
          // round's last, slow sends finish beside it.
          while (!this.#stopped) {
            const round = await this.#beginRound();
            lastClaimAt = round.claimedAt;
            if (round.claimed === 0) break;
            this.#keep(round.finished);
            await round.allBegun;
            await this.#slots.whenFree();
          }
        } catch (error) {
          this.#options.logger.error({ err: error }, 'message dispatch failed; retrying');
        }
      }
      if (this.#stopped) return;
      const due = await this.#options.storage.messages.nextDue().catch(() => undefined);
      // Woken while looking for the next due message: what was queued meanwhile goes now, not at the next poll.
      if (this.#pending) continue;
      const { clock, pollIntervalMs } = this.#options;
      // Due when the last claim looked, yet not claimed: another round holds its contact (PostgreSQL
      // workers), another process's claim has it locked, or it waits behind an earlier message of its
      // sequence. Looked at again after a poll, not at once
      // and over and over; one falling due since goes at once.
      const wait =
        due === undefined || due <= lastClaimAt
          ? pollIntervalMs
          : Math.max(0, Math.min(due - clock.now(), pollIntervalMs));
      this.#timer = setTimeout(() => this.wake(), wait);
      this.#timer.unref();
      return;
    }
  }

  /** A round sending beside the loop: its failure is logged, and `stop()` waits for it. */
  #keep(finished: Promise<void>): void {
    const kept = finished
      .catch((error: unknown) => this.#options.logger.error({ err: error }, 'message dispatch failed'))
      .finally(() => {
        this.#rounds.delete(kept);
        // What it deferred or failed may be due before the loop's next look.
        if (!this.#stopped) this.wake();
      });
    this.#rounds.add(kept);
  }

  async #load(claimed: Message[], round: string): Promise<RoundContext> {
    const { clock } = this.#options;
    const now = clock.now();
    const context: RoundContext = {
      profiles: new Map(),
      journeys: new Map(),
      settings: new Map(),
      suppressions: new Map(),
      subscriptions: new Map(),
      sent: new Map(),
      capTurns: new Map(),
      round,
      unreadable: new Map(),
    };
    const byWorkspace = new Map<string, Message[]>();
    for (const message of claimed) {
      const list = byWorkspace.get(message.workspaceId);
      if (list) list.push(message);
      else byWorkspace.set(message.workspaceId, [message]);
    }
    for (const [workspaceId, messages] of byWorkspace) {
      try {
        await this.#loadWorkspace(context, workspaceId, messages, now);
      } catch (error) {
        // The database away: the round is given back whole, and claimed again once it answers.
        if (isPassingFailure(error)) throw error;
        // One workspace whose facts do not read (settings stored by hand, or under rules a newer version
        // tightened) must not hold up every workspace's messages, round after round: its own fail their
        // attempt with the error, and end among the failed ones, to be sent again once it is mended.
        context.unreadable.set(workspaceId, error);
        this.#options.logger.error(
          { err: error, workspaceId },
          "a workspace's messages could not be judged; the other workspaces' go on",
        );
      }
    }
    return context;
  }

  /** The round's facts about one workspace's messages. */
  async #loadWorkspace(
    context: RoundContext,
    workspaceId: string,
    messages: Message[],
    now: number,
  ): Promise<void> {
    const { storage } = this.#options;
    const settings = await this.#settingsOf(workspaceId);
    context.settings.set(workspaceId, settings);
    const profileIds = [...new Set(messages.map((m) => m.profileId))];
    const journeyIds = [...new Set(messages.flatMap((m) => (m.journeyId === null ? [] : [m.journeyId])))];
    const [profiles, journeys] = await Promise.all([
      storage.profiles.findProfilesByIds(profileIds),
      Promise.all(journeyIds.map((id) => storage.journeys.find(workspaceId, id))),
    ]);
    for (const [i, id] of journeyIds.entries()) context.journeys.set(id, journeys[i]);
    for (const profile of profiles) {
      // A profile merged away since its message was queued: send to the one it became.
      const live =
        profile.mergedInto === null ? profile : await storage.profiles.find(workspaceId, profile.id);
      if (live) context.profiles.set(profile.id, live);
    }
    const liveIds = [...new Set([...context.profiles.values()].map((p) => p.id))];
    const channels = CONSENT_CHANNELS.filter((channel) => messages.some((m) => m.channel === channel));
    // Independent reads: on PostgreSQL they go out together instead of one round trip after another.
    const [subscriptions, ...perChannel] = await Promise.all([
      storage.consent.listSubscriptions(workspaceId, liveIds),
      ...channels.map(async (channel) => {
        const addresses = [...context.profiles.values()]
          .map((profile) => channelAddressOf(channel, profile))
          .filter((a): a is string => a !== undefined);
        const longestCapMs = Math.max(
          0,
          ...settings.frequencyCaps[channel].map((cap) => durationMs(cap.period)),
        );
        const [suppressions, sentTimes] = await Promise.all([
          // A text's number is looked up as the text goes (see `refreshSuppression`), not with the round's.
          channel === 'sms'
            ? new Map<string, SuppressionReason>()
            : storage.consent.findSuppressions(workspaceId, channel, addresses),
          longestCapMs > 0
            ? storage.messages.sentTimes({
                workspaceId,
                addresses,
                channel,
                since: now - longestCapMs,
                exceptTopics: UNCAPPED_TOPICS,
              })
            : new Map<string, number[]>(),
        ]);
        return { channel, suppressions, sentTimes };
      }),
    ]);
    context.subscriptions.set(workspaceId, subscriptions);
    for (const { channel, suppressions, sentTimes } of perChannel) {
      context.suppressions.set(`${workspaceId}:${channel}`, suppressions);
      // Addresses recorded in other cases (e-mail) count together.
      for (const [address, list] of sentTimes) {
        const key = capKey(channel, address);
        const merged = [...(context.sent.get(key) ?? []), ...list].sort((a, b) => a - b);
        context.sent.set(key, merged);
      }
    }
  }

  async #outcome(message: Message, context: RoundContext, claimant: string): Promise<Outcome> {
    try {
      return await this.#attempt(message, context, claimant);
    } catch (error) {
      // errorMessage, not .message: a connection refused at each of a name's addresses has an empty one.
      const reason = errorMessage(error);
      // A webhook receiver's host and answer may hold its token: kept on the message for admins, and
      // logged (logs are read more widely) as members read them.
      const logged = message.channel === 'webhook' ? reasonShownToMembers(reason) : reason;
      this.#options.logger.warn({ messageId: message.id, reason: logged }, 'message attempt failed');
      const settings = context.settings.get(message.workspaceId);
      const maxAttempts =
        message.channel === 'webhook' && settings ? settings.webhooks.maxAttempts : MAX_ATTEMPTS;
      const retryAfter = error instanceof RetryableError ? (error.retryAfterMs ?? 0) : 0;
      // The database let the attempt down, not the message nor its receiver: it is tried again, and
      // keeps its attempts, however long the database takes to come back.
      if (!(error instanceof RetryableError) && isPassingFailure(error))
        return {
          status: 'deferred',
          until: this.#options.clock.now() + backoffMs(message.attempts),
          reason: `${RETRYING_PREFIX}${reason}`,
          heldBack: true,
        };
      return message.attempts < maxAttempts
        ? {
            status: 'deferred',
            // From when this attempt failed: a round's calls may take minutes while a receiver is down.
            until: this.#options.clock.now() + Math.max(backoffMs(message.attempts), retryAfter),
            reason: `${RETRYING_PREFIX}${reason}`,
          }
        : {
            status: 'failed',
            reason,
            ...(error instanceof RetryableError && error.toAddress ? { toAddress: error.toAddress } : {}),
          };
    }
  }

  async #attempt(message: Message, context: RoundContext, claimant: string): Promise<Outcome> {
    const { storage, clock } = this.#options;
    // This attempt's own time (not the round's): it signs webhooks, and quiet hours and caps judge by it.
    const now = clock.now();
    const unreadable = context.unreadable.get(message.workspaceId);
    if (unreadable !== undefined) throw unreadable;
    const profile = context.profiles.get(message.profileId);
    if (!profile) return { status: 'skipped', reason: 'the profile no longer exists' };
    // A test send went to a tester's address once, by hand: sent from here, it would reach the contact
    // it was personalised for. Nothing queues one (re-drives pass over them); this holds all the same.
    if (message.topic === TEST_TOPIC) return { status: 'failed', reason: 'a test send is never sent again' };
    const journey = message.journeyId ? context.journeys.get(message.journeyId) : undefined;
    if (journey?.status === 'paused')
      return {
        status: 'deferred',
        until: now + PAUSED_RETRY_MS,
        reason: JOURNEY_PAUSED_REASON,
        heldBack: true,
      };
    if (journey?.status === 'archived') return { status: 'skipped', reason: 'journey archived' };
    const settings = context.settings.get(message.workspaceId) as WorkspaceSettings;
    if (message.channel === 'webhook')
      return sendWebhook({
        message,
        profile,
        settings: settings.webhooks,
        secrets: this.#options.email.secrets,
        storage,
        claimant,
        now,
      });

    const channel = message.channel;
    const address = channelAddressOf(channel, profile);
    if (!address) return { status: 'skipped', reason: MISSING_ADDRESS[channel] };
    const isCapped =
      !UNCAPPED_TOPICS.includes(message.topic ?? 'marketing') && settings.frequencyCaps[channel].length > 0;
    const sentKey = capKey(channel, address);
    // A contact's capped sends on a channel take turns within the round: the cap judges each by what
    // the one before it did, not by a send still under way that may yet fail.
    const turn = isCapped ? takeTurn(context.capTurns, sentKey) : undefined;
    try {
      if (turn) await turn.before;
      if (isCapped) {
        // Another round's send to the contact, under way or unseen by this one, could change the verdict.
        if (this.#cappedSends.isUnsure(sentKey, context.round))
          return {
            status: 'deferred',
            until: clock.now() + CAP_RECHECK_MS,
            reason: 'waiting for another send to the contact to be recorded',
            heldBack: true,
          };
        this.#cappedSends.begin(sentKey, context.round, message.id);
      }
      return await this.#deliver(message, {
        channel,
        profile,
        address,
        settings,
        context,
        claimant,
        isCapped,
        sentKey,
      });
    } finally {
      turn?.end();
    }
  }

  async #deliver(
    message: Message,
    options: {
      channel: ConsentChannel;
      profile: Profile;
      address: string;
      settings: WorkspaceSettings;
      context: RoundContext;
      claimant: string;
      isCapped: boolean;
      sentKey: string;
    },
  ): Promise<Outcome> {
    const { channel, profile, address, settings, context, claimant, isCapped, sentKey } = options;
    const { storage, clock } = this.#options;
    // A text first waits for the texts to its number begun before it: a STOP replied to one of those
    // holds this one too. A retry also waits on the number its first attempt went to, where it looks
    // for its earlier send; both in one order, so two texts never wait on each other.
    const turnNumbers =
      channel === 'sms' ? [...new Set([message.context.sms?.to ?? address, address])].sort() : [];
    const endTextTurns: Array<() => void> = [];
    try {
      for (const number of turnNumbers) endTextTurns.push(await this.#texts.take(number));
      // After its turns: the time quiet hours and caps judge by.
      const now = clock.now();
      // A text's STOP holds from the moment it arrives (carriers' rules), not from the next round: the
      // number is looked up again as its text goes, not only with the round's addresses.
      if (channel === 'sms') await refreshSuppression(storage, context, message.workspaceId, address);
      const gate = checkConsent(message, { profile, address, sentKey }, settings, context, now);
      if (gate) return gate;
      // The send counts against the cap from now; it is given back if the send does not happen.
      if (isCapped) context.sent.set(sentKey, [...(context.sent.get(sentKey) ?? []), now]);
      let outcome: Outcome | undefined;
      try {
        outcome =
          channel === 'sms'
            ? await this.#sendText({
                message,
                profile,
                to: address,
                settings: settings.sms,
                secrets: this.#options.email.secrets,
                storage,
                claimant,
                statusUrl: smsStatusUrl(this.#options.email.publicUrl, message),
                publicUrl: this.#options.email.publicUrl,
                now,
              })
            : await sendEmail(this.#options.email, { message, profile, settings, storage, now });
        return outcome;
      } finally {
        if (isCapped && outcome?.status !== 'sent') {
          const times = context.sent.get(sentKey) ?? [];
          const reserved = times.lastIndexOf(now);
          if (reserved >= 0) times.splice(reserved, 1);
        }
      }
    } finally {
      for (const end of endTextTurns) end();
    }
  }

  /** A text, once its turn among the process's texts to the number has come (see `TextTurns`). */
  async #sendText(
    call: Omit<SmsCall, 'unrecordedIds' | 'claimant'> & { claimant: string },
  ): Promise<Outcome> {
    const outcome = await sendSms({ ...call, unrecordedIds: this.#texts.unrecordedIds() });
    if (outcome.status === 'sent' && outcome.providerMessageId !== null)
      this.#texts.taken(call.message.id, call.claimant, outcome.providerMessageId);
    return outcome;
  }

  /**
   * Records what is left of a round's outcomes, trying again for as long as a claim lasts: after that,
   * another worker may take the messages (the heartbeat renews their claims meanwhile).
   */
  async #recordPatiently(record: () => Promise<void>, outcomes: ReadonlyArray<unknown>): Promise<void> {
    const { leaseMs, logger } = this.#options;
    const giveUpAt = performance.now() + leaseMs;
    for (let delayMs = RECORD_RETRY_MS; ; delayMs = Math.min(delayMs * 2, RECORD_RETRY_MAX_MS)) {
      try {
        // One write may still be under way, with outcomes after it.
        do await record();
        while (outcomes.length > 0);
        return;
      } catch (error) {
        if (performance.now() + delayMs > giveUpAt) throw error;
        logger.warn({ err: error, retryInMs: delayMs }, 'recording send outcomes failed; trying again');
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
    }
  }

  /**
   * Records outcomes together; returns those refused even alone. One outcome the database refuses
   * every time must not keep the others of the round unrecorded, to be sent again once their claims
   * run out: when a write of several fails (not the database itself), each is written alone.
   */
  async #record(outcomes: Array<[Message, Outcome]>, claimant: string): Promise<Array<[Message, Outcome]>> {
    try {
      await this.#settle(outcomes, claimant);
      return [];
    } catch (error) {
      if (outcomes.length === 1 || isPassingFailure(error)) throw error;
      const refused: Array<[Message, Outcome]> = [];
      for (const outcome of outcomes)
        await this.#settle([outcome], claimant).catch((alone: unknown) => {
          if (isPassingFailure(alone)) throw alone;
          this.#options.logger.warn(
            { err: alone, messageId: outcome[0].id },
            'recording a send outcome failed',
          );
          refused.push(outcome);
        });
      return refused;
    }
  }

  async #settle(outcomes: Array<[Message, Outcome]>, claimant: string): Promise<void> {
    if (outcomes.length === 0) return;
    const now = this.#options.clock.now();
    const updated = outcomes.map(([message, outcome]) => settled(message, outcome, now));
    const written = await this.#options.storage.messages.settleAll(updated, claimant);
    for (const message of updated) {
      if (!written.has(message.id))
        this.#options.logger.warn(
          { messageId: message.id, status: message.status },
          'a message this process was sending had been claimed by another; its outcome was not recorded',
        );
      else if (message.status === 'sent') this.#sent++;
    }
  }

  /**
   * The workspace's settings as they stand: a re-drive or a quiet-hours change right after a save must
   * be judged by what was saved. Reading when they were saved is one look-up; parsing them is not.
   */
  async #settingsOf(workspaceId: string): Promise<WorkspaceSettings> {
    const { storage } = this.#options;
    const savedAt = await storage.settings.savedAt(workspaceId);
    const cached = this.#settings.get(workspaceId);
    if (cached && cached.savedAt === savedAt) return cached.settings;
    // Saved again between these two reads: kept under the older time, so the next round reads again.
    const settings = withinServerLimits(await storage.settings.get(workspaceId), this.#options);
    this.#settings.set(workspaceId, { settings, savedAt });
    return settings;
  }
}

const QUIET_HOURS_REASON = 'quiet hours ';
const FREQUENCY_CAP_REASON = 'frequency cap: ';
/** How the reasons of messages held back by quiet hours or caps begin (saving new ones re-judges them). */
export const HELD_BACK_REASON_PREFIXES = [QUIET_HOURS_REASON, FREQUENCY_CAP_REASON];

/** The round's view of one number's suppression, as it stands now. */
async function refreshSuppression(
  storage: Storage,
  context: RoundContext,
  workspaceId: string,
  address: string,
): Promise<void> {
  const key = `${workspaceId}:sms`;
  const reason = await storage.consent.findSuppression(workspaceId, 'sms', address);
  const known = context.suppressions.get(key) ?? new Map<string, SuppressionReason>();
  if (reason === undefined) known.delete(address.toLowerCase());
  else known.set(address.toLowerCase(), reason);
  context.suppressions.set(key, known);
}

/** Suppression, topic subscription, quiet hours and frequency caps, in that order. */
function checkConsent(
  message: Message,
  recipient: { profile: Profile; address: string; sentKey: string },
  settings: WorkspaceSettings,
  context: RoundContext,
  now: number,
): Outcome | undefined {
  const { profile, address, sentKey } = recipient;
  const channel = message.channel as ConsentChannel;
  const topic = message.topic ?? 'marketing';
  const suppressed = context.suppressions
    .get(`${message.workspaceId}:${channel}`)
    ?.get(address.toLowerCase());
  if (suppressed && isHeldBySuppression({ channel, reason: suppressed, topic }))
    return { status: 'suppressed', reason: `address suppressed: ${suppressed}`, toAddress: address };
  const chosen = context.subscriptions.get(message.workspaceId)?.get(profile.id) ?? {};
  // Test sends go to whoever asked for them. A topic no longer in the settings has no default, nor a
  // way to opt out of it: nobody is taken to be subscribed to it.
  const defaultSubscribed =
    topic === TEST_TOPIC || settings.topics.find((t) => t.id === topic)?.defaultSubscribed === true;
  if (!isSubscribedOn(chosen, topic, channel, defaultSubscribed))
    return { status: 'suppressed', reason: `unsubscribed from ${topic}`, toAddress: address };
  if (topic === TRANSACTIONAL_TOPIC) return undefined;

  const timeZone = profileTimeZone(profile.traits, settings.timezone);
  let allowedAt: number | undefined;
  let reason = '';
  const quiet = settings.quietHours;
  if (quiet && isWithinWindow(now, timeZone, quiet.start, quiet.end)) {
    allowedAt = nextLocalTime(now, timeZone, quiet.end);
    reason = `${QUIET_HOURS_REASON}${quiet.start}–${quiet.end} (${timeZone})`;
  }
  for (const cap of settings.frequencyCaps[channel]) {
    const periodMs = durationMs(cap.period);
    const sent = (context.sent.get(sentKey) ?? []).filter((at) => at > now - periodMs);
    if (sent.length >= cap.max) {
      const freeAt = (sent[sent.length - cap.max] as number) + periodMs;
      if (allowedAt === undefined || freeAt > allowedAt) {
        allowedAt = freeAt;
        reason = `${FREQUENCY_CAP_REASON}${cap.max} per ${cap.period}`;
      }
    }
  }
  if (allowedAt === undefined) return undefined;
  return message.whenNotAllowed === 'skip'
    ? { status: 'skipped', reason, toAddress: address }
    : { status: 'deferred', until: allowedAt, reason, heldBack: true };
}

/** The workspace's settings with what the server's operator does not allow taken out. */
export function withinServerLimits(
  settings: WorkspaceSettings,
  server: { allowPrivateNetworks: boolean },
): WorkspaceSettings {
  if (server.allowPrivateNetworks) return settings;
  return {
    ...settings,
    webhooks: { ...settings.webhooks, allowPrivateNetworks: false },
    ...(settings.sms ? { sms: { ...settings.sms, allowPrivateNetworks: false } } : {}),
  };
}

/**
 * Queues behind the last holder of `key`: `before` resolves when it is done, and `end` lets the next go.
 */
function takeTurn(
  turns: Map<string, Promise<void>>,
  key: string,
): { before: Promise<void>; end: () => void } {
  const before = turns.get(key) ?? Promise.resolve();
  let end = () => {};
  const done = new Promise<void>((resolve) => {
    end = resolve;
  });
  const last = before.then(() => done);
  turns.set(key, last);
  return {
    before,
    end() {
      end();
      if (turns.get(key) === last) turns.delete(key);
    },
  };
}

function settled(message: Message, outcome: Outcome, now: number): Message {
  const updated: Message = { ...message, updatedAt: now };
  switch (outcome.status) {
    case 'sent':
      return {
        ...updated,
        status: 'sent',
        reason: null,
        sentAt: now,
        nextAttemptAt: null,
        providerMessageId: outcome.providerMessageId,
        toAddress: outcome.toAddress,
        subject: outcome.subject,
      };
    case 'deferred':
      return {
        ...updated,
        status: 'deferred',
        reason: outcome.reason,
        nextAttemptAt: outcome.until,
        // Claiming counted an attempt; one held back gives it back, so waiting never uses up retries.
        attempts: outcome.heldBack ? Math.max(0, message.attempts - 1) : message.attempts,
      };
    default:
      return {
        ...updated,
        status: outcome.status,
        reason: outcome.reason,
        nextAttemptAt: null,
        toAddress: outcome.toAddress ?? message.toAddress,
      };
  }
}

/**
 * What a channel's frequency caps count sends by: the address, not the profile, as caps protect the
 * person holding the phone or the mailbox, whatever profiles carry it (`sms:+393471234567`; e-mail
 * whatever its case).
 */
function capKey(channel: ConsentChannel, address: string): string {
  return `${channel}:${channel === 'email' ? address.toLowerCase() : address}`;
}

function backoffMs(attempts: number): number {
  return Math.min(3_600_000, 30_000 * 2 ** Math.max(0, attempts - 1));
}
