import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Append } from '../../channels/email/engagement.js';
import type { SecretBox } from '../../channels/email/secret-box.js';
import { lifecycleDataFor } from '../../channels/lifecycle-data.js';
import { recordSmsStatus } from '../../channels/sms/delivery-receipts.js';
import {
  DEFAULT_HELP_TEXT,
  handleInboundSms,
  isTwilioSignatureValid,
  twiml,
} from '../../channels/sms/inbound-sms.js';
import { smsSegments } from '../../channels/sms/segments.js';
import { smsTextAsSent } from '../../channels/sms/sms-channel.js';
import { testSendSms } from '../../channels/sms/test-send.js';
import { openAuthToken } from '../../channels/sms/twilio-messages-api.js';
import type { Clock } from '../../core/clock.js';
import { AppError } from '../../core/errors.js';
import { SMS_TEMPLATE_MAX_CHARACTERS } from '../../core/journey-definition.js';
import { type Profile, standInProfile } from '../../core/profile.js';
import { storableText } from '../../core/storable-text.js';
import type { Storage } from '../../storage/storage.js';
import type { LifecycleData } from '../../templates/email-template.js';
import type { RouteDocumentation } from '../app.js';
import type { Authenticator, RouteAccess } from '../auth.js';
import { ErrorResponse, WorkspaceParams } from '../schemas.js';
import { MessageJson, messageJson } from './messaging-routes.js';

/** A Twilio message id: SM (a text) or MM (a multimedia message) and 32 hex digits. */
const TWILIO_MESSAGE_SID = /^(SM|MM)[0-9a-fA-F]{32}$/;

/** The fields of the provider's inbound and status forms Mops reads. */
const FIELDS_READ = ['MessageSid', 'SmsSid', 'From', 'Body', 'OptOutType', 'MessageStatus', 'ErrorCode'];

const errors = { 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse };

/**
 * SMS: the provider's inbound webhook (STOP, START, HELP), its delivery receipts, and a preview with
 * segment counting.
 */
