import { useTranslation } from 'react-i18next';
import { useFormat } from '../app/format.js';
import './messages.js';
import type { SegmentJson } from './segment-api.js';

/** Where a segment's backfill is: finding the contacts to evaluate, evaluating them, stopped, or done. */
export function SegmentStatus(props: { segment: SegmentJson }) {
  const { t } = useTranslation();
  const format = useFormat();
  const { segment } = props;
  if (segment.status === 'backfilling' && segment.backfill.failure !== null) {
    return (
      <p className="segment-status field-error" role="alert" data-testid="segment-status">
        {t('segments.backfillStopped', { failure: segment.backfill.failure })}
      </p>
    );
  }
  if (segment.status === 'backfilling' && segment.backfill.total === 0) {
    // Finding the contacts the rule could match comes first; until then there is no total to count to.
    return (
      <div className="segment-status" role="status" data-testid="segment-status">
        <progress aria-label={t('segments.backfillPreparing')} />
        <span>{t('segments.backfillPreparing')}</span>
      </div>
    );
  }
  if (segment.status === 'backfilling') {
    const progress = t('segments.backfillProgress', {
      done: format.number(segment.backfill.done),
      total: format.number(segment.backfill.total),
    });
    return (
      <div className="segment-status" role="status" data-testid="segment-status">
        <progress
          max={Math.max(segment.backfill.total, 1)}
          value={segment.backfill.done}
          aria-label={progress}
        />
        <span>{progress}</span>
      </div>
    );
  }
  return (
    <p className="segment-status notice" role="status" data-testid="segment-status">
      {t('segments.readyWith', { members: format.number(segment.members) })}
    </p>
  );
}
