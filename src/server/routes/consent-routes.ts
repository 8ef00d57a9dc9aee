import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { EmailSender } from '../../channels/email/email-channel.js';
import { type Append, appendProfileEvent, recordBounce } from '../../channels/email/engagement.js';
import { channelAddressOf } from '../../core/channel-address.js';
import type { Clock } from '../../core/clock.js';
import { isBareEmailAddress } from '../../core/email-address.js';
import { AppError } from '../../core/errors.js';
import { normalisePhoneNumber } from '../../core/phone-number.js';
import {
  CONSENT_CHANNELS,
  type ConsentChannel,
  channelChoiceKey,
  isSubscribedEverywhere,
  isSubscribedOn,
  SUPPRESSION_REASONS,
} from '../../core/topic-consent.js';
import type { Storage } from '../../storage/storage.js';
import type { Authenticator } from '../auth.js';
import { ErrorResponse, PageQuery, pageOf, WorkspaceParams } from '../schemas.js';

/** What an admin's change of a profile's subscriptions is recorded as, on the profile. */
export const SUBSCRIPTIONS_CHANGED = 'Subscriptions Changed';

const errors = {
  400: ErrorResponse,
  401: ErrorResponse,
  403: ErrorResponse,
  404: ErrorResponse,
  409: ErrorResponse,
};
const iso = (ms: number) => new Date(ms).toISOString();

