import { afterEach, describe, expect, it } from 'vitest';
import type { LifecycleSettings, StageRule } from '../core/lifecycle.js';
import type { ScoreModel } from '../core/score-model.js';
import { BackendAgreement } from '../test-support/backend-agreement.js';
import { type JourneyWorld, startJourneyWorld } from '../test-support/journey-world.js';
import { SeededRandom, seedsToRun } from '../test-support/seeded-random.js';
import { BACKENDS, type Backend } from '../test-support/world.js';
import { recycleProfile } from './hand-offs.js';
import { decayedPoints } from './score.js';
import { replayNextPage, requestScoreReplay } from './score-replay.js';
import { accountScores, contactScoresTogether, profileIntent } from './scoring.js';

/**
 * A differential test of scoring: random models and lifecycles, random streams of Segment calls in
 * random batches with time passing between them, and after each settled step the three ways Mops
 * tells a score must agree — the score the scoring consumer stored, the ledger as the intent API
 * explains it (decayed to now), and (at the end) a replay of the same rules from scratch — with
 * accounts summing their contacts as documented and stages moving only forward unless recycled.
 * Every run is fixed by its seed; a failure prints the seed, the settings and the steps. A seed run
 * on both backends must also leave the same scores, stages and ledgers on each, step by step.
 */

/**
 * The seeds each backend runs, with those that found defects (104: an account's average rounded with
 * the order of its contacts; 229: a once-only award lost to an event sent late): a step settles some
 * five times slower on PostgreSQL here, so it runs fewer. `MOPS_SCORING_SEEDS=1-300` runs
 * others on both (`-t 'on sqlite'` for one).
 */
const SEEDS: Record<Backend, number[]> = seedsFrom(process.env.MOPS_SCORING_SEEDS) ?? {
  sqlite: [1, 2, 3, 4, 5, 6, 104, 229],
  postgres: [1, 104, 229],
};

function seedsFrom(range: string | undefined): Record<Backend, number[]> | undefined {
  if (!range) return undefined;
  const seeds = seedsToRun(range);
  return { sqlite: seeds, postgres: seeds };
}

const PEOPLE = 10;
/** Half a hundredth, and float noise: what rounding a line of an explanation may move it by. */
const ROUNDING = 0.005 + 1e-9;
const STEPS = 36;
const GROUPS = ['g0', 'g1', 'g2'];
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const STAGES = ['subscriber', 'lead', 'mql', 'sql', 'customer'];
const RECYCLE_REASON = 'differential: sales rejected';
const EVENTS = ['Pricing Viewed', 'Demo Requested', 'Careers Viewed', 'Webinar Joined', 'Signed Up'];
const PLANS = ['free', 'pro', 'team'];
/** A replayed copy of each model is saved under its id with this suffix. */
const REPLAYED = '-replayed';

type Condition = { type: 'trait' | 'account_trait'; path: string; op: 'eq' | 'gte'; value: string | number };

function randomPoints(random: SeededRandom): number {
  const whole = random.int(-25, 40) || 5;
  return random.chance(0.2) ? whole + 0.5 : whole;
}

function randomFitCondition(random: SeededRandom): Condition {
  switch (random.int(0, 3)) {
    case 0:
      return { type: 'trait', path: 'country', op: 'eq', value: random.pick(['IT', 'FR', 'DE']) };
    case 1:
      return { type: 'trait', path: 'employees', op: 'gte', value: random.int(10, 400) };
    case 2:
      return { type: 'account_trait', path: 'industry', op: 'eq', value: random.pick(['retail', 'media']) };
    default:
      return { type: 'account_trait', path: 'size', op: 'gte', value: random.int(20, 500) };
  }
}

