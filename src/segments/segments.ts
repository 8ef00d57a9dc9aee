import { isDeepStrictEqual } from 'node:util';
import { AppError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { IssueDetail } from '../core/input-issues.js';
import { segmentsNamed } from '../core/journey-definition.js';
import {
  ruleProblem,
  type Segment,
  type SegmentChange,
  type SegmentCondition,
  type SegmentInput,
} from '../core/segment-definition.js';
import { definitionsInForce } from '../journeys/definitions-in-force.js';
import type { Storage, StorageReader, StorageTx } from '../storage/storage.js';
import { previewRule, type SegmentPreview } from './backfill.js';
import { dependencyOrder, ruleNeeds, SegmentCycleError } from './rule-needs.js';

export { runPendingBackfills, type SegmentPreview } from './backfill.js';
export { redecideProfileOfEvent, SEGMENTS_CURSOR } from './live-segments.js';
export { importStaticList, type StaticListSummary } from './static-list.js';

export interface SegmentWithCount extends Segment {
  members: number;
}

export async function getSegment(
  storage: Storage,
  workspaceId: string,
  id: string,
): Promise<SegmentWithCount> {
  const segment = await storage.segments.find(workspaceId, id);
  if (!segment) throw new AppError('not_found', `segment ${id} does not exist`);
  return { ...segment, members: await storage.segments.countMembers(id) };
}

export async function listSegments(storage: Storage, workspaceId: string): Promise<SegmentWithCount[]> {
  const segments = await storage.segments.list(workspaceId);
  return Promise.all(
    segments.map(async (segment) => ({
      ...segment,
      members: await storage.segments.countMembers(segment.id),
    })),
  );
}

/**
 * Saves a new segment. A live one starts `backfilling`: the backfill worker evaluates every existing
 * profile, while new events already keep it current.
 */
export async function createSegment(
  storage: Storage,
  options: { workspaceId: string; input: SegmentInput; now: number },
): Promise<Segment> {
  const { workspaceId, input, now } = options;
  const id = newId('seg', now);
  const segment: Segment = {
    id,
    workspaceId,
    name: input.name,
    description: input.description ?? null,
    kind: input.kind,
    rule: input.rule ?? null,
    version: 1,
    status: input.kind === 'live' ? 'backfilling' : 'ready',
    backfill: {
      total: 0,
      done: 0,
      startedAt: input.kind === 'live' ? now : null,
      finishedAt: null,
      failure: null,
    },
    readySince: input.kind === 'live' ? null : now,
    createdAt: now,
    updatedAt: now,
  };
  await storage.transaction(async (tx) => {
    await tx.segments.lockDefinitions(workspaceId);
    if (input.rule) await checkReferences(tx, workspaceId, id, input.rule);
    await tx.segments.create(segment);
  });
  return segment;
}

/** Changes a segment; a changed rule is a new version, backfilled again from the first profile. */
export async function updateSegment(
  storage: Storage,
  options: { workspaceId: string; id: string; input: SegmentChange; now: number },
): Promise<Segment> {
  const { workspaceId, id, input, now } = options;
  return storage.transaction(async (tx) => {
    // Checked and written under the lock: an edit beside it cannot close a circle this one checked.
    await tx.segments.lockDefinitions(workspaceId);
    const current = await tx.segments.find(workspaceId, id);
    if (!current) throw new AppError('not_found', `segment ${id} does not exist`);
    if (input.kind !== undefined && input.kind !== current.kind)
      throw new AppError('invalid_input', `a ${current.kind} segment cannot become ${input.kind}`, {
        field: 'kind',
      });
    const problem = ruleProblem(current.kind, input.rule);
    if (problem) throw new AppError('invalid_input', `rule: ${problem}`, { field: 'rule' });
    if (input.rule) await checkReferences(tx, workspaceId, id, input.rule);
    // Compared as values (PostgreSQL's jsonb hands back the keys in an order of its own), and as what
    // they mean: the console saves a lone condition inside `all`, which is no new rule to backfill.
    const isRuleChanged = !isDeepStrictEqual(
      input.rule ? unwrapped(input.rule) : null,
      current.rule ? unwrapped(current.rule) : null,
    );
    await tx.segments.update({
      id,
      at: now,
      name: input.name,
      ...(input.description === undefined ? {} : { description: input.description }),
      ...(isRuleChanged ? { rule: input.rule ?? null } : {}),
    });
    const updated = await tx.segments.find(workspaceId, id);
    if (!updated) throw new AppError('not_found', `segment ${id} does not exist`);
    return updated;
  });
}

/**
 * Backfills again, as new versions, the live segments whose members a settings change moves without
 * any event: those asking about a topic whose default changed (consent reads it for whoever chose
 * nothing), or about a score model whose rules or cap changed (scores are computed with them). Runs
 * in the transaction that saves the settings; the segments asking about these are backfilled after
 * them (see backfill.ts). How many were.
 */
export async function backfillSegmentsSettingsMove(
  tx: StorageTx,
  options: { workspaceId: string; topics: ReadonlySet<string>; models: ReadonlySet<string>; at: number },
): Promise<number> {
  const { workspaceId, topics, models, at } = options;
  if (topics.size === 0 && models.size === 0) return 0;
  let count = 0;
  for (const segment of await tx.segments.listLive(workspaceId)) {
    const isMoved =
      segment.rule !== null &&
      leaves(segment.rule).some(
        (condition) =>
          (condition.type === 'subscription' && topics.has(condition.topic)) ||
          (condition.type === 'score' && models.has(condition.model)),
      );
    if (!isMoved) continue;
    await tx.segments.update({ id: segment.id, at, isNewVersion: true });
    count++;
  }
  return count;
}

export async function deleteSegment(storage: Storage, workspaceId: string, id: string): Promise<void> {
  const isDeleted = await storage.transaction(async (tx) => {
    await tx.profiles.holdOffMerges(); // before the member rows it deletes, which a merge may move
    // Under the lock, no segment can come to ask about this one between the check and the delete.
    await tx.segments.lockDefinitions(workspaceId);
    // One that does not exist is not found, whatever a draft names.
    const segment = await tx.segments.find(workspaceId, id);
    if (!segment) return false;
    await checkUnused(tx, workspaceId, segment);
    return tx.segments.delete(workspaceId, id);
  });
  if (!isDeleted) throw new AppError('not_found', `segment ${id} does not exist`);
}

/** Refuses to delete a segment live segments or journeys ask about. */
async function checkUnused(reader: StorageReader, workspaceId: string, segment: Segment): Promise<void> {
  const { id } = segment;
  const segments = (await reader.segments.listLive(workspaceId)).filter(
    (segment) => segment.id !== id && segment.rule && ruleNeeds([segment.rule], 0).segments.has(id),
  );
  // A journey entering on the segment would never fire again, and a branch on it would always be false.
  const journeys: string[] = [];
  for (const journey of await reader.journeys.list(workspaceId)) {
    if (journey.status === 'archived') continue;
    const definitions = [journey.draft, ...(await definitionsInForce(reader, journey))];
    if (definitions.some((definition) => segmentsNamed(definition).has(id))) journeys.push(journey.name);
  }
  // Named as people know them: by name, quoted, since names have spaces.
  const named = (kind: string, names: string[]) =>
    names.length === 0
      ? []
      : [`${kind}${names.length > 1 ? 's' : ''} ${names.map((name) => `"${name}"`).join(', ')}`];
  const users = [
    ...named(
      'segment',
      segments.map((asking) => asking.name),
    ),
    ...named('journey', journeys),
  ];
  if (users.length > 0)
    throw new AppError(
      'conflict',
      `the segment "${segment.name}" is used by the ${users.join(' and the ')}: change those first`,
      {
        issue: inUse(
          segment.name,
          segments.map((asking) => asking.name),
          journeys,
        ),
      },
    );
}

/** The refusal to delete a segment in use, naming its users as the message lists them, each kind apart. */
function inUse(segment: string, segments: readonly string[], journeys: readonly string[]): IssueDetail {
  const [hasSegments, hasJourneys] = [segments.length > 0, journeys.length > 0];
  const quotedNames = (names: readonly string[]) => names.map((name) => `"${name}"`).join(', ');
  return {
    code: 'refused',
    reason: !hasSegments
      ? 'segment_used_by_journeys'
      : hasJourneys
        ? 'segment_used_by_segments_and_journeys'
        : 'segment_used_by_segments',
    params: {
      segment,
      ...(hasSegments ? { segments: quotedNames(segments) } : {}),
      ...(hasJourneys ? { journeys: quotedNames(journeys) } : {}),
    },
  };
}

export async function previewSegment(
  storage: Storage,
  options: { workspaceId: string; rule: SegmentCondition; now: number; sampleSize?: number },
): Promise<SegmentPreview> {
  await checkReferences(storage, options.workspaceId, undefined, options.rule);
  return previewRule(storage, options);
}

/** Segments the rule asks about must exist in the workspace, and no segment may end up asking about itself. */
async function checkReferences(
  storage: StorageReader,
  workspaceId: string,
  id: string | undefined,
  rule: SegmentCondition,
): Promise<void> {
  const [segments, settings] = await Promise.all([
    storage.segments.list(workspaceId),
    storage.settings.get(workspaceId),
  ]);
  // A model or stage that does not exist would match nobody, silently.
  const models = new Set(settings.scoring.models.map((model) => model.id));
  const stages = new Set(settings.lifecycle?.stages ?? []);
  const topics = new Set(settings.topics.map((topic) => topic.id));
  const known = new Set(segments.map((segment) => segment.id));
  const refuse = (field: string, message: string) => {
    throw new AppError('invalid_input', `${field}: ${message}`, { field });
  };
  for (const { condition, path } of leafPaths(rule)) {
    if (condition.type === 'subscription' && !topics.has(condition.topic))
      refuse(`${path}.topic`, `no topic ${condition.topic} in the workspace's settings`);
    if (condition.type === 'score' && !models.has(condition.model))
      refuse(`${path}.model`, `no score model ${condition.model} in the workspace's settings`);
    if (condition.type === 'lifecycle') {
      const unknown = condition.stages.findIndex((stage) => !stages.has(stage));
      if (unknown !== -1)
        refuse(
          `${path}.stages.${unknown}`,
          `no lifecycle stage ${condition.stages[unknown]} in the workspace's settings`,
        );
    }
    if (condition.type === 'segment' && !known.has(condition.segment) && condition.segment !== id)
      refuse(`${path}.segment`, `segment ${condition.segment} does not exist`);
  }
  if (id === undefined) return;
  const withThis = [...segments.filter((segment) => segment.id !== id), { id, rule }];
  try {
    dependencyOrder(withThis);
  } catch (error) {
    if (!(error instanceof SegmentCycleError)) throw error;
    // Named as people know them; the ids tell apart two segments of the same name.
    const names = new Map(segments.map((segment) => [segment.id, segment.name]));
    // From the segment being saved, round the circle back to it.
    const members = error.cycle.slice(0, -1);
    const from = Math.max(0, members.indexOf(id));
    const round = [...members.slice(from), ...members.slice(0, from), members[from] as string];
    const circle = round.map((member) => `${names.get(member) ?? member} (${member})`);
    throw new AppError('invalid_input', `rule: segments would ask about each other: ${circle.join(' → ')}`, {
      field: 'rule',
      issue: { code: 'refused', reason: 'segments_circular', params: { circle: circle.join(' → ') } },
    });
  }
}

/** The rule without groups of one (`{all: [x]}` is `x`), for telling whether it changed. */
function unwrapped(rule: SegmentCondition): SegmentCondition {
  if ('all' in rule)
    return rule.all.length === 1
      ? unwrapped(rule.all[0] as SegmentCondition)
      : { all: rule.all.map(unwrapped) };
  if ('any' in rule)
    return rule.any.length === 1
      ? unwrapped(rule.any[0] as SegmentCondition)
      : { any: rule.any.map(unwrapped) };
  if ('not' in rule) return { not: unwrapped(rule.not) };
  return rule;
}

type LeafCondition = Exclude<SegmentCondition, { all: unknown } | { any: unknown } | { not: unknown }>;

/** The conditions of a rule under its all/any/not. */
export function leaves(rule: SegmentCondition): LeafCondition[] {
  return leafPaths(rule).map(({ condition }) => condition);
}

/** Each condition of a rule with where it stands in it (`rule.all.1`), for naming it in an error. */
export function leafPaths(
  rule: SegmentCondition,
  path = 'rule',
): Array<{ condition: LeafCondition; path: string }> {
  if ('all' in rule) return rule.all.flatMap((part, index) => leafPaths(part, `${path}.all.${index}`));
  if ('any' in rule) return rule.any.flatMap((part, index) => leafPaths(part, `${path}.any.${index}`));
  if ('not' in rule) return leafPaths(rule.not, `${path}.not`);
  return [{ condition: rule, path }];
}
