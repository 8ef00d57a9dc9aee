import { durationMs } from '../core/duration.js';
import type { EventScoreRule, ScoreLedgerEntry, ScoreModel } from '../core/score-model.js';
import {
  type EventFact,
  futureTimeChanges,
  isMember,
  matchesFilters,
  traitFacts,
} from '../segments/evaluate.js';
import { ruleNeeds } from '../segments/rule-needs.js';

/** An award's worth at `now`: its points, halved every half-life since it was earned. */
export function decayedPoints(
  entry: Pick<ScoreLedgerEntry, 'points' | 'at'>,
  rule: Pick<EventScoreRule, 'halfLife'>,
  now: number,
): number {
  if (!rule.halfLife) return entry.points;
  const age = Math.max(0, now - entry.at);
  const halfLife = durationMs(rule.halfLife);
  // A zero half-life (refused on saving since; settings from before may hold one) fades at once.
  if (halfLife <= 0) return age > 0 ? 0 : entry.points;
  return entry.points * 0.5 ** (age / halfLife);
}

/**
 * The awards an event earns under a model, given the profile's ledger so far: once-only rules award
 * once, a rule's cap holds after decay, and the same event never earns twice (a replay changes nothing).
 * Only awards of earlier events count against once-only and the cap, as scores are read in award
 * order: an event arriving after later-stamped ones (a late flush) earns as it would have had it come
 * in time, as a replay gives it, and the later awards are put after it when scores are read.
 */
export function awardsFor(
  model: ScoreModel,
  event: EventFact & { id: number },
  ledger: readonly ScoreLedgerEntry[],
): ScoreLedgerEntry[] {
  const awards: ScoreLedgerEntry[] = [];
  for (const rule of model.rules) {
    if (rule.kind !== 'event' || rule.event !== event.name) continue;
    if (!matchesFilters(event, rule.where, event.timestamp)) continue;
    const ofRule = ledger.filter((entry) => entry.model === model.id && entry.rule === rule.id);
    if (ofRule.some((entry) => entry.eventId === event.id)) continue;
    const earlier = ofRule.filter(
      (entry) => entry.at < event.timestamp || (entry.at === event.timestamp && entry.eventId < event.id),
    );
    if (rule.repeat === 'once' && earlier.length > 0) continue;
    let points = rule.points;
    if (rule.cap !== undefined) {
      const held = Math.abs(
        earlier.reduce((sum, entry) => sum + decayedPoints(entry, rule, event.timestamp), 0),
      );
      const room = rule.cap - held;
      if (room <= 0) continue;
      points = Math.sign(points) * Math.min(Math.abs(points), room);
    }
    awards.push({ model: model.id, rule: rule.id, eventId: event.id, at: event.timestamp, points });
  }
  return awards;
}

/** Ledger entries of many profiles (as the store lists them) as each profile's ledger, oldest first. */
export function ledgersByProfile(
  entries: ReadonlyArray<ScoreLedgerEntry & { profileId: string }>,
): Map<string, ScoreLedgerEntry[]> {
  const ledgers = new Map<string, ScoreLedgerEntry[]>();
  for (const { profileId, ...entry } of entries) {
    const list = ledgers.get(profileId);
    if (list) list.push(entry);
    else ledgers.set(profileId, [entry]);
  }
  return ledgers;
}

export interface ScoreExplanation {
  model: string;
  score: number;
  /** Every award still counted, with what is left of it after decay. */
  awards: Array<ScoreLedgerEntry & { current: number }>;
  /** Fit rules that hold now. */
  fit: Array<{ rule: string; points: number }>;
  /**
   * Only while the model's `cap` holds the score: the points it holds back (negative, the awards and
   * fit points adding up past the cap) or gives back (positive, below minus the cap), so that the
   * awards, the fit points and these add up to `score`.
   */
  modelCap?: { cap: number; points: number };
}

