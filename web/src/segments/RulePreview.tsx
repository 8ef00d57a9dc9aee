import { keepPreviousData, type UseQueryResult, useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import { ApiError, api, workspacePath } from '../app/api.js';
import { useFormat } from '../app/format.js';
import { useSession } from '../app/session.js';
import { ErrorState } from '../components/states.js';
import type { ApiRule } from './rule-model.js';
import { contactLabel, type PreviewJson } from './segment-api.js';

/** How long typing must pause before the count is asked for again. */
const PREVIEW_DEBOUNCE_MS = 400;
const SAMPLE_SIZE = 10;

function useDebounced<T>(value: T, delayMs: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), delayMs);
    return () => clearTimeout(timer);
  }, [value, delayMs]);
  return settled;
}

/** The count and a sample for a rule, asked again shortly after it stops changing; off while incomplete. */
export function useRulePreview(rule: ApiRule, isComplete: boolean): UseQueryResult<PreviewJson> {
  const { workspace } = useSession();
  const settled = useDebounced(isComplete ? JSON.stringify(rule) : '', PREVIEW_DEBOUNCE_MS);
  return useQuery({
    queryKey: ['segment-preview', workspace.id, settled],
    queryFn: () =>
      api<PreviewJson>('POST', workspacePath(workspace.id, '/segments/preview'), {
        rule: JSON.parse(settled) as unknown,
        sampleSize: SAMPLE_SIZE,
      }),
    enabled: settled !== '',
    placeholderData: keepPreviousData,
    retry: false,
  });
}

export function RulePreview(props: { preview: UseQueryResult<PreviewJson>; isComplete: boolean }) {
  const { t } = useTranslation();
  const format = useFormat();
  const { preview } = props;
  return (
    <section className="card rule-preview" aria-labelledby="rule-preview-title" aria-live="polite">
      <h2 id="rule-preview-title">{t('segments.preview.title')}</h2>
      {!props.isComplete && <p className="hint">{t('segments.preview.idle')}</p>}
      {/* A refusal of one condition is said beside it, in the rule: here only that there is one. */}
      {props.isComplete &&
        preview.error &&
        (isRuleFieldError(preview.error) ? (
          <p className="field-error" role="alert" data-testid="preview-refused">
            {t('segments.preview.atCondition')}
          </p>
        ) : (
          <ErrorState error={preview.error} />
        ))}
      {props.isComplete && !preview.error && !preview.data && (
        <p className="hint">{t('segments.preview.updating')}</p>
      )}
      {props.isComplete && preview.data && !preview.error && (
        <>
          <p className="preview-count" data-testid="preview-count">
            {t('segments.preview.count', {
              matching: format.number(preview.data.count),
              total: format.number(preview.data.total),
            })}
          </p>
          {preview.isFetching && <p className="hint">{t('segments.preview.updating')}</p>}
          <h3>{t('segments.preview.sample')}</h3>
          {preview.data.sample.length === 0 ? (
            <p className="hint">{t('segments.preview.none')}</p>
          ) : (
            <ul className="preview-sample" data-testid="preview-sample">
              {preview.data.sample.map((contact) => (
                <li key={contact.id}>
                  <Link to={`/contacts/${encodeURIComponent(contact.id)}`}>
                    {contactLabel(contact.id, contact.traits)}
                  </Link>
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </section>
  );
}

/** A refusal naming a field of the rule (`rule.all.0.model`), which the builder shows at that condition. */
function isRuleFieldError(error: unknown): boolean {
  return error instanceof ApiError && Boolean(error.field?.startsWith('rule.'));
}
