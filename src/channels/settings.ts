import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { AppError } from '../core/errors.js';
import { halfLifeProblem } from '../core/half-life.js';
import { describeIssue, firstDroppedKey, type IssueDetail } from '../core/input-issues.js';
import { scoreThresholds } from '../core/lifecycle.js';
import { modelRevision } from '../core/score-model.js';
import {
  SmsSettings,
  SmtpSettings,
  WebhookDestination,
  WebhookSettings,
  WorkspaceSettings,
} from '../core/workspace-settings.js';
import { checkAudienceStillKnown } from '../scoring/audience-in-use.js';
import { checkConditionsCanHold } from '../scoring/conditions-can-hold.js';
import { checkSettingsInLists } from '../scoring/settings-in-lists.js';
import { backfillSegmentsSettingsMove } from '../segments/segments.js';
import type { Storage, StorageReader } from '../storage/storage.js';
import { HELD_BACK_REASON_PREFIXES } from './dispatcher.js';
import { SecretBox } from './email/secret-box.js';
import { messagesUrl } from './sms/twilio-messages-api.js';
import { SIGNATURE_HEADER } from './webhook/webhook-signature.js';

/** The settings as the API shows them: secrets (SMTP password, SMS token, webhook secrets) only as whether one is set. */
export const SettingsView = WorkspaceSettings.extend({
  smtp: SmtpSettings.omit({ password: true }).extend({ hasPassword: z.boolean() }).optional(),
  sms: SmsSettings.omit({ authToken: true })
    .extend({
      hasAuthToken: z.boolean(),
      inboundUrl: z
        .string()
        .optional()
        .describe(
          "Where the provider posts the texts contacts send (STOP, START, HELP): the number's incoming-message webhook, HTTP POST",
        ),
    })
    .optional(),
  webhooks: WebhookSettings.omit({ destinations: true }).extend({
    destinations: z.array(
      WebhookDestination.omit({ secret: true, headers: true }).extend({
        hasSecret: z.boolean(),
        headerNames: z.array(z.string()),
      }),
    ),
  }),
  /** Whether this server lets a workspace call private networks at all (MOPS_ALLOW_PRIVATE_NETWORKS). */
  serverAllowsPrivateNetworks: z.boolean(),
}).meta({ id: 'SettingsView' });
export type SettingsView = z.output<typeof SettingsView>;

/** What `SettingsView` shows in place of secrets: settings read, changed and sent back carry them. */
const SHOWN_NOT_STORED: ReadonlySet<string> = new Set([
  'hasPassword',
  'hasAuthToken',
  'inboundUrl',
  'hasSecret',
  'headerNames',
  'serverAllowsPrivateNetworks',
]);

export function settingsView(
  settings: WorkspaceSettings,
  server: {
    privateNetworksAllowed: boolean;
    /** This workspace's inbound SMS webhook under the server's public URL, shown to set at the provider. */
    smsInboundUrl?: string;
  },
): SettingsView {
  const { smtp, sms, webhooks, ...rest } = settings;
  const webhooksView = {
    ...webhooks,
    destinations: webhooks.destinations.map(({ secret, headers, ...visible }) => ({
      ...visible,
      hasSecret: Boolean(secret),
      headerNames: Object.keys(headers ?? {}),
    })),
  };
  const view: SettingsView = {
    ...rest,
    webhooks: webhooksView,
    serverAllowsPrivateNetworks: server.privateNetworksAllowed,
  };
  if (smtp) {
    const { password, ...visible } = smtp;
    view.smtp = { ...visible, hasPassword: Boolean(password) };
  }
  if (sms) {
    const { authToken, ...visible } = sms;
    view.sms = {
      ...visible,
      hasAuthToken: Boolean(authToken),
      ...(server.smsInboundUrl ? { inboundUrl: server.smsInboundUrl } : {}),
    };
  }
  return view;
}

/**
 * A lifecycle must keep the stages profiles are at: a profile at a stage the list no longer has would
 * count as having none (any rule would move it, forward or not) and could never be recycled. And every
 * stage that came before one profiles are at must stay before it: moves are forward only, so a stage
 * put after it would move them "forward" to a stage they had passed (and hand them to sales again).
 */