function randomModel(random: SeededRandom, id: string): ScoreModel {
  const rules: ScoreModel['rules'] = [];
  const eventRules = random.int(2, 5);
  for (let index = 0; index < eventRules; index++) {
    const where = random.chance(0.5)
      ? []
      : [
          random.chance(0.5)
            ? { path: 'plan', op: 'eq' as const, value: random.pick(PLANS) }
            : { path: 'seats', op: 'gte' as const, value: random.int(5, 40) },
        ];
    rules.push({
      id: `e${index}`,
      kind: 'event',
      event: random.pick(EVENTS),
      where,
      points: randomPoints(random),
      repeat: random.chance(0.25) ? 'once' : 'every_time',
      ...(random.chance(0.4) ? { cap: random.int(5, 80) } : {}),
      ...(random.chance(0.5) ? { halfLife: random.pick(['1h', '6h', '1d', '3d', '7d']) } : {}),
    });
  }
  const fitRules = random.int(0, 2);
  for (let index = 0; index < fitRules; index++)
    rules.push({
      id: `f${index}`,
      kind: 'fit',
      when: randomFitCondition(random),
      points: randomPoints(random),
    });
  return {
    id,
    name: `Model ${id}`,
    rules,
    ...(random.chance(0.35) ? { cap: random.int(30, 150) } : {}),
  };
}

function randomLifecycle(random: SeededRandom, models: readonly ScoreModel[]): LifecycleSettings {
  const [first, second] = models as [ScoreModel, ScoreModel | undefined];
  // A threshold above its model's cap is refused on saving: no score would reach it.
  const threshold = (model: ScoreModel, low: number, high: number) =>
    Math.min(random.int(low, high), model.cap ?? Number.POSITIVE_INFINITY);
  const mql: StageRule = {
    kind: 'score',
    to: 'mql',
    model: first.id,
    atLeast: threshold(first, 10, 60),
    ...(second && random.chance(0.4)
      ? { and: [{ model: second.id, atLeast: threshold(second, 5, 40) }] }
      : {}),
  };
  const rules: StageRule[] = [
    { kind: 'event', to: 'lead', event: 'Signed Up', where: [] },
    mql,
    { kind: 'event', to: 'sql', event: 'Sales Accepted', where: [] },
  ];
  if (random.chance(0.3))
    rules.push({ kind: 'score', to: 'customer', model: first.id, atLeast: threshold(first, 60, 120) });
  return { stages: STAGES, rules, recycleTo: 'lead' };
}

/** The people of a run as identity resolution should see them: which ids name one person, in which accounts. */
class People {
  readonly #parent = new Map<string, string>();
  /** Per person (by its root key), the groups it joined and the events it did. */
  readonly #groups = new Map<string, Set<string>>();
  readonly #events = new Map<string, Set<string>>();
  readonly #recycled = new Set<string>();
  /** People made of two profiles that both existed, joined by an alias or a sign-in. */
  readonly #merged = new Set<string>();
  /** People who sent an event stamped before they sent it (a late flush). */
  readonly #late = new Set<string>();
  /** People with a profile: some call named one of their keys as its subject. */
  readonly #profiled = new Set<string>();
  /** Every identity key a call named, `user:u3` or `anonymous:v3`. */
  readonly keys = new Set<string>();

