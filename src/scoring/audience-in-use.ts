import { AppError } from '../core/errors.js';
import type { IssueDetail } from '../core/input-issues.js';
import type { JourneyDefinition } from '../core/journey-definition.js';
import type { SegmentCondition } from '../core/segment-definition.js';
import type { WorkspaceSettings } from '../core/workspace-settings.js';
import { definitionsInForce } from '../journeys/definitions-in-force.js';
import { leaves } from '../segments/segments.js';
import type { StorageReader } from '../storage/storage.js';

/** A live segment or a journey in force, by its name. */
interface AudienceUser {
  kind: 'segment' | 'journey';
  name: string;
}

/** What a rule or a journey asks about: score models, lifecycle stages and topics, by who asks. */
interface AudienceUse {
  models: Map<string, AudienceUser>;
  stages: Map<string, AudienceUser>;
  topics: Map<string, AudienceUser>;
  /** Webhook destinations called, and who texts (needing the SMS provider). */
  destinations: Map<string, AudienceUser>;
  texts?: AudienceUser;
}

/**
 * Refuses settings that drop a score model, lifecycle stage or topic a live segment or a journey in
 * force asks about or sends on, or a webhook destination or the SMS provider a journey in force
 * calls: the segment would silently lose every member, the branch would never hold, a message on a
 * topic gone would have no consent to go by (nor a way to opt out of it), and every call or text
 * would go to the dead-letter list.
 */
export async function checkAudienceStillKnown(
  reader: StorageReader,
  workspaceId: string,
  settings: WorkspaceSettings,
): Promise<void> {
  const used: AudienceUse = {
    models: new Map(),
    stages: new Map(),
    topics: new Map(),
    destinations: new Map(),
  };
  for (const segment of await reader.segments.listLive(workspaceId))
    if (segment.rule) collectFromRule(segment.rule, { kind: 'segment', name: segment.name }, used);
  for (const journey of await reader.journeys.list(workspaceId))
    for (const definition of await definitionsInForce(reader, journey))
      collectFromJourney(definition, { kind: 'journey', name: journey.name }, used);
  const models = new Set(settings.scoring.models.map((model) => model.id));
  for (const [model, user] of used.models)
    if (!models.has(model))
      throw new AppError(
        'invalid_input',
        `scoring.models: ${user.kind} ${user.name} asks about the score model ${model}: keep it`,
        {
          field: 'scoring.models',
          issue: stillUsed('model', model, user),
        },
      );
  const topics = new Set(settings.topics.map((topic) => topic.id));
  for (const [topic, user] of used.topics)
    if (!topics.has(topic))
      throw new AppError(
        'invalid_input',
        `topics: ${user.kind} ${user.name} asks about or sends on the topic ${topic}: keep it`,
        {
          field: 'topics',
          issue: stillUsed('topic', topic, user),
        },
      );
  const destinations = new Set(settings.webhooks.destinations.map((destination) => destination.id));
  for (const [destination, user] of used.destinations)
    if (!destinations.has(destination))
      throw new AppError(
        'invalid_input',
        `webhooks.destinations: ${user.kind} ${user.name} calls the destination ${destination}: keep it`,
        { field: 'webhooks.destinations', issue: stillUsed('destination', destination, user) },
      );
  if (used.texts && !settings.sms)
    throw new AppError(
      'invalid_input',
      `sms: ${used.texts.kind} ${used.texts.name} sends texts: keep the SMS provider`,
      {
        field: 'sms',
        issue: {
          code: 'refused',
          reason: 'sms_provider_used_by_journey',
          params: { journey: used.texts.name },
        },
      },
    );
  const stages = new Set(settings.lifecycle?.stages ?? []);
  for (const [stage, user] of used.stages)
    if (!stages.has(stage))
      throw new AppError(
        'invalid_input',
        `lifecycle.stages: ${user.kind} ${user.name} asks about the stage ${stage}: keep it`,
        {
          field: 'lifecycle.stages',
          issue: stillUsed('stage', stage, user),
        },
      );
}

/** The refusal to drop a setting still used, naming the setting and its user for clients to word. */
function stillUsed(
  setting: 'model' | 'topic' | 'stage' | 'destination',
  id: string,
  user: AudienceUser,
): IssueDetail {
  // Only journeys call destinations.
  const reason =
    setting === 'destination' ? 'destination_used_by_journey' : (`${setting}_used_by_${user.kind}` as const);
  return { code: 'refused', reason, params: { [user.kind]: user.name, [setting]: id } };
}

function collectFromRule(rule: SegmentCondition, user: AudienceUser, used: AudienceUse): void {
  for (const condition of leaves(rule)) {
    if (condition.type === 'score') used.models.set(condition.model, user);
    if (condition.type === 'lifecycle') for (const stage of condition.stages) used.stages.set(stage, user);
    if (condition.type === 'subscription') used.topics.set(condition.topic, user);
  }
}

function collectFromJourney(definition: JourneyDefinition, user: AudienceUser, used: AudienceUse): void {
  for (const step of definition.steps) {
    if (step.type === 'send_email' || step.type === 'send_sms') used.topics.set(step.topic, user);
    if (step.type === 'send_sms') used.texts = user;
    if (step.type === 'webhook') used.destinations.set(step.destination, user);
    if (step.type !== 'branch') continue;
    for (const branch of step.branches)
      for (const condition of branch.conditions) {
        if (!('source' in condition)) continue;
        if (condition.source === 'score') used.models.set(condition.model, user);
        if (condition.source === 'lifecycle')
          for (const stage of condition.stages) used.stages.set(stage, user);
      }
  }
}