async function checkStagesHeld(
  storage: StorageReader,
  workspaceId: string,
  settings: WorkspaceSettings,
  previous: WorkspaceSettings,
): Promise<void> {
  const held = await storage.scoring.stagesHeld(workspaceId);
  // Without a lifecycle the order of the stages held would be forgotten, and a later one could put
  // them in any order: the lifecycle stays while anyone is at a stage (with no rules, nothing moves).
  if (!settings.lifecycle) {
    // Settings an older version let go of their lifecycle stay savable as they are.
    if (held.length === 0 || !previous.lifecycle) return;
    throw new AppError(
      'invalid_input',
      `lifecycle: profiles are at ${held.join(', ')}, so the lifecycle must stay (without rules it moves nobody)`,
      {
        field: 'lifecycle',
        issue: { code: 'refused', reason: 'stages_held_keep_lifecycle', params: { stages: held.join(', ') } },
      },
    );
  }
  const stages = settings.lifecycle.stages;
  const dropped = held.filter((stage) => !stages.includes(stage));
  if (dropped.length > 0)
    throw new AppError(
      'invalid_input',
      `lifecycle.stages: profiles are at ${dropped.join(', ')}, which the list must keep`,
      {
        field: 'lifecycle.stages',
        issue: { code: 'refused', reason: 'stages_held_keep_stages', params: { stages: dropped.join(', ') } },
      },
    );
  const before = previous.lifecycle?.stages ?? [];
  for (const stage of held) {
    const passed = before
      .slice(0, Math.max(0, before.indexOf(stage)))
      .filter((earlier) => stages.indexOf(earlier) > stages.indexOf(stage));
    if (passed.length > 0)
      throw new AppError(
        'invalid_input',
        `lifecycle.stages: profiles at ${stage} have passed ${passed.join(', ')}, which must stay before it (moves are forward only)`,
        {
          field: 'lifecycle.stages',
          issue: {
            code: 'refused',
            reason: 'stages_held_keep_order',
            params: { stage, passed: passed.join(', ') },
          },
        },
      );
  }
}

/**
 * Saves a workspace's settings. Secrets (the SMTP password, the SMS auth token, each webhook destination's secret and
 * headers) are sealed with MOPS_SECRET; leaving one out keeps the one already stored (for a
 * destination: that of the stored destination with the same id), as long as it still goes where it
 * was given for (see `keptSecret`). A destination's `secret: null` removes its secret, `headers: {}`
 * its headers.
 */
export async function saveSettings(
  storage: Storage,
  secrets: SecretBox,
  input: {
    workspaceId: string;
    settings: unknown;
    /**
     * Only the sections `settings` names change (`scoring`, `webhooks`, …); the others stay as stored.
     * Otherwise `settings` replaces them all, and a section left out takes its default.
     */
    onlySectionsGiven?: boolean;
    at: number;
    /** Whether the operator lets workspaces call private networks (MOPS_ALLOW_PRIVATE_NETWORKS). */
    privateNetworksAllowed: boolean;
  },
): Promise<WorkspaceSettings> {
  // Checked and written under the lock segment edits and journey publishes take: a segment asking about
  // a score model, or a journey calling a destination, cannot come in between the check and the write
  // (nor another save between reading the sections kept and writing them).
  const { settings, previous } = await storage.transaction(async (tx) => {
    await tx.segments.lockDefinitions(input.workspaceId);
    const previous = await tx.settings.get(input.workspaceId);
    const given = input.onlySectionsGiven
      ? {
          // As the API shows them: the secrets they leave out are kept by `sealSecrets`, as in any save.
          ...settingsView(previous, { privateNetworksAllowed: input.privateNetworksAllowed }),
          ...(input.settings as Record<string, unknown>),
        }
      : input.settings;
    const settings = checkedSettings(given, input.privateNetworksAllowed);
    // Stored settings an older version took stay savable as they are: only a change is checked.
    if (!isDeepStrictEqual(settings.quietHours, previous.quietHours)) checkQuietHours(settings);
    checkIntentSettings(settings);
    checkConditionsCanHold(settings, previous);
    checkSettingsInLists(settings, previous);
    await checkStagesHeld(tx, input.workspaceId, settings, previous);
    await checkAudienceStillKnown(tx, input.workspaceId, settings);
    sealSecrets(settings, previous, secrets);
    await tx.settings.put(input.workspaceId, settings, input.at);
    // A model whose rules changed ranks its contacts by the new rules at once: their current scores
    // are stored again now (the scores stage decisions read move at each one's next event).
    const changedModels = settings.scoring.models.flatMap((model) => {
      const before = previous.scoring.models.find((earlier) => earlier.id === model.id);
      return before && modelRevision(before) !== modelRevision(model) ? [model.id] : [];
    });
    if (changedModels.length > 0)
      await tx.scoring.bringModelScoreRefreshesForward(input.workspaceId, changedModels, input.at);
    // Topic defaults and score models decide members with no event to tell: those segments start again.
    const changedTopicDefaults = settings.topics.flatMap((topic) => {
      const before = previous.topics.find((earlier) => earlier.id === topic.id);
      return before && before.defaultSubscribed !== topic.defaultSubscribed ? [topic.id] : [];
    });
    await backfillSegmentsSettingsMove(tx, {
      workspaceId: input.workspaceId,
      topics: new Set(changedTopicDefaults),
      models: new Set(changedModels),
      at: input.at,
    });
    return { settings, previous };
  });
  // Messages held back by the old quiet hours or caps are judged again by the new ones, now (not those
  // waiting out a retry's back-off or a Retry-After).
  const heldBackBy = [settings.quietHours, settings.frequencyCaps];
  if (!isDeepStrictEqual(heldBackBy, [previous.quietHours, previous.frequencyCaps]))
    await storage.messages.redueDeferred(input.workspaceId, {
      reasonsStartingWith: HELD_BACK_REASON_PREFIXES,
      now: input.at,
    });
  return settings;
}