  root(key: string): string {
    let root = key;
    while (this.#parent.has(root)) root = this.#parent.get(root) as string;
    return root;
  }

  /** A call's subject: the key names a profile from now on. */
  see(key: string): void {
    this.keys.add(key);
    this.#profiled.add(this.root(key));
  }

  /** Two keys name one person from now on; true when that joined two profiles. */
  join(one: string, other: string): boolean {
    this.keys.add(one);
    this.keys.add(other);
    const [a, b] = [this.root(one), this.root(other)];
    if (a === b) return false;
    this.#parent.set(b, a);
    const union = <T>(map: Map<string, Set<T>>) =>
      map.set(a, new Set([...(map.get(a) ?? []), ...(map.get(b) ?? [])]));
    union(this.#groups);
    union(this.#events);
    const isMerge = this.#profiled.has(a) && this.#profiled.has(b);
    for (const flags of [this.#recycled, this.#merged, this.#late, this.#profiled])
      if (flags.has(b)) flags.add(a);
    if (isMerge) this.#merged.add(a);
    return isMerge;
  }

  joinGroup(key: string, group: string): void {
    const root = this.root(key);
    this.#groups.set(root, new Set([...(this.#groups.get(root) ?? []), group]));
  }

  did(key: string, event: string, options: { isLate: boolean }): void {
    const root = this.root(key);
    this.#events.set(root, new Set([...(this.#events.get(root) ?? []), event]));
    if (options.isLate) this.#late.add(root);
  }

  recycle(key: string): void {
    this.#recycled.add(this.root(key));
  }

  /** Each person once, with every key naming them. */
  persons(): Person[] {
    const byRoot = new Map<string, string[]>();
    for (const key of this.keys) byRoot.set(this.root(key), [...(byRoot.get(this.root(key)) ?? []), key]);
    return [...byRoot]
      .filter(([root]) => this.#profiled.has(root))
      .map(([root, keys]) => ({
        keys,
        groups: this.#groups.get(root) ?? new Set(),
        events: this.#events.get(root) ?? new Set(),
        isRecycled: this.#recycled.has(root),
        isMerged: this.#merged.has(root),
        hasLateEvents: this.#late.has(root),
      }));
  }
}

interface Person {
  keys: string[];
  groups: Set<string>;
  events: Set<string>;
  isRecycled: boolean;
  isMerged: boolean;
  hasLateEvents: boolean;
}

const keyOf = (kind: 'user' | 'anonymous', value: string) => `${kind}:${value}`;

/** Whether a fit condition holds, as the docs say values compare (text whatever its case, numbers in order). */
function holds(
  condition: Condition,
  traits: Record<string, unknown>,
  accounts: Array<Record<string, unknown>>,
) {
  const matches = (facts: Record<string, unknown>) => {
    const value = facts[condition.path];
    if (value === undefined || value === null) return false;
    return condition.op === 'eq'
      ? String(value).toLowerCase() === String(condition.value).toLowerCase()
      : Number(value) >= Number(condition.value);
  };
  return condition.type === 'trait' ? matches(traits) : accounts.some(matches);
}

interface Run {
  world: JourneyWorld;
  random: SeededRandom;
  people: People;
  models: ScoreModel[];
  lifecycle: LifecycleSettings;
  /** What was done, step by step, for the failure message. */
  log: string[];
  /** Profiles scored since the last check (by identity key), whose stored score is of now. */
  scoredKeys: Set<string>;
  /** Groups whose traits a call changed since the last check: their contacts were scored too. */
  scoredGroups: Set<string>;
}

type Call = Record<string, unknown>;

/** A random call by person `index`, as a visitor (anonymous id) or a user, noting what it does. */
function randomCall(run: Run, now: number): Call {
  const { random, people } = run;
  const index = random.int(0, PEOPLE - 1);
  const user = `u${index}`;
  const visitor = `v${index}`;
  const asVisitor = random.chance(0.3);
  const ids: Call = asVisitor ? { anonymousId: visitor } : { userId: user };
  const key = asVisitor ? keyOf('anonymous', visitor) : keyOf('user', user);
  const kind = random.next();
  if (kind >= 0.95) {
    const other = `u${(index + random.int(1, PEOPLE - 1)) % PEOPLE}`;
    people.see(keyOf('user', user));
    // A merge scores the survivor; an alias of two ids already one person scores nothing.
    if (people.join(keyOf('user', user), keyOf('user', other))) run.scoredKeys.add(keyOf('user', user));
    return { type: 'alias', userId: user, previousId: other };
  }
  people.see(key);
  run.scoredKeys.add(key);
  if (kind < 0.6) {
    const event = random.chance(0.08) ? 'Sales Accepted' : random.pick(EVENTS);
    const properties = { plan: random.pick(PLANS), seats: random.int(1, 50) };
    // Clients flushing late (a phone offline) send events stamped before they arrive.
    const isLate = random.chance(0.15);
    people.did(key, event, { isLate });
    const timestamp = isLate ? { timestamp: new Date(now - random.int(1, 72) * HOUR).toISOString() } : {};
    return { type: 'track', ...ids, event, properties, ...timestamp };
  }
  if (kind < 0.78) {
    const traits: Record<string, unknown> = {};
    if (random.chance(0.6)) traits.country = random.pick(['IT', 'FR', 'DE', 'it']);
    if (random.chance(0.5)) traits.employees = random.int(1, 500);
    // Signing in: the visitor's profile joins the user's.
    const signsIn = !asVisitor && random.chance(0.4);
    if (signsIn) people.join(key, keyOf('anonymous', visitor));
    return { type: 'identify', ...ids, ...(signsIn ? { anonymousId: visitor } : {}), traits };
  }
  const group = random.pick(GROUPS);
  const traits: Record<string, unknown> = {};
  if (random.chance(0.6)) traits.industry = random.pick(['retail', 'media', 'Retail']);
  if (random.chance(0.5)) traits.size = random.int(5, 600);
  people.joinGroup(key, group);
  if (Object.keys(traits).length > 0) run.scoredGroups.add(group);
  return { type: 'group', ...ids, groupId: group, traits };
}

/** The live profile an identity key names now, if any. */
async function profileOfKey(world: JourneyWorld, key: string): Promise<string | undefined> {
  const [kind, value] = key.split(':') as ['user' | 'anonymous', string];
  const [identity] = await world.storage.profiles.findIdentities(world.workspaceId, [{ kind, value }]);
  return identity?.profileId;
}

/** Disagreements found, each a line; empty when all agree. */
type Findings = string[];

/** Each seed's scores, stages and ledgers, step by step, as the first backend left them. */
const agreement = new BackendAgreement();

/**
 * Every person's stored scores, stage and ledger, named as both backends name them (by their keys:
 * profile ids are random, event ids may differ).
 */
async function observed(run: Run): Promise<string> {
  const { world } = run;
  const lines: string[] = [];
  for (const person of run.people.persons()) {
    const profileId = await profileOfKey(world, person.keys[0] as string);
    if (!profileId) continue;
    const [scores, stages, ledger] = await Promise.all([
      world.storage.scoring.scores([profileId]),
      world.storage.scoring.stages([profileId]),
      world.storage.scoring.ledgerOfProfile(profileId),
    ]);
    const awards = ledger
      .map((award) => `${award.model}/${award.rule}@${award.at}=${award.points}`)
      .sort()
      .join(' ');
    // Models in the order of their ids: PostgreSQL keeps a JSON object's keys in an order of its own.
    // Without the time a score was stored: a batch stores the scores it finds changed, and
    // PostgreSQL may read a step's calls in other batches than SQLite (a transaction still open hides
    // what follows it), so when a score was last stored may differ where the score does not (seen
    // once in 84 seeds).
    const byModel = Object.entries(scores.get(profileId) ?? {})
      .map(([model, { score, modelRevision }]) => [model, score, modelRevision])
      .sort(([a], [b]) => String(a).localeCompare(String(b)));
    lines.push(
      `${[...person.keys].sort().join('+')}: ${JSON.stringify(byModel)} ${stages.get(profileId) ?? '-'} [${awards}]`,
    );
  }
  return lines.sort().join('\n');
}

/** After a settled step: every profile scored in it stores the score its ledger explains now. */
async function checkScoredProfiles(run: Run): Promise<Findings> {
  const { world } = run;
  const findings: Findings = [];
  const profileIds = new Set<string>();
  for (const key of run.scoredKeys) {
    const id = await profileOfKey(world, key);
    if (id) profileIds.add(id);
  }
  for (const group of run.scoredGroups) {
    const [account] = await world.storage.profiles.findAccountsByGroupIds(world.workspaceId, [group]);
    if (account)
      for (const id of await world.storage.profiles.listAccountMembers(world.workspaceId, account.id))
        profileIds.add(id);
  }
  run.scoredKeys.clear();
  run.scoredGroups.clear();
  const now = world.clock.now();
  const stored = await world.storage.scoring.scores([...profileIds]);
  for (const profileId of profileIds) {
    const intent = await profileIntent(world.storage, { workspaceId: world.workspaceId, profileId, now });
    for (const explained of intent.scores) {
      const storedScore = stored.get(profileId)?.[explained.model]?.score;
      if (storedScore !== explained.score)
        findings.push(
          `${profileId} ${explained.model}: stored ${storedScore}, the ledger explains ${explained.score} now`,
        );
    }
  }
  return findings;
}

/** Every live profile, each once, with the person it is. */
async function liveProfiles(run: Run): Promise<{ profiles: Map<string, Person>; findings: Findings }> {
  const findings: Findings = [];
  const profiles = new Map<string, Person>();
  for (const person of run.people.persons()) {
    const ids = new Set<string>();
    for (const key of person.keys) {
      const id = await profileOfKey(run.world, key);
      if (id) ids.add(id);
    }
    if (ids.size !== 1)
      findings.push(`${person.keys.join(', ')} name ${ids.size} profiles: ${[...ids].join(', ')}`);
    for (const id of ids) profiles.set(id, person);
  }
  return { profiles, findings };
}

/** The end: ledger explanations, replayed copies, accounts and stages, for every profile. */
async function checkEverything(run: Run): Promise<Findings> {
  const { world, models, lifecycle } = run;
  const { workspaceId } = world;
  const now = world.clock.now();
  const { profiles, findings } = await liveProfiles(run);
  const ids = [...profiles.keys()];
  const [stored, records, accounts, stages] = await Promise.all([
    world.storage.scoring.scores(ids),
    world.storage.profiles.findProfilesByIds(ids),
    world.storage.segments.accountTraits(ids),
    world.storage.scoring.stages(ids),
  ]);
  const traitsOf = new Map(records.map((profile) => [profile.id, profile.traits]));
  const scoreOf = new Map<string, Map<string, number>>();
  for (const [profileId, person] of profiles) {
    const intent = await profileIntent(world.storage, { workspaceId, profileId, now });
    const ledger = await world.storage.scoring.ledgerOfProfile(profileId);
    const scores = new Map(intent.scores.map((explained) => [explained.model, explained.score]));
    scoreOf.set(profileId, scores);
    const where = `${profileId} (${person.keys.join(', ')})`;
    for (const model of models) {
      const explained = intent.scores.find((score) => score.model === model.id);
      if (!explained) {
        findings.push(`${where}: no score under ${model.id}`);
        continue;
      }
      // The live score: the final touch scored every profile now.
      const storedScore = stored.get(profileId)?.[model.id]?.score;
      if (storedScore !== explained.score)
        findings.push(`${where} ${model.id}: stored ${storedScore}, the ledger explains ${explained.score}`);
      // The explanation's lines add up to the score (each line and the score rounded to the hundredth).
      const lines = [
        ...explained.awards.map((award) => award.current),
        ...explained.fit.map((fit) => fit.points),
        explained.modelCap?.points ?? 0,
      ];
      const sum = lines.reduce((total, line) => total + line, 0);
      if (Math.abs(sum - explained.score) > ROUNDING * lines.length)
        findings.push(`${where} ${model.id}: its lines add up to ${sum}, not its score ${explained.score}`);
      if (model.cap !== undefined && Math.abs(explained.score) > model.cap)
        findings.push(`${where} ${model.id}: score ${explained.score} past the model’s cap ${model.cap}`);
      // Each award is one of the ledger's, with what decay leaves of it (less where a cap holds it).
      const held = new Map<string, { points: number; awards: number }>();
      for (const award of explained.awards) {
        const rule = model.rules.find((candidate) => candidate.id === award.rule);
        const entry = ledger.find(
          (candidate) =>
            candidate.model === model.id &&
            candidate.rule === award.rule &&
            candidate.eventId === award.eventId,
        );
        if (!entry || rule?.kind !== 'event') {
          findings.push(`${where} ${model.id}: award ${award.rule}/${award.eventId} is not in the ledger`);
          continue;
        }
        const decayed = decayedPoints(entry, rule, now);
        // Only the rule's cap holds an award back (the model's cap shows as a line of its own).
        if (
          Math.abs(award.current) > Math.abs(decayed) + ROUNDING ||
          award.current * decayed < 0 ||
          (rule.cap === undefined && Math.abs(award.current - decayed) > ROUNDING)
        )
          findings.push(
            `${where} ${model.id}: ${award.rule}/${award.eventId} counts ${award.current} of ${decayed}`,
          );
        // A once-only rule counts its earliest event's award, whenever that event arrived.
        const [first] = ledger
          .filter((candidate) => candidate.model === model.id && candidate.rule === rule.id)
          .sort((a, b) => a.at - b.at || a.eventId - b.eventId);
        if (rule.repeat === 'once' && first?.eventId !== award.eventId)
          findings.push(
            `${where} ${model.id}: once-only ${rule.id} counts event ${award.eventId}, not the earliest, ${first?.eventId}`,
          );
        const sums = held.get(rule.id) ?? { points: 0, awards: 0 };
        held.set(rule.id, { points: sums.points + Math.abs(award.current), awards: sums.awards + 1 });
      }
      for (const rule of model.rules) {
        if (rule.kind !== 'event') continue;
        const sums = held.get(rule.id);
        if (sums && rule.cap !== undefined && sums.points > rule.cap + ROUNDING * sums.awards)
          findings.push(
            `${where} ${model.id}: rule ${rule.id} holds ${sums.points}, past its cap ${rule.cap}`,
          );
        if (sums && rule.repeat === 'once' && sums.awards > 1)
          findings.push(`${where} ${model.id}: once-only rule ${rule.id} counts ${sums.awards} awards`);
      }
      const fitting = model.rules
        .filter(
          (rule) =>
            rule.kind === 'fit' &&
            holds(rule.when as Condition, traitsOf.get(profileId) ?? {}, accounts.get(profileId) ?? []),
        )
        .map((rule) => rule.id);
      const explainedFit = explained.fit.map((fit) => fit.rule);
      if (JSON.stringify(fitting) !== JSON.stringify(explainedFit))
        findings.push(`${where} ${model.id}: fit rules holding ${fitting}, explained ${explainedFit}`);
      // The same rules applied to the whole log from scratch come to the same score — but for a rule
      // with a cap and a half-life, where a person's awards were not all earned in order by one
      // profile (docs/segments.md, "Score models": a merge joins ledgers each capped on its own, and
      // an event arriving after later-stamped ones was capped against those).
      const hasCappedFading = model.rules.some(
        (rule) => rule.kind === 'event' && rule.cap !== undefined && rule.halfLife !== undefined,
      );
      if (hasCappedFading && (person.isMerged || person.hasLateEvents)) continue;
      const replayed = intent.scores.find((score) => score.model === `${model.id}${REPLAYED}`);
      if (replayed?.score !== explained.score)
        findings.push(
          `${where} ${model.id}: ${explained.score} live, ${replayed?.score} replayed from scratch` +
            ` (live awards ${JSON.stringify(explained.awards.map(({ rule, eventId, at, points, current }) => [rule, eventId, at, points, current]))},` +
            ` replayed ${JSON.stringify(replayed?.awards.map(({ rule, eventId, at, points, current }) => [rule, eventId, at, points, current]))})`,
        );
      const storedReplayed = stored.get(profileId)?.[`${model.id}${REPLAYED}`]?.score;
      if (storedReplayed !== storedScore)
        findings.push(`${where} ${model.id}: stored ${storedScore} live, ${storedReplayed} replayed`);
    }

    // Stages: never back without a recycle; and where nothing was recycled, at least where the
    // rules take the scores and events of now.
    for (const change of intent.stageHistory) {
      const [from, to] = [STAGES.indexOf(change.from ?? ''), STAGES.indexOf(change.to)];
      if (to < from && change.reason !== RECYCLE_REASON)
        findings.push(`${where}: moved back from ${change.from} to ${change.to} (${change.reason})`);
    }
    const stage = stages.get(profileId);
    const last = intent.stageHistory.at(-1);
    if (!person.isRecycled) {
      let due = -1;
      for (const rule of lifecycle.rules) {
        const isMet =
          rule.kind === 'event'
            ? person.events.has(rule.event)
            : [{ model: rule.model, atLeast: rule.atLeast }, ...(rule.and ?? [])].every(
                (threshold) => (scores.get(threshold.model) ?? Number.NEGATIVE_INFINITY) >= threshold.atLeast,
              );
        if (isMet) due = Math.max(due, STAGES.indexOf(rule.to));
      }
      if (STAGES.indexOf(stage ?? '') < due)
        findings.push(`${where}: at ${stage}, though the rules take it to ${STAGES[due]}`);
    }
    if (stage !== undefined && !intent.stageHistory.some((change) => change.to === stage))
      findings.push(`${where}: at ${stage}, a stage its history never moved it to (last ${last?.to})`);
  }

  // Accounts: their contacts as the calls made them, scored together as documented (total, mean, max).
  for (const group of GROUPS) {
    const [account] = await world.storage.profiles.findAccountsByGroupIds(workspaceId, [group]);
    const expected = [...profiles].filter(([, person]) => person.groups.has(group)).map(([id]) => id);
    if (!account) {
      if (expected.length > 0) findings.push(`account ${group} does not exist, with contacts ${expected}`);
      continue;
    }
    const members = (await world.storage.profiles.listAccountMembers(workspaceId, account.id)).filter((id) =>
      profiles.has(id),
    );
    if (JSON.stringify([...members].sort()) !== JSON.stringify([...expected].sort()))
      findings.push(`account ${group}: contacts ${members}, expected ${expected}`);
    const together = await accountScores(world.storage, { workspaceId, accountId: account.id, now });
    for (const model of [...models]) {
      const aggregate = together.find((score) => score.model === model.id);
      const expectedAggregate = contactScoresTogether(
        expected.map((id) => scoreOf.get(id)?.get(model.id) ?? Number.NaN),
      );
      if (
        JSON.stringify(aggregate && { ...aggregate, model: undefined }) !==
        JSON.stringify({ model: undefined, ...expectedAggregate })
      )
        findings.push(
          `account ${group} ${model.id}: ${JSON.stringify(aggregate)}, expected ${JSON.stringify(expectedAggregate)}`,
        );
    }
  }
  return findings;
}

/** Sales rejects someone: back to the recycle stage, the one way back. */
async function recycle(run: Run, options: { step: number; person: Person }): Promise<void> {
  const { world } = run;
  const key = options.person.keys[0] as string;
  const profileId = await profileOfKey(world, key);
  if (!profileId) return;
  const recycled = await recycleProfile(world.storage, {
    workspaceId: world.workspaceId,
    profileId,
    reason: RECYCLE_REASON,
    now: world.clock.now(),
  });
  if (recycled) run.people.recycle(key);
  run.log.push(
    `${options.step}: recycle ${key} (${recycled ? `${recycled.from} → ${recycled.to}` : 'nothing to recycle'})`,
  );
}

/** Saves each model again under another id, and applies it to the whole log from scratch. */
async function replayFromScratch(run: Run): Promise<void> {
  const { world, models } = run;
  const copies = models.map((model) => ({ ...model, id: `${model.id}${REPLAYED}` }));
  await world.configure({ scoring: { models: [...models, ...copies] } });
  for (const copy of copies)
    await requestScoreReplay(world.storage, {
      workspaceId: world.workspaceId,
      model: copy.id,
      since: null,
      now: world.clock.now(),
    });
  while (await replayNextPage(world.storage, { clock: world.clock }));
}

/** An identify changing nothing: the person's profile is scored (and its stage judged) as of now. */
function lastCall(person: Person): Call {
  const [kind, value] = (person.keys[0] as string).split(':') as ['user' | 'anonymous', string];
  return { type: 'identify', ...(kind === 'user' ? { userId: value } : { anonymousId: value }), traits: {} };
}

describe.each(BACKENDS)('scoring, its ledger and a replay agree on random streams on %s', (backend) => {
  let world: JourneyWorld | undefined;

  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  it.each(SEEDS[backend])(
    'seed %i',
    async (seed) => {
      world = await startJourneyWorld(backend);
      const random = new SeededRandom(seed);
      agreement.begin(seed, backend);
      const models = Array.from({ length: random.int(1, 2) }, (_, index) => randomModel(random, `m${index}`));
      const lifecycle = randomLifecycle(random, models);
      const run: Run = {
        world,
        random,
        people: new People(),
        models,
        lifecycle,
        log: [],
        scoredKeys: new Set(),
        scoredGroups: new Set(),
      };
      await world.configure({ scoring: { models }, lifecycle });
      const context = () =>
        [
          `seed ${seed} on ${backend}`,
          `models: ${JSON.stringify(models)}`,
          `lifecycle: ${JSON.stringify(lifecycle)}`,
          'steps:',
          ...run.log,
        ].join('\n');
      const fail = (where: string, findings: Findings) => {
        if (findings.length > 0) expect.fail(`${where}:\n${findings.join('\n')}\n${context()}`);
      };
      const settle = async (where: string) => {
        try {
          await world?.settle();
        } catch (error) {
          throw new Error(`${where}: settling failed\n${context()}`, { cause: error });
        }
      };

      let isSettled = true;
      for (let step = 1; step <= STEPS; step++) {
        const now = world.clock.now();
        if (random.chance(0.06)) {
          const person = random.pick(run.people.persons());
          if (isSettled && person) await recycle(run, { step, person });
        } else {
          const calls = Array.from({ length: random.int(1, 6) }, () => randomCall(run, now));
          await world.send(calls);
          run.log.push(`${step} at ${new Date(now).toISOString()}: ${JSON.stringify(calls)}`);
          isSettled = false;
        }
        // Several batches may wait in the log together, and time may pass before they are read.
        if (random.chance(0.7)) {
          await settle(`step ${step}`);
          isSettled = true;
          fail(`step ${step}`, await checkScoredProfiles(run));
          const mismatch = agreement.observe(seed, backend, await observed(run));
          if (mismatch) fail(`step ${step}`, [mismatch]);
        }
        const span = random.pick([
          0,
          0,
          random.int(1, 59) * MINUTE,
          random.int(1, 23) * HOUR,
          random.int(1, 5) * DAY,
        ]);
        if (span > 0) {
          world.clock.advance(span);
          run.log.push(`   +${span / MINUTE} min`);
        }
      }
      await settle('after the last step');

      await replayFromScratch(run);
      await settle('after the replays');
      // A last call from everyone scores every profile now: its stored score is the live one of now.
      await world.send(run.people.persons().map(lastCall));
      await settle('after the last calls');
      fail('at the end', await checkEverything(run));
      const mismatch = agreement.observe(seed, backend, await observed(run));
      if (mismatch) fail('at the end', [mismatch]);
    },
    60_000,
  );
});
