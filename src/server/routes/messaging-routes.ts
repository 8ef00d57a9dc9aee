import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { EmailSender } from '../../channels/email/email-channel.js';
import { type Append, appendProfileEvent, recordBounce } from '../../channels/email/engagement.js';
import { previewTemplate, testSend } from '../../channels/email/test-send.js';
import { SettingsView, saveSettings, settingsView } from '../../channels/settings.js';
import { reasonShownToMembers } from '../../channels/webhook/failure-reasons.js';
import { addressShownToMembers } from '../../channels/webhook/webhook-channel.js';
import type { Role } from '../../core/access.js';
import { channelAddressOf } from '../../core/channel-address.js';
import type { Clock } from '../../core/clock.js';
import { AppError } from '../../core/errors.js';
import type { EmailTemplate, Message } from '../../core/journey.js';
import { MESSAGE_STATUSES } from '../../core/journey.js';
import { normalisePhoneNumber } from '../../core/phone-number.js';
import { standInProfile } from '../../core/profile.js';
import {
  CONSENT_CHANNELS,
  type ConsentChannel,
  channelChoiceKey,
  isSubscribedEverywhere,
  isSubscribedOn,
  SUPPRESSION_REASONS,
} from '../../core/topic-consent.js';
import { WorkspaceSettings } from '../../core/workspace-settings.js';
import type { Storage } from '../../storage/storage.js';
import { draftTemplate, getTemplate, saveTemplate } from '../../templates/templates.js';
import type { RouteDocumentation } from '../app.js';
import { type Authenticator, hasRole } from '../auth.js';
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
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

const TemplateBody = z.strictObject({
  name: z.string().trim().min(1).max(200),
  subject: z.string().min(1).max(998),
  preheader: z.string().max(500).nullish(),
  mjml: z
    .string()
    .min(1)
    .max(500_000)
    .describe(
      'MJML (or plain HTML) with Liquid: {{ profile.traits.first_name }}, {{ event.properties.cart_id }}',
    ),
  text: z
    .string()
    .max(200_000)
    .nullish()
    .describe('the plain-text part; generated from the HTML when left out'),
});
const TemplateJson = TemplateBody.extend({
  id: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
}).meta({ id: 'EmailTemplate' });
const templateJson = (t: EmailTemplate) => ({
  id: t.id,
  name: t.name,
  subject: t.subject,
  preheader: t.preheader,
  mjml: t.mjml,
  text: t.text,
  createdAt: iso(t.createdAt) as string,
  updatedAt: iso(t.updatedAt) as string,
});

export const MessageJson = z
  .object({
    id: z.string(),
    profileId: z.string(),
    journeyId: z.string().nullable(),
    stepId: z.string().nullable(),
    channel: z.string(),
    templateId: z.string().nullable(),
    topic: z.string().nullable(),
    toAddress: z
      .string()
      .nullable()
      .describe(
        "Where it went: the e-mail address, the phone number, or the webhook's URL without its query. Members (not admins) see only a webhook's scheme (`https://…`), as a receiver's host or path may hold its token",
      ),
    subject: z.string().nullable(),
    webhookDestination: z
      .string()
      .nullable()
      .describe("A webhook call's destination: its id in the settings (null for other channels)"),
    status: z.enum(MESSAGE_STATUSES),
    reason: z
      .string()
      .nullable()
      .describe(
        "Why it has its status, e.g. the last attempt's error. Members (not admins) read a webhook call's failure without the receiver's host or the text it answered: its status code (`HTTP 422 from the receiver`) or what kept it from answering (refused, timed out)",
      ),
    attempts: z.number(),
    nextAttemptAt: z.string().nullable(),
    createdAt: z.string(),
    sentAt: z.string().nullable(),
    openedAt: z.string().nullable(),
    clickedAt: z.string().nullable(),
    unsubscribedAt: z.string().nullable(),
    bouncedAt: z
      .string()
      .nullable()
      .describe('when the mail provider reported a bounce, or the SMS provider a text undelivered'),
    deliveredAt: z
      .string()
      .nullable()
      .describe('when the SMS provider reported the text delivered to the handset (its delivery receipt)'),
  })
  .meta({ id: 'Message' });
/**
 * A message as `viewer` may see it: a webhook's full address, and the receiver's host and answer in
 * why it failed, are for admins, who see its destination's settings.
 */