/** Consent: the suppression list, bounces and complaints reported, and each profile's subscriptions. */
export async function consentRoutes(
  app: FastifyInstance,
  deps: { storage: Storage; clock: Clock; auth: Authenticator; email: EmailSender; append: Append },
): Promise<void> {
  const { storage, clock, auth, email } = deps;
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.get(
    '/api/workspaces/:workspaceId/suppressions',
    {
      schema: {
        tags: ['consent'],
        summary: 'Addresses never sent to again: unsubscribed, hard-bounced, complained, added by hand',
        params: WorkspaceParams,
        querystring: PageQuery.extend({
          channel: z.enum(['email', 'sms']).optional(),
          address: z
            .string()
            .trim()
            .min(1)
            .max(320)
            .optional()
            .describe('one address: an e-mail (any case) or a phone number (spaces and dashes allowed)'),
        }),
        response: {
          200: pageOf(
            z.object({ channel: z.string(), address: z.string(), reason: z.string(), createdAt: z.string() }),
          ),
          ...errors,
        },
      },
    },
    async (request) => {
      await auth.requireWorkspace(request, request.params.workspaceId);
      const { address, ...query } = request.query;
      const page = await storage.consent.listSuppressions(request.params.workspaceId, {
        ...query,
        ...(address !== undefined ? { address: suppressedForm(address) } : {}),
      });
      return {
        items: page.items.map((item) => ({ ...item, createdAt: iso(item.createdAt) })),
        nextCursor: page.nextCursor,
      };
    },
  );

  api.post(
    '/api/workspaces/:workspaceId/suppressions',
    {
      schema: {
        tags: ['consent'],
        summary:
          'Put an address on the suppression list by hand (a contact who asked by phone, a list brought from a former provider)',
        description:
          'Nothing goes to it on the channel from then on, receipts included, until an admin takes it off. An address already on the list keeps its reason, except an unsubscribe, which this replaces (an unsubscribe lets receipts through). Answers the entry as the list keeps it.',
        params: WorkspaceParams,
        body: z.strictObject({
          channel: z.enum(['email', 'sms']),
          address: z
            .string()
            .trim()
            .min(1)
            .max(320)
            .describe('an e-mail address (any case) or a phone number in international form (`+39 347 …`)'),
        }),
        response: {
          200: z.object({
            channel: z.string(),
            address: z.string(),
            reason: z.string(),
            createdAt: z.string(),
          }),
          ...errors,
        },
      },
    },
    async (request) => {
      const { workspaceId } = request.params;
      await auth.requireWorkspace(request, workspaceId, 'admin');
      const { channel } = request.body;
      const address = listedAddress(channel, request.body.address);
      await storage.consent.suppress({
        workspaceId,
        channel,
        address,
        reason: 'added_by_hand',
        at: clock.now(),
      });
      const { items } = await storage.consent.listSuppressions(workspaceId, { channel, address, limit: 1 });
      const entry = items[0];
      if (entry === undefined) throw new Error(`the suppression of ${channel} address was not kept`);
      request.log.info({ workspaceId, channel, reason: entry.reason }, 'address suppressed by hand');
      return { ...entry, createdAt: iso(entry.createdAt) };
    },
  );

  api.delete(
    '/api/workspaces/:workspaceId/suppressions/:channel/:address',
    {
      schema: {
        tags: ['consent'],
        summary: 'Take an address off the suppression list (a bounce reported in error, a contact who asked)',
        description:
          'An SMS opt-out (`unsubscribed` on `sms`) is lifted only by the contact texting START, as carriers require: refused with 409. 404 when the address is not suppressed on the channel.',
        params: WorkspaceParams.extend({
          channel: z.enum(['email', 'sms']),
          address: z.string().trim().min(1).max(320),
        }),
        response: { 204: z.null(), ...errors },
      },
    },
    async (request, reply) => {
      const { workspaceId, channel } = request.params;
      await auth.requireWorkspace(request, workspaceId, 'admin');
      const address = suppressedForm(request.params.address);
      const reason = await storage.consent.findSuppression(workspaceId, channel, address);
      if (reason === undefined)
        throw new AppError(
          'not_found',
          `address: ${request.params.address} is not suppressed on ${channel}`,
          {
            field: 'address',
          },
        );
      if (channel === 'sms' && reason === 'unsubscribed')
        throw new AppError(
          'conflict',
          `address: ${request.params.address} texted STOP; only the contact texting START lifts that`,
          { field: 'address' },
        );
      await storage.consent.unsuppress({ workspaceId, channel, address, reason });
      request.log.info({ workspaceId, channel, reason }, 'suppression lifted');
      return reply.status(204).send(null);
    },
  );

  api.post(
    '/api/workspaces/:workspaceId/bounces',
    {
      schema: {
        tags: ['consent'],
        summary:
          'Report a bounce or complaint (from your mail provider): hard bounces and complaints suppress the address',
        params: WorkspaceParams,
        body: z.strictObject({
          address: z.email(),
          type: z.enum(['hard', 'soft', 'complaint']),
          messageId: z.string().max(100).optional(),
        }),
        response: { 204: z.null(), ...errors },
      },
    },
    async (request, reply) => {
      await auth.requireWorkspace(request, request.params.workspaceId, 'admin');
      await recordBounce(
        { storage, clock, signer: email.signer, append: deps.append },
        { workspaceId: request.params.workspaceId, ...request.body },
      );
      return reply.status(204).send(null);
    },
  );

  const ProfileParams = WorkspaceParams.extend({ profileId: z.string().min(1).max(100) });
  const TopicChoices = z.record(z.string(), z.boolean());
  const Suppression = z.enum(SUPPRESSION_REASONS).nullable();

  api.get(
    '/api/workspaces/:workspaceId/profiles/:profileId/subscriptions',
    {
      schema: {
        tags: ['consent'],
        summary:
          "The profile's subscription to each topic: on every channel (`topics`), and on each (`channels`); topics it never changed follow their default",
        description:
          "`suppressed.email` is why the profile's e-mail address is on the suppression list (`unsubscribed` from every e-mail, `hard_bounce`, `complaint`, `added_by_hand` by an admin), or null: while it is, no e-mail goes to it whatever `channels.email` says, except receipts (the `transactional` topic) after an unsubscribe. `suppressed.sms` is the same for its phone number (`unsubscribed` after a STOP, `hard_bounce` for a number that takes no texts, `complaint`): no text goes to it, receipts included. `addresses` are the e-mail address and number the list knows it by, to take one off it (`DELETE …/suppressions/:channel/:address`).",
        params: ProfileParams,
        response: {
          200: z.object({
            topics: z.record(z.string(), z.boolean()),
            channels: z.object({ email: TopicChoices, sms: TopicChoices }),
            suppressed: z.object({ email: Suppression, sms: Suppression }),
            /** The address the suppression list knows the profile by on each channel (null: it has none). */
            addresses: z.object({ email: z.string().nullable(), sms: z.string().nullable() }),
          }),
          ...errors,
        },
      },
    },
    async (request) => {
      const { workspaceId, profileId } = request.params;
      await auth.requireWorkspace(request, workspaceId);
      const profile = await storage.profiles.find(workspaceId, profileId);
      if (!profile) throw new AppError('not_found', `profile ${profileId} does not exist`);
      const settings = await storage.settings.get(workspaceId);
      const chosen = await storage.consent.findSubscriptions(workspaceId, profile.id);
      // Suppression outranks any topic: the console shows the address's messages as suppressed, not on.
      const addresses = {
        email: channelAddressOf('email', profile)?.toLowerCase() ?? null,
        sms: channelAddressOf('sms', profile) ?? null,
      };
      const suppressionOn = async (channel: ConsentChannel) => {
        const address = addresses[channel];
        return address
          ? ((await storage.consent.findSuppression(workspaceId, channel, address)) ?? null)
          : null;
      };
      const [emailSuppression, smsSuppression] = await Promise.all([
        suppressionOn('email'),
        suppressionOn('sms'),
      ]);
      const onChannel = (channel: ConsentChannel) =>
        Object.fromEntries(
          settings.topics.map((topic) => [
            topic.id,
            isSubscribedOn(chosen, topic.id, channel, topic.defaultSubscribed),
          ]),
        );
      return {
        topics: Object.fromEntries(
          settings.topics.map((topic) => [
            topic.id,
            isSubscribedEverywhere(chosen, topic.id, topic.defaultSubscribed),
          ]),
        ),
        channels: { email: onChannel('email'), sms: onChannel('sms') },
        suppressed: { email: emailSuppression, sms: smsSuppression },
        addresses,
      };
    },
  );

  api.put(
    '/api/workspaces/:workspaceId/profiles/:profileId/subscriptions',
    {
      schema: {
        tags: ['consent'],
        summary:
          'Subscribe or unsubscribe the profile to topics: on every channel (`topics`), or on one (`channels.email`, `channels.sms`)',
        params: ProfileParams,
        body: z
          .strictObject({
            topics: TopicChoices.optional(),
            channels: z
              .strictObject({ email: TopicChoices.optional(), sms: TopicChoices.optional() })
              .optional(),
          })
          .refine((body) => body.topics !== undefined || body.channels !== undefined, {
            message: 'name topics, or channels, to choose',
            path: ['topics'],
          }),
        response: { 204: z.null(), ...errors },
      },
    },
    async (request, reply) => {
      const { workspaceId, profileId } = request.params;
      await auth.requireWorkspace(request, workspaceId, 'admin');
      const profile = await storage.profiles.find(workspaceId, profileId);
      if (!profile) throw new AppError('not_found', `profile ${profileId} does not exist`);
      const topics = new Set((await storage.settings.get(workspaceId)).topics.map((topic) => topic.id));
      const { topics: everywhere = {}, channels = {} } = request.body;
      // A choice for every channel stands for each channel too: it overrides what one of them chose.
      const writes = new Map<string, boolean>();
      const choose = (field: string, choices: Record<string, boolean>, channel?: ConsentChannel) => {
        for (const [topic, isSubscribed] of Object.entries(choices)) {
          // Every topic checked before any is written: a refusal changes nothing.
          if (!topics.has(topic))
            throw new AppError('invalid_input', `topic ${topic} is not one of this workspace's topics`, {
              field: `${field}.${topic}`,
            });
          if (channel) writes.set(channelChoiceKey(topic, channel), isSubscribed);
          else {
            writes.set(topic, isSubscribed);
            for (const each of CONSENT_CHANNELS) writes.set(channelChoiceKey(topic, each), isSubscribed);
          }
        }
      };
      choose('topics', everywhere);
      for (const channel of CONSENT_CHANNELS) choose(`channels.${channel}`, channels[channel] ?? {}, channel);
      const at = clock.now();
      const survivorId = await storage.transaction(async (tx) => {
        // A merge since the profile was read moved its choices: these go to the survivor too.
        await tx.profiles.holdOffMerges();
        const survivor = (await tx.profiles.find(workspaceId, profile.id)) ?? profile;
        for (const [topic, isSubscribed] of [...writes].sort(([a], [b]) => a.localeCompare(b)))
          await tx.consent.setSubscription({ workspaceId, profileId: survivor.id, topic, isSubscribed, at });
        return survivor.id;
      });
      // As an event on the profile: segments on subscriptions decide it again, journeys may follow it.
      await appendProfileEvent(deps, {
        workspaceId,
        profileId: survivorId,
        name: SUBSCRIPTIONS_CHANGED,
        messageId: `subscriptions:${survivorId}:${at}`,
        properties: {
          topics: everywhere,
          ...(request.body.channels ? { channels: request.body.channels } : {}),
        },
      });
      return reply.status(204).send(null);
    },
  );
}

/**
 * An address put on the list by hand, in the form the list keeps: a valid e-mail address, or a valid
 * number in international form; anything else is refused naming `address`, as it would never match.
 */
function listedAddress(channel: ConsentChannel, written: string): string {
  if (channel === 'sms') {
    const number = normalisePhoneNumber(written);
    if (number === undefined)
      throw new AppError(
        'invalid_input',
        `address: ${written} is not a phone number in international form (+ and country code)`,
        { field: 'address' },
      );
    return number;
  }
  // Any address a profile's e-mails may go to (see `emailAddressOf`): international ones too.
  if (!isBareEmailAddress(written))
    throw new AppError('invalid_input', `address: ${written} is not an e-mail address`, { field: 'address' });
  return written.toLowerCase();
}

/**
 * An address as suppressions keep it: e-mail in lower case, a phone number in E.164 (`+39 347 …` →
 * `+39347…`). A `+` left unescaped in a query string arrives as a space, trimmed away: a number
 * without it is taken as international all the same.
 */
function suppressedForm(address: string): string {
  if (!/^\+?[\d\s().-]+$/.test(address)) return address.toLowerCase();
  return `+${address.replace(/[+\s().-]/g, '')}`;
}