/** A profile's score under a model at `now`, from its ledger and its current traits, every point explained. */
export function scoreOf(
  model: ScoreModel,
  ledger: readonly ScoreLedgerEntry[],
  profile: { traits: Record<string, unknown>; accounts: Array<Record<string, unknown>> },
  now: number,
): ScoreExplanation {
  const awards = awardsAt(model, inAwardOrder(ledger), now);
  const fit = fitAt(model, profile, now);
  const counted = awards.reduce((sum, award) => sum + award.current, 0);
  const score = total(model, counted, fit);
  const uncapped = round(counted + fit.reduce((sum, f) => sum + f.points, 0));
  return {
    model: model.id,
    score,
    awards: awards.map((award) => ({ ...award, current: round(award.current) })),
    fit,
    ...(model.cap !== undefined && uncapped !== score
      ? { modelCap: { cap: model.cap, points: round(score - uncapped) } }
      : {}),
  };
}

/** A profile's score under a model as decay moves it, between two of its events. */
export interface ScoreOverTime {
  at(now: number): number;
  /** After this moment decay no longer moves the score by a hundredth; undefined when nothing decays. */
  settlesBy: number | undefined;
  /** Moments after `now` a fit rule starts or stops holding by time alone ("trial started within 14d"). */
  fitChangesAfter(now: number): number[];
}

const halfLivesOf = new WeakMap<ScoreModel, ReadonlyMap<string, number>>();

/** The model's event rules whose awards fade, with their half-lives in milliseconds (once per model). */
export function fadingHalfLives(model: ScoreModel): ReadonlyMap<string, number> {
  let found = halfLivesOf.get(model);
  if (!found) {
    found = new Map(
      model.rules.flatMap((rule) =>
        rule.kind === 'event' && rule.halfLife ? [[rule.id, durationMs(rule.halfLife)] as const] : [],
      ),
    );
    halfLivesOf.set(model, found);
  }
  return found;
}

/** Whether some fit rule of the model starts or stops holding by time alone ("trial started within 14d"). */
export function hasTimedFit(model: ScoreModel): boolean {
  return model.rules.some((rule) => rule.kind === 'fit' && ruleNeeds([rule.when], 0).isTimeDependent);
}

/** Whether anything moves the model's scores between events: fading awards, or timed fit rules. */
export function movesWithTime(model: ScoreModel): boolean {
  return fadingHalfLives(model).size > 0 || hasTimedFit(model);
}

/**
 * `scoreOf`'s score for any moment. A search for the moment a score crosses a bound asks for many, so
 * after the last award each rule's awards are summed once: they decay alike (one half-life) and, being
 * of one sign, a cap holds their sum as it holds them one by one.
 */
export function scoreOverTime(
  model: ScoreModel,
  ledger: readonly ScoreLedgerEntry[],
  profile: { traits: Record<string, unknown>; accounts: Array<Record<string, unknown>> },
): ScoreOverTime {
  const inOrder = inAwardOrder(ledger);
  const sums = ruleSums(model, inOrder);
  const halfLives = fadingHalfLives(model);
  let settlesBy: number | undefined;
  for (const entry of inOrder) {
    const halfLife = entry.model === model.id ? halfLives.get(entry.rule) : undefined;
    if (halfLife === undefined) continue;
    // Halved until under a thousandth of a point: below what a score (in hundredths) shows.
    const fadedAt = entry.at + halfLife * Math.max(0, Math.log2(Math.abs(entry.points) / 0.001));
    settlesBy = Math.max(settlesBy ?? fadedAt, fadedAt);
  }
  return {
    at(now) {
      const fit = fitAt(model, profile, now);
      if (!sums || now < sums.from) {
        const awards = awardsAt(model, inOrder, now);
        return total(
          model,
          awards.reduce((sum, award) => sum + award.current, 0),
          fit,
        );
      }
      let counted = 0;
      for (const { sign, cap, halfLifeMs, weight } of sums.rules) {
        const left = halfLifeMs === undefined ? weight : weight * 0.5 ** ((now - sums.from) / halfLifeMs);
        counted += sign * Math.min(left, cap ?? Number.POSITIVE_INFINITY);
      }
      return total(model, counted, fit);
    },
    settlesBy,
    fitChangesAfter(now) {
      const facts = traitFacts(profile.traits, profile.accounts);
      return model.rules.flatMap((rule) =>
        rule.kind === 'fit' ? futureTimeChanges(rule.when, facts, now) : [],
      );
    },
  };
}

/** One rule's counted awards as one sum of points (unsigned), as it stood at `from`. */
interface RuleSum {
  sign: number;
  cap: number | undefined;
  halfLifeMs: number | undefined;
  weight: number;
}