export const messageJson = (m: Message, viewer: { role: Role }) => {
  const isMemberReadingWebhook = m.channel === 'webhook' && !hasRole(viewer.role, 'admin');
  return {
    id: m.id,
    profileId: m.profileId,
    journeyId: m.journeyId,
    stepId: m.stepId,
    channel: m.channel,
    templateId: m.templateId,
    topic: m.topic,
    toAddress: isMemberReadingWebhook ? addressShownToMembers(m.toAddress) : m.toAddress,
    subject: m.subject,
    webhookDestination: m.context.webhook?.destination ?? null,
    status: m.status,
    reason: isMemberReadingWebhook ? reasonShownToMembers(m.reason) : m.reason,
    attempts: m.attempts,
    nextAttemptAt: iso(m.nextAttemptAt),
    createdAt: iso(m.createdAt) as string,
    sentAt: iso(m.sentAt),
    openedAt: iso(m.openedAt),
    clickedAt: iso(m.clickedAt),
    unsubscribedAt: iso(m.unsubscribedAt),
    bouncedAt: iso(m.bouncedAt),
    deliveredAt: iso(m.deliveredAt),
  };
};

/** Messaging settings, e-mail templates (preview, test send), the message log, consent and bounces. */
export async function messagingRoutes(
  app: FastifyInstance,
  deps: {
    storage: Storage;
    clock: Clock;
    auth: Authenticator;
    email: EmailSender;
    append: Append;
    /** MOPS_ALLOW_PRIVATE_NETWORKS: whether a workspace may turn on calls to private networks. */
    allowPrivateNetworks: boolean;
    /** Settings were saved: the segments they moved (topic defaults, score models) start backfilling now. */
    onSettingsSaved?: () => void;
  },
): Promise<void> {
  const { storage, clock, auth, email } = deps;
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.get(
    '/api/workspaces/:workspaceId/settings',
    {
      schema: {
        tags: ['settings'],
        summary: 'Messaging settings (the SMTP password is never shown)',
        params: WorkspaceParams,
        // Not checked on the way out: settings stored before a rule tightened must still be shown.
        response: { 200: z.unknown(), ...errors },
      },
      config: { documentedResponse: SettingsView } satisfies RouteDocumentation,
    },
    async (request) => {
      await auth.requireWorkspace(request, request.params.workspaceId, 'admin');
      return viewOf(await storage.settings.get(request.params.workspaceId), request.params.workspaceId);
    },
  );

  api.put(
    '/api/workspaces/:workspaceId/settings',
    {
      schema: {
        tags: ['settings'],
        summary:
          'Replace the settings: SMTP server, time zone, caps, quiet hours, topics, scoring, lifecycle, hand-off, webhooks, SMS',
        description:
          "The whole settings: a section left out takes its default (PATCH changes some sections alone). Leave a secret out (smtp.password, sms.authToken, a webhook destination's secret or headers) to keep the stored one, while it goes to the same address; a destination's `secret: null` removes its secret (calls go unsigned), `headers: {}` its headers.",
        params: WorkspaceParams,
        // Checked by saveSettings, which keeps the stored secrets left out.
        body: z.record(z.string(), z.unknown()),
        response: { 200: z.unknown(), ...errors },
      },
      config: {
        documentedBody: WorkspaceSettings,
        documentedResponse: SettingsView,
      } satisfies RouteDocumentation,
    },
    (request) => save(request, { onlySectionsGiven: false }),
  );

  api.patch(
    '/api/workspaces/:workspaceId/settings',
    {
      schema: {
        tags: ['settings'],
        summary:
          'Change some sections of the settings: each section given replaces the stored one, the others stay',
        description:
          'Top-level sections (`scoring`, `lifecycle`, `handOff`, `webhooks`, `sms`, …) are replaced whole; secrets left out are kept as with PUT. Checked as the whole settings would be (400 naming the field), and nothing changes when refused.',
        params: WorkspaceParams,
        body: z.record(z.string(), z.unknown()),
        response: { 200: z.unknown(), ...errors },
      },
      config: {
        documentedBody: WorkspaceSettings.partial(),
        documentedResponse: SettingsView,
      } satisfies RouteDocumentation,
    },
    (request) => save(request, { onlySectionsGiven: true }),
  );

  async function save(
    request: { params: { workspaceId: string }; body: Record<string, unknown> } & FastifyRequest,
    options: { onlySectionsGiven: boolean },
  ): Promise<SettingsView> {
    await auth.requireWorkspace(request, request.params.workspaceId, 'admin');
    const settings = await saveSettings(storage, email.secrets, {
      workspaceId: request.params.workspaceId,
      settings: request.body,
      onlySectionsGiven: options.onlySectionsGiven,
      at: clock.now(),
      privateNetworksAllowed: deps.allowPrivateNetworks,
    });
    deps.onSettingsSaved?.();
    return viewOf(settings, request.params.workspaceId);
  }

  function viewOf(settings: WorkspaceSettings, workspaceId: string): SettingsView {
    return settingsView(settings, {
      privateNetworksAllowed: deps.allowPrivateNetworks,
      smsInboundUrl: `${email.publicUrl}/v1/sms/inbound/${encodeURIComponent(workspaceId)}`,
    });
  }

  api.get(
    '/api/workspaces/:workspaceId/templates',
    {
      schema: {
        tags: ['templates'],
        summary: 'E-mail templates',
        params: WorkspaceParams,
        response: { 200: z.object({ items: z.array(TemplateJson) }), ...errors },
      },
    },
    async (request) => {
      await auth.requireWorkspace(request, request.params.workspaceId);
      return { items: (await storage.templates.list(request.params.workspaceId)).map(templateJson) };
    },
  );

  api.post(
    '/api/workspaces/:workspaceId/templates',
    {
      schema: {
        tags: ['templates'],
        summary: 'Create an e-mail template (MJML and Liquid are checked)',
        params: WorkspaceParams,
        body: TemplateBody,
        response: { 201: TemplateJson, ...errors },
      },
    },
    async (request, reply) => {
      await auth.requireWorkspace(request, request.params.workspaceId, 'admin');
      const template = await saveTemplate(storage, clock, {
        workspaceId: request.params.workspaceId,
        template: request.body,
      });
      return reply.status(201).send(templateJson(template));
    },
  );

  const TemplateParams = WorkspaceParams.extend({ templateId: z.string().min(1).max(100) });

  api.get(
    '/api/workspaces/:workspaceId/templates/:templateId',
    {
      schema: {
        tags: ['templates'],
        summary: 'One template',
        params: TemplateParams,
        response: { 200: TemplateJson, ...errors },
      },
    },
    async (request) => {
      await auth.requireWorkspace(request, request.params.workspaceId);
      return templateJson(await getTemplate(storage, request.params.workspaceId, request.params.templateId));
    },
  );

  api.put(
    '/api/workspaces/:workspaceId/templates/:templateId',
    {
      schema: {
        tags: ['templates'],
        summary: 'Replace a template; published journey versions keep the copy they were published with',
        params: TemplateParams,
        body: TemplateBody,
        response: { 200: TemplateJson, ...errors },
      },
    },
    async (request) => {
      await auth.requireWorkspace(request, request.params.workspaceId, 'admin');
      return templateJson(
        await saveTemplate(storage, clock, {
          workspaceId: request.params.workspaceId,
          id: request.params.templateId,
          template: request.body,
        }),
      );
    },
  );

  const PreviewBody = z.strictObject({
    profileId: z.string().min(1).max(100).optional(),
    properties: z.record(z.string(), z.unknown()).default({}),
  });
  async function previewInputs(workspaceId: string, templateId: string, body: z.infer<typeof PreviewBody>) {
    const template = await getTemplate(storage, workspaceId, templateId);
    return { template, profile: await previewProfile(workspaceId, body) };
  }
  async function previewProfile(workspaceId: string, body: z.infer<typeof PreviewBody>) {
    const profile = body.profileId
      ? await storage.profiles.find(workspaceId, body.profileId)
      : standInProfile(workspaceId);
    if (!profile)
      throw new AppError('not_found', `profile ${body.profileId} does not exist`, { field: 'profileId' });
    return profile;
  }
  const Rendered = z.object({
    subject: z.string(),
    preheader: z.string(),
    html: z.string(),
    text: z.string(),
  });

  api.post(
    '/api/workspaces/:workspaceId/templates/preview',
    {
      schema: {
        tags: ['templates'],
        summary: 'Render a template being edited (not saved) as a chosen profile would receive it',
        params: WorkspaceParams,
        body: PreviewBody.extend({ template: TemplateBody }),
        response: { 200: Rendered, ...errors },
      },
    },
    async (request) => {
      const { workspaceId } = request.params;
      await auth.requireWorkspace(request, workspaceId);
      const now = clock.now();
      const template = await draftTemplate(workspaceId, request.body.template, now);
      const profile = await previewProfile(workspaceId, request.body);
      const rendered = await previewTemplate(email, {
        storage,
        template,
        profile,
        now,
        properties: request.body.properties,
      });
      return {
        subject: rendered.subject,
        preheader: rendered.preheader,
        html: rendered.html,
        text: rendered.text,
      };
    },
  );

  api.post(
    '/api/workspaces/:workspaceId/templates/:templateId/preview',
    {
      schema: {
        tags: ['templates'],
        summary: 'Render the template as a chosen profile would receive it',
        params: TemplateParams,
        body: PreviewBody,
        response: {
          200: Rendered,
          ...errors,
        },
      },
    },
    async (request) => {
      await auth.requireWorkspace(request, request.params.workspaceId);
      const { template, profile } = await previewInputs(
        request.params.workspaceId,
        request.params.templateId,
        request.body,
      );
      const rendered = await previewTemplate(email, {
        storage,
        template,
        profile,
        now: clock.now(),
        properties: request.body.properties,
      });
      return {
        subject: rendered.subject,
        preheader: rendered.preheader,
        html: rendered.html,
        text: rendered.text,
      };
    },
  );

  api.post(
    '/api/workspaces/:workspaceId/templates/:templateId/test-send',
    {
      schema: {
        tags: ['templates'],
        summary: 'Send the template, personalised for a chosen profile, to a test address',
        params: TemplateParams,
        body: PreviewBody.extend({ to: z.email() }),
        response: { 200: MessageJson, ...errors, 429: ErrorResponse, 503: ErrorResponse },
      },
    },
    async (request) => {
      const viewer = await auth.requireWorkspace(request, request.params.workspaceId, 'admin');
      const { template, profile } = await previewInputs(
        request.params.workspaceId,
        request.params.templateId,
        request.body,
      );
      const message = await testSend(email, {
        storage,
        clock,
        template,
        profile,
        to: request.body.to,
        properties: request.body.properties,
      });
      if (message.status !== 'sent')
        throw new AppError(
          'unavailable',
          `the test message was not sent: ${message.reason ?? message.status}`,
        );
      return messageJson(message, viewer);
    },
  );

  api.get(
    '/api/workspaces/:workspaceId/messages',
    {
      schema: {
        tags: ['messages'],
        summary: 'The message log: every message with its status and timestamps, newest first',
        params: WorkspaceParams,
        querystring: PageQuery.extend({
          profileId: z.string().max(100).optional(),
          journeyId: z.string().max(100).optional(),
          status: z.enum(MESSAGE_STATUSES).optional(),
          channel: z.enum(['email', 'sms', 'webhook']).optional(),
        }),
        response: { 200: pageOf(MessageJson), ...errors },
      },
    },
    async (request) => {
      const viewer = await auth.requireWorkspace(request, request.params.workspaceId);
      const { limit, cursor, profileId, journeyId, status, channel } = request.query;
      const page = await storage.messages.list(
        request.params.workspaceId,
        {
          ...(profileId ? { profileId } : {}),
          ...(journeyId ? { journeyId } : {}),
          ...(status ? { status } : {}),
          ...(channel ? { channel } : {}),
        },
        { limit, cursor },
      );
      return {
        items: page.items.map((message) => messageJson(message, viewer)),
        nextCursor: page.nextCursor,
      };
    },
  );

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
        items: page.items.map((item) => ({ ...item, createdAt: iso(item.createdAt) as string })),
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
      return { ...entry, createdAt: iso(entry.createdAt) as string };
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
 * An address as suppressions keep it: e-mail in lower case, a phone number in E.164 (`+39 347 …` →
 * `+39347…`). A `+` left unescaped in a query string arrives as a space, trimmed away: a number
 * without it is taken as international all the same.
 */
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
  if (!z.email().safeParse(written).success)
    throw new AppError('invalid_input', `address: ${written} is not an e-mail address`, { field: 'address' });
  return written.toLowerCase();
}

function suppressedForm(address: string): string {
  if (!/^\+?[\d\s().-]+$/.test(address)) return address.toLowerCase();
  return `+${address.replace(/[+\s().-]/g, '')}`;
}
