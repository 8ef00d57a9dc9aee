import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { EmailSender } from '../../channels/email/email-channel.js';
import type { Append } from '../../channels/email/engagement.js';
import { previewTemplate, testSend } from '../../channels/email/test-send.js';
import { SettingsView, saveSettings, settingsView } from '../../channels/settings.js';
import { reasonShownToMembers } from '../../channels/webhook/failure-reasons.js';
import { addressShownToMembers } from '../../channels/webhook/webhook-channel.js';
import type { Role } from '../../core/access.js';
import type { Clock } from '../../core/clock.js';
import { AppError } from '../../core/errors.js';
import type { EmailTemplate, Message } from '../../core/journey.js';
import { MESSAGE_STATUSES } from '../../core/journey.js';
import { standInProfile } from '../../core/profile.js';
import { WorkspaceSettings } from '../../core/workspace-settings.js';
import type { Storage } from '../../storage/storage.js';
import { draftTemplate, getTemplate, saveTemplate } from '../../templates/templates.js';
import type { RouteDocumentation } from '../app.js';
import { type Authenticator, hasRole } from '../auth.js';
import { ErrorResponse, PageQuery, pageOf, WorkspaceParams } from '../schemas.js';

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

/** Messaging settings, e-mail templates (preview, test send) and the message log. */
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
}
