import { formatLiteral } from '../app/typed-values.js';
import type { Condition } from './graph.js';

/**
 * What a branch's arm asks, in a line a marketer reads on the canvas without opening the step:
 * "In segment Cart abandoners and Engagement score ≥ 50?". Segments, score models and e-mails are
 * named as the console shows them elsewhere; what is not chosen yet reads as "?".
 */

/** The names the console already loaded, by id; an id without one is shown as it is. */
export interface ConditionNames {
  segments: ReadonlyMap<string, string>;
  models: ReadonlyMap<string, string>;
  /** The e-mail a send_email step sends (its template's name), by step id. */
  emails: ReadonlyMap<string, string>;
}

type Translate = (key: string, options?: Record<string, unknown>) => string;

const SYMBOLS: Record<string, string> = { eq: '=', neq: '≠', gt: '>', gte: '≥', lt: '<', lte: '≤' };
const UNCHOSEN = '?';

const named = (names: ReadonlyMap<string, string>, id: string | undefined) =>
  id ? (names.get(id) ?? id) : UNCHOSEN;

/** One condition: "In segment VIP", "Engagement score ≥ 50", "Stage is mql or sql", "plan = pro". */
export function conditionSummary(condition: Condition, names: ConditionNames, t: Translate): string {
  switch (condition.source) {
    case 'segment':
      return t(condition.op === 'not_in' ? 'builder.summary.notInSegment' : 'builder.summary.inSegment', {
        name: named(names.segments, condition.segment),
      });
    case 'score':
      return t('builder.summary.score', {
        model: named(names.models, condition.model),
        op: SYMBOLS[condition.op] ?? condition.op,
        value: Number.isFinite(condition.value) ? condition.value : UNCHOSEN,
      });
    case 'lifecycle':
      return t(condition.op === 'not_in' ? 'builder.summary.stageIsNot' : 'builder.summary.stageIs', {
        stages:
          (condition.stages ?? []).length > 0
            ? condition.stages.join(` ${t('builder.summary.or')} `)
            : UNCHOSEN,
      });
    case 'message': {
      // An e-mail by its template's name; a text by its step (a click on one is on its tracked links).
      const isText =
        condition.step !== '' && condition.step !== undefined && !names.emails.has(condition.step);
      const key =
        isText && (condition.op === 'clicked' || condition.op === 'not_clicked')
          ? `text_${condition.op}`
          : condition.op;
      return t(`builder.summary.message.${key}`, {
        email: named(names.emails, condition.step),
        step: condition.step || UNCHOSEN,
      });
    }
    default: {
      const what = t(`builder.summary.${condition.source}`, { path: condition.path || UNCHOSEN });
      if (condition.op === 'exists' || condition.op === 'not_exists')
        return `${what} ${t(`builder.summary.${condition.op}`)}`;
      const op = SYMBOLS[condition.op] ?? t(`builder.summary.${condition.op}`);
      const value = condition.value === undefined || condition.value === '' ? UNCHOSEN : condition.value;
      return `${what} ${op} ${formatLiteral(value)}`;
    }
  }
}

/** An arm of a branch: its conditions, all of which must hold, as one question. */
export function armSummary(conditions: readonly Condition[], names: ConditionNames, t: Translate): string {
  if (conditions.length === 0) return UNCHOSEN;
  const joined = conditions
    .map((condition) => conditionSummary(condition, names, t))
    .join(` ${t('builder.summary.and')} `);
  return joined.endsWith(UNCHOSEN) ? joined : `${joined}?`;
}
