import { isDeepStrictEqual } from 'node:util';
import { parameterRepeated } from '../channels/webhook/webhook-channel.js';
import type { Clock } from '../core/clock.js';
import { AppError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { describeIssue, type IssueDetail, specificIssue } from '../core/input-issues.js';
import {
  type EmailTemplate,
  JOURNEY_PAUSED_REASON,
  type Journey,
  type JourneyVersion,
} from '../core/journey.js';
import { type Condition, JourneyDefinition, type Step } from '../core/journey-definition.js';
import { isEmpty, type JourneyDraft, notAJourney, readDraft, valueAt } from '../core/journey-draft.js';
import type { Storage, StorageReader, StorageTx } from '../storage/storage.js';
import { checkLiquid, notJsonTemplate } from '../templates/liquid.js';
import { memberEntryOnPublish } from './member-entries.js';
import { loopWithoutWait, stepsInOrder } from './step-order.js';

export { JOURNEYS_CURSOR, JourneyEngine } from './engine.js';

/** Parses a journey definition, turning the first problem into a 400 that names its field. */
export function parseDefinition(input: unknown, fieldPrefix = 'definition'): JourneyDefinition {
  const notJourney = notAJourney(input);
  if (notJourney)
    throw new AppError('invalid_input', `${fieldPrefix}: ${notJourney.message}`, { field: fieldPrefix });
  const parsed = JourneyDefinition.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const { path, message, detail } = issue
    ? specificIssue(issue)
    : { path: [], message: 'is invalid', detail: undefined };
  const field = [fieldPrefix, ...path].map(String).join('.');
  // What a draft left out is named as such, not as a value of the wrong type (`received undefined`).
  const isMissing = issue !== undefined && isEmpty(valueAt(input, path));
  const said = isMissing ? 'must be filled in' : message;
  throw new AppError('invalid_input', `${field}: ${said}`, {
    field,
    issue: isMissing ? { code: 'required' } : detail,
  });
}

/**
 * Parses a draft, which may be unfinished (see `readDraft`): only a malformed one is a 400, naming
 * its field as `parseDefinition` does.
 */
export function parseDraft(input: unknown, fieldPrefix = 'definition'): JourneyDraft {
  const reading = readDraft(input);
  if (reading.isWellFormed) return reading.draft;
  const { field, message, detail } = describeIssue(reading.issue, [fieldPrefix]);
  throw new AppError('invalid_input', `${field}: ${message}`, { field, issue: detail });
}

export async function createJourney(
  storage: Storage | StorageTx,
  clock: Clock,
  input: { workspaceId: string; definition: JourneyDraft },
): Promise<Journey> {
  const now = clock.now();
  const journey: Journey = {
    id: newId('jrn', now),
    workspaceId: input.workspaceId,
    name: input.definition.name,
    status: 'draft',
    draft: input.definition,
    currentVersion: null,
    createdAt: now,
    updatedAt: now,
  };
  await storage.journeys.create(journey);
  return journey;
}

export async function getJourney(storage: StorageReader, workspaceId: string, id: string): Promise<Journey> {
  return found(await storage.journeys.find(workspaceId, id), id);
}

/** The journey, locked until the transaction ends: what a change of its draft or status starts from. */
async function lockJourney(tx: StorageTx, workspaceId: string, id: string): Promise<Journey> {
  return found(await tx.journeys.lock(workspaceId, id), id);
}

function found(journey: Journey | undefined, id: string): Journey {
  if (!journey) throw new AppError('not_found', `journey ${id} does not exist`);
  return journey;
}

/**
 * Replaces the draft, finished or not; running instances keep the version they started on, and new
 * entries the published one, until a complete draft is published.
 */
export async function updateDraft(
  storage: Storage,
  clock: Clock,
  input: { workspaceId: string; id: string; definition: JourneyDraft },
): Promise<Journey> {
  return storage.transaction((tx) => replaceDraft(tx, clock, input));
}

async function replaceDraft(
  tx: StorageTx,
  clock: Clock,
  input: { workspaceId: string; id: string; definition: JourneyDraft },
): Promise<Journey> {
  const journey = await lockJourney(tx, input.workspaceId, input.id);
  if (journey.status === 'archived') throw new AppError('conflict', 'an archived journey cannot be changed');
  const updated = {
    ...journey,
    draft: input.definition,
    name: input.definition.name,
    updatedAt: clock.now(),
  };
  await tx.journeys.update(updated);
  return updated;
}

/**
 * Freezes the draft as the next version, with a copy of every template it sends, so that later edits
 * to templates or to the draft never change what running instances do. New entries use it at once.
 */
export async function publishJourney(
  storage: Storage,
  clock: Clock,
  workspaceId: string,
  id: string,
): Promise<{ journey: Journey; version: JourneyVersion }> {
  // Checked and written under the lock settings saves and segment edits take: a destination, score
  // model or segment the definition names cannot be taken away between the check and the write.
  return storage.transaction(async (tx) => {
    await tx.segments.lockDefinitions(workspaceId);
    return publishChecked(tx, clock, workspaceId, id);
  });
}

async function publishChecked(
  storage: StorageTx,
  clock: Clock,
  workspaceId: string,
  id: string,
  fieldPrefix = 'draft',
): Promise<{ journey: Journey; version: JourneyVersion }> {
  const journey = await lockJourney(storage, workspaceId, id);
  if (journey.status === 'archived')
    throw new AppError('conflict', 'an archived journey cannot be published');
  // A refusal over a field of the draft names it as `field` does, under `fieldPrefix` (`draft`, or the
  // file `journeys apply` read it from), with a reason clients word in their language, when it has one.
  const refuse = (path: string, message: string, issue?: IssueDetail) => {
    const field = `${fieldPrefix}.${path}`;
    return new AppError('invalid_input', `${field}: ${message}`, { field, ...(issue ? { issue } : {}) });
  };
  const definition = parseDefinition(journey.draft, fieldPrefix);
  const settings = await storage.settings.get(workspaceId);
  const topics = new Set(settings.topics.map((topic) => topic.id));
  const destinations = new Map(
    settings.webhooks.destinations.map((destination) => [destination.id, destination.url]),
  );
  const segments = new Set((await storage.segments.list(workspaceId)).map((segment) => segment.id));
  const models = new Set(settings.scoring.models.map((model) => model.id));
  const stages = new Set(settings.lifecycle?.stages ?? []);
  // A step nothing leads to would be published and never run, while the canvas may draw it as if it did.
  const reached = new Set(stepsInOrder(definition));
  const unreached = definition.steps.findIndex((step) => !reached.has(step.id));
  if (unreached >= 0)
    throw refuse(
      `steps.${unreached}`,
      `no step leads to ${definition.steps[unreached]?.id}: connect it from another step, or remove it`,
    );
  const loop = loopWithoutWait(definition);
  if (loop)
    throw refuse(
      `steps.${definition.steps.findIndex((step) => step.id === loop[0])}`,
      `${loop.join(' → ')} loops back with no wait on the way: a contact would go round without stopping, sent every message each time; put a wait in the loop`,
      { code: 'refused', reason: 'loop_without_wait', params: { steps: loop.join(' → ') } },
    );
  const trigger = definition.entry.trigger;
  if (trigger.type === 'segment' && !segments.has(trigger.segment))
    throw refuse('entry.trigger.segment', `segment ${trigger.segment} does not exist`);
  const templates: Record<string, EmailTemplate> = {};
  for (const [index, step] of definition.steps.entries()) {
    if (step.type === 'branch')
      for (const [branchIndex, branch] of step.branches.entries())
        for (const [conditionIndex, condition] of branch.conditions.entries()) {
          const at = `steps.${index}.branches.${branchIndex}.conditions.${conditionIndex}`;
          const problem = unknownAudience(condition, { segments, models, stages });
          if (problem) throw refuse(`${at}.${problem.field}`, problem.message);
        }
    for (const [field, source] of liquidOf(step)) {
      const problem = checkLiquid(source);
      if (problem) throw refuse(`steps.${index}.${field}`, problem);
    }
    const notJson =
      step.type === 'webhook' && step.body !== undefined ? notJsonTemplate(step.body) : undefined;
    if (notJson) throw refuse(`steps.${index}.body`, notJson);
    if (step.type === 'webhook') {
      const url = destinations.get(step.destination);
      if (url === undefined)
        throw refuse(
          `steps.${index}.destination`,
          `${step.destination} is not one of this workspace's webhook destinations (${[...destinations.keys()].join(', ') || 'none configured'})`,
        );
      const repeated = parameterRepeated(url, step.path);
      if (repeated !== undefined)
        throw refuse(
          `steps.${index}.path`,
          `its query sets ${repeated}, which the destination ${step.destination} sets itself`,
          {
            code: 'refused',
            reason: 'query_parameter_set_by_destination',
            params: { parameter: repeated, destination: step.destination },
          },
        );
    }
    if (step.type === 'send_sms' && !settings.sms)
      throw refuse(`steps.${index}`, "sending SMS needs an SMS provider in the workspace's settings (sms)", {
        code: 'refused',
        reason: 'sms_not_configured',
      });
    if ((step.type === 'send_email' || step.type === 'send_sms') && !topics.has(step.topic))
      throw refuse(
        `steps.${index}.topic`,
        `${step.topic} is not one of this workspace's topics (${[...topics].join(', ')})`,
      );
    if (step.type !== 'send_email') continue;
    const template = await storage.templates.find(workspaceId, step.template);
    if (!template) throw refuse(`steps.${index}.template`, `template ${step.template} does not exist`);
    templates[step.template] = template;
  }
  // Published as it is already (the same steps, the same templates' text): a second click, or a
  // script run twice, is no new version splitting the journey's instances and reports.
  const current =
    journey.currentVersion === null
      ? undefined
      : await storage.journeys.findVersion(journey.id, journey.currentVersion);
  if (current && sameAsStored({ definition, templates }, current)) return { journey, version: current };
  const now = clock.now();
  const version: JourneyVersion = {
    journeyId: journey.id,
    version: (journey.currentVersion ?? 0) + 1,
    definition,
    templates,
    publishedAt: now,
  };
  const published: Journey = {
    ...journey,
    // A paused journey stays paused: publishing a fix is not a decision to start sending again.
    status: journey.status === 'paused' ? 'paused' : 'published',
    currentVersion: version.version,
    updatedAt: now,
  };
  await storage.journeys.addVersion(version);
  await storage.journeys.update(published);
  await memberEntryOnPublish(storage, { journey: published, previous: current, version, now });
  return { journey: published, version };
}

/**
 * Whether a version about to be published holds what the stored one does (as stored: JSON), where the
 * steps stand on the canvas aside: moving them (the builder does, as counts make a step taller)
 * changes nothing a contact meets.
 */
function sameAsStored(
  candidate: Pick<JourneyVersion, 'definition' | 'templates'>,
  stored: JourneyVersion,
): boolean {
  const asStored = (value: unknown) => JSON.parse(JSON.stringify(value)) as unknown;
  const { canvas: _candidateCanvas, ...candidateSteps } = candidate.definition;
  const { canvas: _storedCanvas, ...storedSteps } = stored.definition;
  return (
    isDeepStrictEqual(asStored(candidateSteps), asStored(storedSteps)) &&
    isDeepStrictEqual(asStored(candidate.templates), asStored(stored.templates))
  );
}

/** What a branch condition names that the workspace does not have: it would never hold, silently. */
function unknownAudience(
  condition: Condition,
  known: { segments: Set<string>; models: Set<string>; stages: Set<string> },
): { field: string; message: string } | undefined {
  if (!('source' in condition)) return undefined;
  if (condition.source === 'segment' && !known.segments.has(condition.segment))
    return { field: 'segment', message: `segment ${condition.segment} does not exist` };
  if (condition.source === 'score' && !known.models.has(condition.model))
    return { field: 'model', message: `no score model ${condition.model} in the workspace's settings` };
  const stage =
    condition.source === 'lifecycle' ? condition.stages.find((name) => !known.stages.has(name)) : undefined;
  if (stage !== undefined)
    return { field: 'stages', message: `no lifecycle stage ${stage} in the workspace's settings` };
  return undefined;
}

/** The Liquid a step renders when it runs, by field: a mistake in it is refused at publish, not on every send. */
function liquidOf(step: Step): Array<[string, string]> {
  switch (step.type) {
    case 'send_sms':
    case 'webhook':
      return [['body', step.body]];
    case 'update_traits':
      return Object.entries(step.set).flatMap(
        ([trait, value]): Array<[string, string]> =>
          typeof value === 'string' ? [[`set.${trait}`, value]] : [],
      );
    default:
      return [];
  }
}

/** Paused: no new entries and no messages sent; instances keep their place and react to goals. */
export async function setJourneyPaused(
  storage: Storage,
  clock: Clock,
  workspaceId: string,
  id: string,
  isPaused: boolean,
): Promise<Journey> {
  const updated = await storage.transaction(async (tx) => {
    const journey = await lockJourney(tx, workspaceId, id);
    const from = isPaused ? 'published' : 'paused';
    if (journey.status !== from) {
      throw new AppError(
        'conflict',
        `only a ${from} journey can be ${isPaused ? 'paused' : 'resumed'}; this one is ${journey.status}`,
      );
    }
    const changed: Journey = {
      ...journey,
      status: isPaused ? 'paused' : 'published',
      updatedAt: clock.now(),
    };
    await tx.journeys.update(changed);
    return changed;
  });
  // What the pause held back goes now, not at the dispatcher's next look at paused journeys.
  if (!isPaused)
    await storage.messages.redueDeferred(workspaceId, {
      reasonsStartingWith: [JOURNEY_PAUSED_REASON],
      now: clock.now(),
      journeyId: id,
    });
  return updated;
}

/** Archived: nothing enters; the caller ends the running instances (see JourneyEngine.exitAll). */
export async function archiveJourney(
  storage: Storage,
  clock: Clock,
  workspaceId: string,
  id: string,
): Promise<Journey> {
  return storage.transaction(async (tx) => {
    const journey = await lockJourney(tx, workspaceId, id);
    const updated: Journey = { ...journey, status: 'archived', updatedAt: clock.now() };
    await tx.journeys.update(updated);
    return updated;
  });
}

/**
 * `mops journeys apply`: creates the journey named in the file, or replaces the draft of the one with
 * that name; publishing refuses a draft still unfinished, as the API does. All or nothing: a publish
 * refused leaves no draft created or replaced, its refusal naming the fields under `fieldPrefix`.
 */
export async function applyJourney(
  storage: Storage,
  clock: Clock,
  input: { workspaceId: string; definition: JourneyDraft; publish: boolean; fieldPrefix?: string },
): Promise<{ journey: Journey; created: boolean; version?: number }> {
  return storage.transaction(async (tx) => {
    // Taken first, as publishJourney takes it: the same order, no deadlock with a publish from the API.
    if (input.publish) await tx.segments.lockDefinitions(input.workspaceId);
    const existing = (await tx.journeys.list(input.workspaceId)).find(
      (j) => j.name === input.definition.name && j.status !== 'archived',
    );
    const journey = existing
      ? await replaceDraft(tx, clock, {
          workspaceId: input.workspaceId,
          id: existing.id,
          definition: input.definition,
        })
      : await createJourney(tx, clock, input);
    if (!input.publish) return { journey, created: !existing };
    const published = await publishChecked(tx, clock, input.workspaceId, journey.id, input.fieldPrefix);
    return { journey: published.journey, created: !existing, version: published.version.version };
  });
}

/** What a journey runs as: its current version, else (never published) its draft as far as it parses. */
export async function currentDefinition(
  storage: StorageReader,
  journey: Journey,
): Promise<Pick<JourneyDefinition, 'start' | 'steps' | 'goal'>> {
  const version =
    journey.currentVersion === null
      ? undefined
      : await storage.journeys.findVersion(journey.id, journey.currentVersion);
  if (version) return version.definition;
  const draft = JourneyDefinition.safeParse(journey.draft);
  return draft.success ? draft.data : { start: '', steps: [] };
}
