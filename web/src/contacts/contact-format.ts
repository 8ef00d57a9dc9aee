/** Turning what the API says about a contact into what the console shows: names, events, ledger lines. */

export type Traits = Record<string, unknown>;

const textTrait = (traits: Traits, ...names: string[]): string | undefined => {
  for (const name of names) {
    const value = traits[name];
    if (typeof value === 'string' && value.trim()) return value.trim();
  }
  return undefined;
};

/** The name the contact gave: `name`, else first and last name (snake or camel case). */
export function contactName(traits: Traits): string | undefined {
  const full = textTrait(traits, 'name');
  if (full) return full;
  const parts = [textTrait(traits, 'first_name', 'firstName'), textTrait(traits, 'last_name', 'lastName')];
  const joined = parts.filter(Boolean).join(' ');
  return joined || undefined;
}

export const contactEmail = (traits: Traits): string | undefined => textTrait(traits, 'email');

/** A trait or property value as text: strings as sent, everything else as JSON. */
export function valueText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return '';
  return JSON.stringify(value);
}

/** Traits (or properties) as sorted key/value rows for a table. */
export function keyValueRows(values: Traits | undefined): Array<[string, string]> {
  return Object.entries(values ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => [key, valueText(value)]);
}

export interface TimelineEvent {
  id: string;
  type: string;
  name: string | null;
  timestamp: string;
  payload: Record<string, unknown>;
}

/** The event's headline: a track's name as it came, otherwise a sentence (text key and its values). */
export type EventTitle = { text: string } | { key: string; values: Record<string, string> };

export function eventTitle(event: TimelineEvent): EventTitle {
  const payload = event.payload;
  switch (event.type) {
    case 'identify':
      return { key: 'contacts.eventTitles.identify', values: {} };
    case 'group':
      return { key: 'contacts.eventTitles.group', values: { groupId: valueText(payload.groupId) } };
    case 'alias':
      return { key: 'contacts.eventTitles.alias', values: { previousId: valueText(payload.previousId) } };
    case 'page':
    case 'screen': {
      // Sent without a name, the server counts it as Page Viewed / Screen Viewed: the reader's words for it.
      const isUnnamed =
        !event.name || event.name === (event.type === 'page' ? 'Page Viewed' : 'Screen Viewed');
      if (!isUnnamed) return { text: event.name as string };
      // Which page, without expanding the row: its path as the client sent it, else its address or title.
      const properties = (payload.properties ?? {}) as Record<string, unknown>;
      const where = [properties.path, properties.url, properties.title].find(
        (value): value is string => typeof value === 'string' && value.trim() !== '',
      );
      return event.type === 'page' && where !== undefined
        ? { key: 'contacts.eventTitles.pageAt', values: { where } }
        : { key: `contacts.eventTitles.${event.type}`, values: {} };
    }
    default:
      return { text: event.name ?? event.type };
  }
}

/** What expanding an event shows: the properties of a track/page/screen, the traits of identify/group. */
export function eventDetails(event: TimelineEvent): Traits {
  const payload = event.payload;
  const details =
    event.type === 'identify' || event.type === 'group' ? payload.traits : (payload.properties ?? {});
  return details && typeof details === 'object' && !Array.isArray(details) ? (details as Traits) : {};
}

/** The part of a score model's rule the ledger needs to explain an award. */
export type ScoreRule =
  | {
      id: string;
      kind: 'event';
      event: string;
      where?: Array<{ path: string; op: string; value?: unknown }>;
      points: number;
      repeat?: string;
      cap?: number;
      halfLife?: string;
    }
  | {
      id: string;
      kind: 'fit';
      when: { type: 'trait' | 'account_trait'; path: string; op: string; value?: unknown };
      points: number;
    };

export interface ScoreModelView {
  id: string;
  name: string;
  rules: ScoreRule[];
}

export interface ProfileScore {
  model: string;
  score: number;
  awards: Array<{ rule: string; eventId: number; at: string; points: number; current: number }>;
  fit: Array<{ rule: string; points: number }>;
  /** Only while the model's cap holds the score: the points it holds back (negative) or gives back. */
  modelCap?: { cap: number; points: number };
}

/** Why a rule gives points, as text keys with their values, joined with ` · ` on screen. */
export type Reason = { key: string; values: Record<string, string | number> };

export function ruleReasons(rule: ScoreRule | undefined): Reason[] {
  if (!rule) return [{ key: 'contacts.ruleUnknown', values: {} }];
  if (rule.kind === 'fit') {
    const { type, path, op, value } = rule.when;
    return [
      {
        key: type === 'trait' ? 'contacts.ruleTrait' : 'contacts.ruleAccountTrait',
        values: { path, op, value: valueText(value) },
      },
    ];
  }
  const reasons: Reason[] = [{ key: 'contacts.ruleEvent', values: { event: rule.event } }];
  // The property filters too: "performed Page Viewed" alone hides that only /pricing counts.
  for (const filter of rule.where ?? [])
    reasons.push({
      key: 'contacts.ruleWhere',
      values: { path: filter.path, op: filter.op, value: valueText(filter.value) },
    });
  if (rule.repeat === 'once') reasons.push({ key: 'contacts.ruleOnce', values: {} });
  if (rule.cap !== undefined) reasons.push({ key: 'contacts.ruleCap', values: { cap: rule.cap } });
  if (rule.halfLife) reasons.push({ key: 'contacts.ruleHalfLife', values: { halfLife: rule.halfLife } });
  return reasons;
}