export async function smsRoutes(
  app: FastifyInstance,
  deps: {
    storage: Storage;
    clock: Clock;
    auth: Authenticator;
    secrets: SecretBox;
    publicUrl: string;
    append: Append;
    /** Whether the server's operator lets workspaces reach private networks (a provider on one). */
    allowPrivateNetworks: boolean;
  },
): Promise<void> {
  const { storage, clock, auth, secrets } = deps;
  const api = app.withTypeProvider<ZodTypeProvider>();

  /**
   * A form the workspace's SMS provider posted: its signature checked with the account's auth token
   * over the public URL and the parameters, and its message id of the provider's form.
   */
  const providerForm = async (request: FastifyRequest, workspaceId: string) => {
    const sms = (await storage.workspaces.find(workspaceId))
      ? (await storage.settings.get(workspaceId)).sms
      : undefined;
    if (!sms?.authToken) throw new AppError('not_found', `SMS is not set up in workspace ${workspaceId}`);
    const params = request.body instanceof URLSearchParams ? request.body : new URLSearchParams();
    const authToken = openAuthToken(sms, secrets);
    if (!authToken.isReadable) {
      // No signature can be checked: refused for the provider to try again once the token is
      // entered again, and logged, as no one reads the provider's answers (a warning: anyone may
      // post here, and must not fill the error log).
      request.log.warn({ workspaceId }, authToken.reason);
      throw new AppError('unavailable', `the text cannot be checked: ${authToken.reason}`);
    }
    const signature = request.headers['x-twilio-signature'];
    const isValid = isTwilioSignatureValid({
      authToken: authToken.value,
      url: `${deps.publicUrl}${request.url}`,
      params,
      signature: typeof signature === 'string' ? signature : undefined,
    });
    if (!isValid) throw new AppError('forbidden', 'X-Twilio-Signature does not match this request');
    // The signature takes a field's values in any order (sorted, as Twilio's helper libraries sign
    // them), so which of two a field read here would give is not signed: the provider sends each once.
    const repeated = FIELDS_READ.find((name) => params.getAll(name).length > 1);
    if (repeated !== undefined)
      throw new AppError('invalid_input', `${repeated} must be given once`, { field: repeated });
    const messageSid = params.get('MessageSid') ?? params.get('SmsSid');
    // Twilio's signature runs names and values together, so a captured request re-split at other
    // boundaries still matches it: only an id of exactly this form keeps a replay from passing as a
    // new one (a sid stretched over the next parameter, or folded into a name to leave none).
    if (messageSid === null || !TWILIO_MESSAGE_SID.test(messageSid))
      throw new AppError(
        'invalid_input',
        "MessageSid must be the provider's id for the text: SM or MM and 32 hex digits",
        { field: 'MessageSid' },
      );
    return { sms, params, messageSid };
  };
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_request, body, done) => done(null, new URLSearchParams(body as string)),
  );

  api.post(
    '/v1/sms/inbound/:workspaceId',
    {
      schema: {
        tags: ['sms'],
        summary: "The SMS provider's inbound-message webhook (Twilio's form, signed with X-Twilio-Signature)",
        description:
          'STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, OPTOUT, REVOKE (alone, any case, punctuation ignored; STOP, STOPALL, UNSUBSCRIBE, OPT OUT, OPTOUT, REVOKE within a reply of up to four words too) suppress the number for SMS; START, YES, UNSTOP lift that; HELP and INFO get the help text. The OptOutType Twilio sends (Advanced Opt-Out) decides when present, and such a text gets no reply (Twilio has sent its own); with sms.providerAnswersKeywords on, neither does a keyword sent alone (Twilio’s default handling has answered it). Opt-outs, opt-ins and replies are written as events on every contact holding the number; a number no contact holds gets an anonymous one of its own (id sms:+…, its phone trait the number). A MessageSid seen before is not acted on again (empty answer). Answers TwiML; 403 (JSON error) when the signature does not match, 400 when MessageSid (or SmsSid) is missing or not the provider’s message id (SM or MM and 32 hex digits), or a field Mops reads (MessageSid, SmsSid, From, Body, OptOutType) is given more than once, 404 when SMS is not set up in the workspace, 503 while the stored auth token does not decrypt under the current MOPS_SECRET (enter it again).',
        params: WorkspaceParams,
        security: [],
      },
      config: {
        openapiBody: {
          required: true,
          content: {
            'application/x-www-form-urlencoded': {
              schema: {
                type: 'object',
                properties: {
                  From: {
                    type: 'string',
                    description:
                      'The sender, in E.164 form; one on another channel (whatsapp:+39…) changes nothing and gets no reply',
                  },
                  Body: { type: 'string' },
                  MessageSid: {
                    type: 'string',
                    pattern: '^(SM|MM)[0-9a-fA-F]{32}$',
                    description: 'Acted on once (SmsSid is read when it is missing)',
                  },
                  OptOutType: { type: 'string', enum: ['STOP', 'START', 'HELP'] },
                },
              },
            },
          },
        },
        openapiResponse: {
          description: 'TwiML: the reply to send back (a confirmation, the help text), or none',
          content: { 'text/xml': { schema: { type: 'string' } } },
        },
        // Authenticated by the provider's signature, checked in the handler: it covers the body.
        isPublic: true,
      } satisfies RouteDocumentation & RouteAccess,
    },
    async (request, reply) => {
      const { workspaceId } = request.params;
      const { sms, params, messageSid } = await providerForm(request, workspaceId);
      // A provider's text is taken as sent, less what no column takes (a NUL would fail the write).
      const param = (name: string) => {
        const value = params.get(name);
        return value === null ? undefined : storableText(value);
      };
      const handled = await handleInboundSms({
        storage,
        workspaceId,
        from: param('From') ?? '',
        body: param('Body') ?? '',
        messageSid,
        optOutType: param('OptOutType'),
        helpText: sms.helpText ?? DEFAULT_HELP_TEXT,
        providerAnswersKeywords: sms.providerAnswersKeywords,
        at: clock.now(),
      });
      request.log.info({ outcome: handled.outcome }, 'inbound SMS');
      return reply.type('text/xml').send(twiml(handled.reply));
    },
  );

  api.post(
    '/v1/sms/status/:workspaceId/:messageId',
    {
      schema: {
        tags: ['sms'],
        summary: "The SMS provider's delivery receipts for a text Mops sent (Twilio's StatusCallback)",
        description:
          'Mops gives this address as each text’s StatusCallback. `delivered` marks the message delivered and writes SMS Delivered on the contact; `undelivered` or `failed` marks it bounced and writes SMS Delivery Failed (with `error_code`), and error 30005 (unknown handset) or 30006 (landline, or a carrier that takes no texts) suppresses the number as a hard bounce, 21610 as unsubscribed. Each is acted on once; interim statuses (queued, sending, sent) change nothing. 204 when taken; 403 when the signature does not match, 400 when MessageStatus or MessageSid is missing or not of the provider’s form, or a field Mops reads (MessageSid, SmsSid, MessageStatus, ErrorCode) is given more than once, 404 for a message that is not a text of the workspace, or a workspace without SMS set up.',
        params: WorkspaceParams.extend({ messageId: z.string().max(100) }),
        security: [],
        response: { 204: z.null(), ...errors },
      },
      config: {
        openapiBody: {
          required: true,
          content: {
            'application/x-www-form-urlencoded': {
              schema: {
                type: 'object',
                required: ['MessageSid', 'MessageStatus'],
                properties: {
                  MessageSid: { type: 'string', pattern: '^(SM|MM)[0-9a-fA-F]{32}$' },
                  MessageStatus: {
                    type: 'string',
                    description:
                      'queued, sending, sent, delivered, undelivered, failed (others are taken and change nothing)',
                  },
                  ErrorCode: {
                    type: 'string',
                    description: "The provider's error code, for undelivered and failed",
                  },
                },
              },
            },
          },
        },
        // Authenticated by the provider's signature, checked in the handler: it covers the body.
        isPublic: true,
      } satisfies RouteDocumentation & RouteAccess,
    },
    async (request, reply) => {
      const { workspaceId, messageId } = request.params;
      const { params, messageSid } = await providerForm(request, workspaceId);
      const status = params.get('MessageStatus');
      if (status === null || !/^[a-z_]{1,32}$/.test(status))
        throw new AppError('invalid_input', 'MessageStatus must be the provider’s status for the text', {
          field: 'MessageStatus',
        });
      const errorCode = params.get('ErrorCode');
      if (errorCode !== null && errorCode !== '' && !/^\d{1,9}$/.test(errorCode))
        throw new AppError('invalid_input', 'ErrorCode must be the provider’s numeric error code', {
          field: 'ErrorCode',
        });
      const message = await storage.messages.find(workspaceId, messageId);
      if (message?.channel !== 'sms')
        throw new AppError('not_found', `message ${messageId} is not a text of workspace ${workspaceId}`);
      const receipt = await recordSmsStatus(
        { storage, clock, append: deps.append },
        { message, status, errorCode: errorCode ? Number(errorCode) : undefined, messageSid },
      );
      request.log.info({ receipt, status }, 'SMS status');
      return reply.code(204).send(null);
    },
  );

  api.post(
    '/api/workspaces/:workspaceId/sms/preview',
    {
      schema: {
        tags: ['sms'],
        summary: 'An SMS text rendered for a profile, with its encoding and segment count',
        description:
          "The text as it will go out: with the workspace's Smart Encoding on (the default), curly quotes, dashes and odd spaces are put as their GSM-7 look-alikes, and `smartEncoded` names the characters replaced. With `trackLinks`, each link is counted as long as the short link it goes out as (`{publicUrl}/s/` and ten characters), which `text` shows with xxxxxxxxxx for the code.",
        params: WorkspaceParams,
        body: z.strictObject({
          body: z.string().trim().min(1).max(SMS_TEMPLATE_MAX_CHARACTERS),
          profileId: z.string().max(100).optional(),
          trackLinks: z.boolean().optional().describe('the step shortens and tracks its links'),
        }),
        response: {
          200: z.object({
            text: z.string(),
            encoding: z.enum(['GSM-7', 'UCS-2']),
            segments: z.number(),
            characters: z.number(),
            nonGsmCharacters: z.array(z.string()),
            smartEncoded: z
              .array(z.string())
              .describe('the characters Smart Encoding replaced, each once; empty when it is off'),
          }),
          ...errors,
        },
      },
    },
    async (request) => {
      const { workspaceId } = request.params;
      await auth.requireWorkspace(request, workspaceId);
      let profile: Pick<Profile, 'id' | 'userId' | 'traits'> = { id: 'preview', userId: null, traits: {} };
      let lifecycle: LifecycleData | undefined;
      if (request.body.profileId) {
        const found = await storage.profiles.find(workspaceId, request.body.profileId);
        if (!found)
          throw new AppError('not_found', `profile ${request.body.profileId} does not exist`, {
            field: 'profileId',
          });
        profile = found;
        lifecycle = await lifecycleDataFor(storage, {
          workspaceId,
          profile: found,
          now: clock.now(),
          sources: [request.body.body],
        });
      }
      // A workspace without SMS settings yet previews as it will send once set up: with the default.
      const smartEncoding = (await storage.settings.get(workspaceId)).sms?.smartEncoding ?? true;
      const rendered = smsTextAsSent({
        body: request.body.body,
        message: { id: 'preview', context: {} },
        profile,
        lifecycle,
        trackLinks: request.body.trackLinks === true,
        smartEncoding,
        publicUrl: deps.publicUrl,
      });
      return { text: rendered.text, ...smsSegments(rendered.text), smartEncoded: rendered.replaced };
    },
  );
  api.post(
    '/api/workspaces/:workspaceId/sms/test-send',
    {
      schema: {
        tags: ['sms'],
        summary: 'Send an SMS text, personalised for a chosen profile, to a test number',
        description:
          "The text goes out through the workspace's provider as a journey would send it (links shortened with `trackLinks`, Smart Encoding), and is recorded in the message log on the `test` topic: outside frequency caps and quiet hours, and its clicks and delivery reports are kept on the message, not written on the profile. A text that cannot go out (its Liquid, nothing left once rendered, too long) is refused naming `body` before anything is stored; the provider's refusal or an outage answers 503 with its reason, the message failed.",
        params: WorkspaceParams,
        body: z.strictObject({
          body: z.string().trim().min(1).max(SMS_TEMPLATE_MAX_CHARACTERS),
          to: z.string().trim().min(1).max(40).describe('the test number, in international form (+39…)'),
          profileId: z.string().max(100).optional().describe('whose data personalises the text'),
          trackLinks: z.boolean().optional().describe('the step shortens and tracks its links'),
        }),
        response: { 200: MessageJson, ...errors, 409: ErrorResponse, 429: ErrorResponse, 503: ErrorResponse },
      },
    },
    async (request) => {
      const { workspaceId } = request.params;
      const viewer = await auth.requireWorkspace(request, workspaceId, 'admin');
      const { body, to, profileId, trackLinks } = request.body;
      const profile = profileId
        ? await storage.profiles.find(workspaceId, profileId)
        : standInProfile(workspaceId);
      if (!profile)
        throw new AppError('not_found', `profile ${profileId} does not exist`, { field: 'profileId' });
      const message = await testSendSms(
        {
          storage,
          clock,
          secrets,
          publicUrl: deps.publicUrl,
          allowPrivateNetworks: deps.allowPrivateNetworks,
        },
        { body, to, profile, trackLinks: trackLinks === true },
      );
      if (message.status !== 'sent')
        throw new AppError('unavailable', `the test text was not sent: ${message.reason ?? message.status}`);
      return messageJson(message, viewer);
    },
  );
}