/** Settings as a save gives them, parsed and checked on their own (before what is stored is compared). */
function checkedSettings(given: unknown, privateNetworksAllowed: boolean): WorkspaceSettings {
  const parsed = WorkspaceSettings.safeParse(given);
  if (!parsed.success) {
    const described = describeIssue(parsed.error.issues[0]);
    const field = described.field || 'settings';
    throw new AppError('invalid_input', `${field}: ${described.message}`, { field, issue: described.detail });
  }
  const settings = parsed.data;
  const dropped = firstDroppedKey(given, settings, SHOWN_NOT_STORED);
  if (dropped) {
    const field = dropped.map(String).join('.');
    throw new AppError('invalid_input', `${field}: is not a known field`, {
      field,
      issue: { code: 'unknown_field' },
    });
  }
  if (!privateNetworksAllowed) checkNoPrivateNetworks(settings);
  checkWebhookHeaders(settings);
  checkSmsBaseUrl(settings);
  return settings;
}

/**
 * Seals the secrets given, and keeps the stored ones a save left out where they still go where they
 * were given for.
 */
function sealSecrets(settings: WorkspaceSettings, previous: WorkspaceSettings, secrets: SecretBox): void {
  const { smtp, sms } = settings;
  if (smtp) {
    if (smtp.password) smtp.password = secrets.seal(smtp.password);
    else {
      // Also as safely: a kept password must not go out in the clear, or to a server unchecked.
      const isSameServer =
        smtp.host === previous.smtp?.host &&
        smtp.port === previous.smtp.port &&
        TLS_STRENGTH[smtp.tls] >= TLS_STRENGTH[previous.smtp.tls] &&
        (smtp.verifyCertificate || !previous.smtp.verifyCertificate);
      const kept = keptSecret('smtp.password', previous.smtp?.password, isSameServer);
      if (kept) smtp.password = kept;
    }
  }
  if (sms) {
    if (sms.authToken) sms.authToken = secrets.seal(sms.authToken);
    else {
      // Where the token goes, path and account included: under one host, another path (a gateway's
      // tenant) or account may be someone else's.
      const isSameProvider =
        previous.sms !== undefined &&
        messagesUrl(sms.baseUrl, sms.accountSid).href ===
          messagesUrl(previous.sms.baseUrl, previous.sms.accountSid).href;
      const kept = keptSecret('sms.authToken', previous.sms?.authToken, isSameProvider);
      if (kept) sms.authToken = kept;
    }
  }
  const stored = new Map(previous.webhooks.destinations.map((destination) => [destination.id, destination]));
  for (const [index, destination] of settings.webhooks.destinations.entries()) {
    // A destination renamed (same URL, new id) keeps what was stored for that URL.
    const before =
      stored.get(destination.id) ??
      previous.webhooks.destinations.find((candidate) => sameUrl(candidate.url, destination.url));
    // The whole URL: on a shared host (hooks.zapier.com/hooks/catch/…) the path says whose hook it is.
    const isSameReceiver = before !== undefined && sameUrl(destination.url, before.url);
    const field = `webhooks.destinations.${index}`;
    // Removed on purpose: nothing stored is kept, wherever the destination now points.
    if (destination.secret === null) delete destination.secret;
    else if (destination.secret) destination.secret = secrets.seal(destination.secret);
    else {
      const kept = keptSecret(`${field}.secret`, before?.secret, isSameReceiver);
      if (kept) destination.secret = kept;
    }
    if (destination.headers)
      destination.headers = Object.fromEntries(
        Object.entries(destination.headers).map(([name, value]) => [name, secrets.seal(value)]),
      );
    else {
      const kept = keptSecret(`${field}.headers`, before?.headers, isSameReceiver);
      if (kept) destination.headers = kept;
    }
  }
}