/** Points to two decimals: decay leaves long fractions nobody needs to read. */
export const roundPoints = (points: number): number => Math.round(points * 100) / 100;

export interface LedgerLine {
  rule: string;
  eventId: number;
  at: string;
  points: number;
  current: number;
  isDecayed: boolean;
  reasons: Reason[];
}

export interface Ledger {
  model: string;
  modelName: string;
  score: number;
  lines: LedgerLine[];
  fit: Array<{ rule: string; points: number; reasons: Reason[] }>;
  /** What the model's cap holds back (or gives back), said so that the lines add up to the score. */
  capNote: Reason | null;
}

/**
 * A score as a ledger to read: newest award first, each with the rule that gave it explained (when the
 * model is known) and what is left of it after decay.
 */
export function ledgerOf(score: ProfileScore, models: readonly ScoreModelView[] | undefined): Ledger {
  const model = models?.find((candidate) => candidate.id === score.model);
  // Without the models (a member may not read settings) a line still names its rule.
  const reasonsOf = (ruleId: string) =>
    models ? ruleReasons(model?.rules.find((rule) => rule.id === ruleId)) : [];
  /** An award's reasons: the cap said where it cut the award (0.04 of 10), not on every line. */
  const awardReasons = (award: ProfileScore['awards'][number]): Reason[] => {
    const rule = model?.rules.find((candidate) => candidate.id === award.rule);
    const reasons = reasonsOf(award.rule);
    if (rule?.kind !== 'event' || rule.cap === undefined) return reasons;
    const isCut = Math.abs(award.points) < Math.abs(rule.points);
    return reasons
      .map((reason) =>
        reason.key !== 'contacts.ruleCap'
          ? reason
          : isCut
            ? { key: 'contacts.cutByCap', values: { points: rule.points, cap: rule.cap as number } }
            : undefined,
      )
      .filter((reason): reason is Reason => reason !== undefined);
  };
  return {
    model: score.model,
    modelName: model?.name ?? score.model,
    score: roundPoints(score.score),
    lines: [...score.awards]
      .sort((a, b) => b.at.localeCompare(a.at) || b.eventId - a.eventId)
      .map((award) => ({
        ...award,
        current: roundPoints(award.current),
        isDecayed: roundPoints(award.current) !== roundPoints(award.points),
        reasons: awardReasons(award),
      })),
    fit: score.fit.map((fit) => ({ ...fit, reasons: reasonsOf(fit.rule) })),
    capNote: score.modelCap
      ? {
          key: score.modelCap.points < 0 ? 'contacts.modelCapDown' : 'contacts.modelCapUp',
          values: { cap: score.modelCap.cap, points: roundPoints(Math.abs(score.modelCap.points)) },
        }
      : null,
  };
}

/** Whether a contact at `stage` can be sent back by hand: only one past the recycle stage can (the server refuses the rest). */
export function isPastRecycleStage(
  stage: string | null,
  lifecycle: { stages: readonly string[]; recycleTo: string } | undefined,
): boolean {
  if (!lifecycle || stage === null) return false;
  const recycleAt = lifecycle.stages.indexOf(lifecycle.recycleTo);
  return recycleAt >= 0 && lifecycle.stages.indexOf(stage) > recycleAt;
}

/**
 * Why a contact changed stage, from the reason the server records in English (`event Demo Requested`,
 * `score engagement reached 53.79`, …), as a text key to show in the reader's language; a reason given
 * by hand (a recycle's) is shown as written.
 */
export function stageReason(reason: string): Reason | { text: string } {
  const byEvent = /^event (.+)$/.exec(reason);
  if (byEvent) return { key: 'contacts.stageReasons.event', values: { event: byEvent[1] as string } };
  const byScore = /^score (.+) reached (-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)$/.exec(reason);
  if (byScore)
    return {
      key: 'contacts.stageReasons.score',
      values: { model: byScore[1] as string, score: roundPoints(Number(byScore[2])) },
    };
  const fixed = FIXED_STAGE_REASONS[reason];
  return fixed ? { key: fixed, values: {} } : { text: reason };
}

/** Why an owed hand-off was dropped, from the reason the server records in English, as a text key. */
export function droppedReason(reason: string): Reason | { text: string } {
  const fixed = DROPPED_REASONS[reason];
  return fixed ? { key: fixed, values: {} } : { text: reason };
}

const DROPPED_REASONS: Record<string, string> = {
  'recycled before the contact was known to sales': 'contacts.droppedReasons.recycled',
  'merged into a profile already handed off': 'contacts.droppedReasons.mergedHandedOff',
  'merged into a profile already owed a hand-off': 'contacts.droppedReasons.mergedOwed',
};

const FIXED_STAGE_REASONS: Record<string, string> = {
  'hand-off SLA missed': 'contacts.stageReasons.slaMissed',
  'recycled by hand': 'contacts.stageReasons.recycledByHand',
  'merged with a profile further along': 'contacts.stageReasons.merged',
};
