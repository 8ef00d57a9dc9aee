import { useTranslation } from 'react-i18next';
import { useFormat } from '../app/format.js';

/** One arm of a split (or its holdout, `arm` null) as the journey report judges it on the goal. */
export interface SplitGroup {
  arm: string | null;
  isControl: boolean;
  entered: number;
  converted: number;
  pending: number;
  decided: number;
  decidedConverted: number;
  rate: number | null;
  interval: [number, number] | null;
  comparison: {
    difference: number | null;
    pValue: number | null;
    verdict: 'too_early' | 'too_few' | 'no_clear_difference' | 'higher' | 'lower';
  } | null;
}

/** A split of the journey report: its arms and holdout, judged on the journey's goal. */
export interface SplitResult {
  stepId: string;
  hasGoal: boolean;
  /** The goal's window; null without one, when contacts are pending while still in the journey. */
  goalWithin: string | null;
  groups: SplitGroup[];
  /** Whether contacts were split in the weights' shares; null while too few to tell. */
  sampleRatio: { pValue: number; isMismatch: boolean } | null;
}

function usePercent() {
  const { i18n } = useTranslation();
  const format = new Intl.NumberFormat(i18n.language, { style: 'percent', maximumFractionDigits: 1 });
  return (value: number) => format.format(value);
}

/**
 * The arms' conversion, for the split's box on the canvas: `converted: a 17.5% · b 9.4% · holdout 8.1%` (who
 * entered, without a goal).
 */
export function useSplitLine(): (result: SplitResult) => string {
  const { t } = useTranslation();
  const format = useFormat();
  const percent = usePercent();
  return (result) => {
    const groups = result.groups
      .map((group) => {
        const name = group.arm ?? t('builder.split.holdout');
        if (!result.hasGoal) return `${name} ${format.number(group.entered)}`;
        // While every window is still open there is no rate yet: who converted so far, of how many.
        return group.rate === null
          ? `${name} ${format.number(group.converted)}/${format.number(group.entered)}`
          : `${name} ${percent(group.rate)}`;
      })
      .join(' · ');
    // Said what it counts: right below the weights' shares, bare figures read as more of them.
    return t(result.hasGoal ? 'builder.split.convertedLine' : 'builder.split.enteredLine', { groups });
  };
}

/**
 * How a published split fares: each arm's contacts, conversions and rate with its 95% interval, and
 * what its difference from the control says — with what a p-value can and cannot tell said beside it.
 */
export function SplitResults(props: { result: SplitResult }) {
  const { t } = useTranslation();
  const format = useFormat();
  const percent = usePercent();
  const { result } = props;
  const control = result.groups.find((group) => group.isControl);
  const controlName = control ? (control.arm ?? t('builder.split.holdout')) : '';
  const pending = result.groups.reduce((sum, group) => sum + group.pending, 0);
  // Pending means within the goal's window, or without one still in the journey: said as it is.
  const pendingWord = (key: 'rateOfDecided' | 'pending') =>
    result.goalWithin === null ? (`${key}InJourney` as const) : key;
  const points = (difference: number) =>
    t('builder.results.points', {
      points: `${difference > 0 ? '+' : difference < 0 ? '−' : '±'}${format.number(
        Math.round(Math.abs(difference) * 1000) / 10,
      )}`,
    });
  const pValue = (value: number) =>
    value < 0.001
      ? t('builder.results.pBelow')
      : t('builder.results.p', { p: format.number(Number(value.toFixed(3))) });
  return (
    <section
      className="split-results"
      aria-labelledby={`results-${result.stepId}`}
      data-testid="split-results"
    >
      <h3 id={`results-${result.stepId}`}>{t('builder.results.title')}</h3>
      {!result.hasGoal && <p className="hint">{t('builder.results.noGoal')}</p>}
      {result.sampleRatio?.isMismatch && (
        <p className="warning" role="alert" data-testid="sample-ratio-mismatch">
          {t('builder.results.sampleRatioMismatch')}
        </p>
      )}
      <ul>
        {result.groups.map((group) => {
          const name = group.arm ?? t('builder.split.holdout');
          const comparison = group.comparison;
          return (
            <li key={group.arm ?? ''} data-testid={`split-group-${group.arm ?? 'holdout'}`}>
              <strong>{name}</strong>
              {group.isControl && result.hasGoal && ` (${t('builder.results.control')})`}
              <div>
                {result.hasGoal
                  ? t('builder.results.counts', {
                      count: group.entered,
                      entered: format.number(group.entered),
                      converted: format.number(group.converted),
                    })
                  : t('builder.results.entered', {
                      count: group.entered,
                      entered: format.number(group.entered),
                    })}
              </div>
              {result.hasGoal && group.rate !== null && group.interval && (
                <div>
                  {t(
                    group.pending > 0
                      ? `builder.results.${pendingWord('rateOfDecided')}`
                      : 'builder.results.rate',
                    {
                      rate: percent(group.rate),
                      low: percent(group.interval[0]),
                      high: percent(group.interval[1]),
                      decided: format.number(group.decided),
                    },
                  )}
                </div>
              )}
              {comparison && (
                <div className={`verdict verdict-${comparison.verdict}`}>
                  {[
                    t('builder.results.against', { control: controlName }),
                    [
                      comparison.difference === null ? undefined : points(comparison.difference),
                      comparison.pValue === null ? undefined : pValue(comparison.pValue),
                    ]
                      .filter(Boolean)
                      .join(', '),
                  ]
                    .filter(Boolean)
                    .join(' ')}
                  {comparison.difference === null && comparison.pValue === null ? ' ' : ' — '}
                  {comparison.verdict === 'too_early' && result.goalWithin === null
                    ? t('builder.results.tooEarlyInJourney')
                    : t(`builder.results.verdicts.${comparison.verdict}`)}
                </div>
              )}
            </li>
          );
        })}
      </ul>
      {result.hasGoal && pending > 0 && (
        <p className="hint">
          {t(`builder.results.${pendingWord('pending')}`, {
            count: pending,
            formatted: format.number(pending),
          })}
        </p>
      )}
      {result.hasGoal && <p className="hint">{t('builder.results.caveat')}</p>}
    </section>
  );
}