/**
 * The stored secret a save left out, kept only while it goes where it was given for: an admin may edit
 * settings without reading their secrets, so re-pointing a destination (another webhook URL, SMTP host
 * or port, SMS provider address or account) must send them again, or they would go to a server of the admin's choosing.
 */
function keptSecret<T>(field: string, stored: T | undefined, isSameTarget: boolean): T | undefined {
  if (stored === undefined || isSameTarget) return stored;
  throw new AppError(
    'invalid_input',
    `${field}: where or how it is sent changed; send it again (a stored secret is only kept for the address, and the protection, it was given for)`,
    { field, issue: { code: 'refused', reason: 'secret_send_again' } },
  );
}

/** How well each SMTP `tls` choice keeps a password from the wire: `none` never encrypts. */
const TLS_STRENGTH: Record<SmtpSettings['tls'], number> = {
  none: 0,
  opportunistic: 1,
  starttls: 2,
  implicit: 2,
};

function sameUrl(url: string, other: string): boolean {
  return new URL(url).href === new URL(other).href;
}

const HALF_LIFE_PROBLEMS = {
  too_short: 'must be at least 1m',
  too_long: 'must be at most 520w (ten years)',
} as const satisfies Record<NonNullable<ReturnType<typeof halfLifeProblem>>, string>;

/** Lifecycle rules, the hand-off and score models must name each other consistently. */
function checkIntentSettings(settings: WorkspaceSettings): void {
  const invalid = (field: string, message: string, issue?: IssueDetail) =>
    new AppError('invalid_input', `${field}: ${message}`, { field, issue });
  // Checked on saving, not in the schema every read parses: settings stored before this check stay
  // readable (a shorter half-life there decays as written, a zero one takes the points at once).
  for (const [modelIndex, model] of settings.scoring.models.entries())
    for (const [index, rule] of model.rules.entries()) {
      const problem = rule.kind === 'event' && rule.halfLife ? halfLifeProblem(rule.halfLife) : undefined;
      if (problem)
        throw invalid(`scoring.models.${modelIndex}.rules.${index}.halfLife`, HALF_LIFE_PROBLEMS[problem]);
    }
  for (const [index, rule] of (settings.lifecycle?.rules ?? []).entries()) {
    if (rule.kind !== 'score') continue;
    for (const [thresholdIndex, threshold] of scoreThresholds(rule).entries()) {
      // The rule's own model, then each of `and`.
      const at =
        thresholdIndex === 0
          ? `lifecycle.rules.${index}.`
          : `lifecycle.rules.${index}.and.${thresholdIndex - 1}.`;
      const model = settings.scoring.models.find(({ id }) => id === threshold.model);
      if (!model) throw invalid(`${at}model`, `${threshold.model} is not one of the score models`);
      // A threshold over the model's cap would silently move nobody (and hand no lead to sales).
      if (model.cap !== undefined && threshold.atLeast > model.cap)
        throw invalid(
          `${at}atLeast`,
          `${threshold.model} never scores more than ${model.cap} (its cap), so ${threshold.atLeast} would never be reached`,
          {
            code: 'refused',
            reason: 'threshold_over_cap',
            params: { model: threshold.model, cap: String(model.cap), atLeast: String(threshold.atLeast) },
          },
        );
    }
  }
  const handOff = settings.handOff;
  if (!handOff) return;
  if (!settings.lifecycle) throw invalid('handOff', 'a hand-off needs lifecycle stages (lifecycle)');
  if (!settings.lifecycle.stages.includes(handOff.stage))
    throw invalid('handOff.stage', `${handOff.stage} is not one of the lifecycle stages`);
  if (
    handOff.destination !== undefined &&
    !settings.webhooks.destinations.some((destination) => destination.id === handOff.destination)
  )
    throw invalid('handOff.destination', `${handOff.destination} is not one of the webhook destinations`);
  const { stages, recycleTo } = settings.lifecycle;
  // Recycling to the hand-off stage or past it would leave the lead where it was, its hand-off missed.
  if (handOff.recycleOnMiss && stages.indexOf(recycleTo) >= stages.indexOf(handOff.stage))
    throw invalid(
      'lifecycle.recycleTo',
      `${recycleTo} must come before the hand-off stage ${handOff.stage} for a missed hand-off to recycle the lead`,
    );
  const owners = new Set<string>();
  for (const [index, owner] of handOff.owners.entries()) {
    // Round-robin would give an owner listed twice twice the share.
    if (owners.has(owner.id)) throw invalid(`handOff.owners.${index}.id`, `${owner.id} is listed twice`);
    owners.add(owner.id);
  }
}