/**
 * Each rule's awards summed as of the last award, or undefined when a rule holds awards of both signs
 * (its points changed sign since some were earned): then only award by award adds up right.
 */
function ruleSums(
  model: ScoreModel,
  inOrder: readonly ScoreLedgerEntry[],
): { rules: RuleSum[]; from: number } | undefined {
  const rules = new Map(model.rules.map((rule) => [rule.id, rule]));
  const counted = new Map<string, ScoreLedgerEntry[]>();
  let from = Number.NEGATIVE_INFINITY;
  for (const entry of inOrder) {
    const rule = rules.get(entry.rule);
    if (entry.model !== model.id || rule?.kind !== 'event') continue;
    const entries = counted.get(rule.id) ?? [];
    if (rule.repeat === 'once' && entries.length > 0) continue;
    entries.push(entry);
    counted.set(rule.id, entries);
    from = Math.max(from, entry.at);
  }
  const sums: RuleSum[] = [];
  for (const [ruleId, entries] of counted) {
    const rule = rules.get(ruleId) as EventScoreRule;
    const sign = Math.sign(entries[0]?.points ?? 0);
    if (entries.some((entry) => Math.sign(entry.points) !== sign)) return undefined;
    const halfLifeMs = rule.halfLife ? durationMs(rule.halfLife) : undefined;
    // A zero half-life (see decayedPoints) cannot be summed as a curve: award by award it is.
    if (halfLifeMs !== undefined && halfLifeMs <= 0) return undefined;
    let weight = 0;
    for (const entry of entries)
      weight +=
        Math.abs(entry.points) * (halfLifeMs === undefined ? 1 : 0.5 ** ((from - entry.at) / halfLifeMs));
    sums.push({ sign, cap: rule.cap, halfLifeMs, weight });
  }
  return { rules: sums, from };
}

function inAwardOrder(ledger: readonly ScoreLedgerEntry[]): ScoreLedgerEntry[] {
  return [...ledger].sort((a, b) => a.at - b.at || a.eventId - b.eventId);
}

/**
 * The model's awards in a ledger (oldest first) still counted at `now`, each with what is left of it
 * (not rounded: the score sums them first).
 */
function awardsAt(
  model: ScoreModel,
  inOrder: readonly ScoreLedgerEntry[],
  now: number,
): ScoreExplanation['awards'] {
  const rules = new Map(model.rules.map((rule) => [rule.id, rule]));
  const awards: ScoreExplanation['awards'] = [];
  // What each rule holds so far, oldest award first: a merge joins two ledgers that each kept to the
  // rule (one once-only award, points within the cap) but together may not.
  const held = new Map<string, number>();
  for (const entry of inOrder) {
    const rule = rules.get(entry.rule);
    // Awards of rules since removed from the model, or dated after `now`, do not count.
    if (entry.model !== model.id || rule?.kind !== 'event' || entry.at > now) continue;
    const before = held.get(rule.id);
    if (rule.repeat === 'once' && before !== undefined) continue;
    let current = decayedPoints(entry, rule, now);
    if (rule.cap !== undefined)
      current = Math.sign(current) * Math.min(Math.abs(current), Math.max(0, rule.cap - (before ?? 0)));
    held.set(rule.id, (before ?? 0) + Math.abs(current));
    awards.push({ ...entry, current });
  }
  return awards;
}

function fitAt(
  model: ScoreModel,
  profile: { traits: Record<string, unknown>; accounts: Array<Record<string, unknown>> },
  now: number,
): ScoreExplanation['fit'] {
  const facts = traitFacts(profile.traits, profile.accounts);
  return model.rules.flatMap((rule) =>
    rule.kind === 'fit' && isMember(rule.when, facts, now) ? [{ rule: rule.id, points: rule.points }] : [],
  );
}

function total(model: ScoreModel, counted: number, fit: ScoreExplanation['fit']): number {
  const sum = counted + fit.reduce((sum, f) => sum + f.points, 0);
  const capped = model.cap === undefined ? sum : Math.max(-model.cap, Math.min(model.cap, sum));
  return round(capped);
}

/** Points to the hundredth, as scores are kept and shown. */
export function round(points: number): number {
  return Math.round(points * 100) / 100;
}