/**
 * A workspace may not let its calls reach loopback or private addresses (the cloud metadata service,
 * the database, the admin port) unless the operator allows it: any user can create a workspace.
 */
function checkNoPrivateNetworks(settings: WorkspaceSettings): void {
  for (const field of ['webhooks', 'sms'] as const)
    if (settings[field]?.allowPrivateNetworks)
      throw new AppError(
        'invalid_input',
        `${field}.allowPrivateNetworks: this server does not let workspaces call private networks; its operator allows it with MOPS_ALLOW_PRIVATE_NETWORKS=true`,
        { field: `${field}.allowPrivateNetworks` },
      );
}

/**
 * Headers Mops writes on every call, or HTTP itself does: a destination's own would break the call (a
 * wrong Content-Length fails every one) or be overwritten without a word. Checked on saving only, so
 * settings stored before stay readable.
 */
const RESERVED_HEADERS = new Set([
  'content-length',
  'content-type',
  'host',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'expect',
  'user-agent',
  'idempotency-key',
  'mops-webhook-id',
  SIGNATURE_HEADER,
]);

function checkWebhookHeaders(settings: WorkspaceSettings): void {
  for (const [index, destination] of settings.webhooks.destinations.entries())
    for (const name of Object.keys(destination.headers ?? {}))
      if (RESERVED_HEADERS.has(name.toLowerCase())) {
        const field = `webhooks.destinations.${index}.headers.${name}`;
        throw new AppError('invalid_input', `${field}: Mops sets ${name} on every call itself`, {
          field,
          issue: { code: 'refused', reason: 'header_set_by_mops', params: { header: name } },
        });
      }
}

/**
 * The SMS provider's address alone. Credentials there would be stored and shown in the clear, and
 * never sent (the HTTP client drops them; the account SID and token are what authenticate); a query
 * would be left off the listing a retry asks for, so a text whose answer was lost could never be
 * sent. Checked on saving only, so settings stored before stay readable.
 */
function checkSmsBaseUrl(settings: WorkspaceSettings): void {
  if (!settings.sms) return;
  const url = new URL(settings.sms.baseUrl);
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '')
    throw new AppError(
      'invalid_input',
      'sms.baseUrl: must be the API address alone, with no user name, password or query (the account SID and auth token authenticate)',
      { field: 'sms.baseUrl', issue: { code: 'refused', reason: 'sms_base_url_not_alone' } },
    );
}

/** Quiet hours from a time to the same time would be none at all, which nobody means by setting them. */
function checkQuietHours(settings: WorkspaceSettings): void {
  const quiet = settings.quietHours;
  if (quiet && quiet.start === quiet.end)
    throw new AppError(
      'invalid_input',
      `quietHours.end: must differ from the start (${quiet.start}); for no quiet hours, set quietHours to null`,
      { field: 'quietHours.end' },
    );
}

export { SecretBox };
