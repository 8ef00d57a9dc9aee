import { lazy, Suspense, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useFormat } from '../app/format.js';
import { Pager, usePage } from '../components/pager.js';
import { EmptyState, ErrorState, Loading } from '../components/states.js';
import { modelsOf, type SettingsDocument, useSaveIntentSettings } from './intent-settings.js';
import type { ScoreModelJson } from './model-form.js';
import { PastEventsReplay } from './PastEventsReplay.js';

const MODELS_PER_PAGE = 5;
// The charting library is loaded with the first chart, not with the whole console.
const ScoreDistribution = lazy(async () => ({
  default: (await import('./ScoreDistribution.js')).ScoreDistribution,
}));

function ModelCard(props: {
  model: ScoreModelJson;
  /** Absent for a member, who reads models but does not change them. */
  editing?: { onEdit: () => void; onDeleted: () => void } | undefined;
}) {
  const { t } = useTranslation();
  const format = useFormat();
  const [isConfirming, setIsConfirming] = useState(false);
  const save = useSaveIntentSettings();
  const { model } = props;
  const remove = () =>
    save.mutate(
      (current) => ({
        ...current,
        scoring: { ...current.scoring, models: modelsOf(current).filter((item) => item.id !== model.id) },
      }),
      { onSuccess: props.editing?.onDeleted },
    );
  return (
    <article className="card model-card" aria-labelledby={`model-${model.id}`}>
      <header className="model-card-head">
        <div>
          <h2 id={`model-${model.id}`}>{model.name}</h2>
          <p className="hint">
            <code>{model.id}</code> · {t('scoring.ruleCount', { count: model.rules.length })}
            {model.cap !== undefined && <> · {t('scoring.capOf', { cap: format.number(model.cap) })}</>}
          </p>
        </div>
        {props.editing && (
          <div className="actions">
            <button
              type="button"
              onClick={props.editing.onEdit}
              aria-label={`${t('scoring.models.edit')} ${model.name}`}
            >
              {t('scoring.models.edit')}
            </button>
            <button
              type="button"
              className="danger"
              onClick={() => setIsConfirming(true)}
              aria-label={`${t('scoring.models.delete')} ${model.name}`}
            >
              {t('scoring.models.delete')}
            </button>
          </div>
        )}
      </header>
      {isConfirming && (
        <div
          className="confirm"
          role="alertdialog"
          aria-label={t('scoring.models.confirmDelete', { name: model.name })}
        >
          <p>{t('scoring.models.confirmDelete', { name: model.name })}</p>
          <button type="button" className="danger" onClick={remove} disabled={save.isPending}>
            {t('scoring.models.confirm')}
          </button>
          <button type="button" onClick={() => setIsConfirming(false)}>
            {t('common.cancel')}
          </button>
        </div>
      )}
      {save.error && <ErrorState error={save.error} />}
      <Suspense fallback={<Loading />}>
        <ScoreDistribution model={model} />
      </Suspense>
      <PastEventsReplay model={model} canStart={props.editing !== undefined} />
    </article>
  );
}

/** The workspace's score models, each with how its scores spread; editable when `editing` is given. */
export function ModelsSection(props: {
  settings: SettingsDocument;
  editing?: {
    onEdit: (modelId: string) => void;
    onCreate: () => void;
    onNotice: (notice: string) => void;
  };
  notice: string | undefined;
}) {
  const { t } = useTranslation();
  const models = modelsOf(props.settings);
  const page = usePage(models, MODELS_PER_PAGE);
  const { editing } = props;
  return (
    <>
      {editing && (
        <div className="actions">
          <button type="button" className="primary" onClick={editing.onCreate}>
            {t('scoring.models.new')}
          </button>
        </div>
      )}
      {props.notice && (
        <p className="notice" role="status">
          {props.notice}
        </p>
      )}
      {models.length === 0 && <EmptyState>{t('scoring.models.empty')}</EmptyState>}
      <div className="model-list">
        {page.items.map((model) => (
          <ModelCard
            key={model.id}
            model={model}
            editing={
              editing && {
                onEdit: () => editing.onEdit(model.id),
                onDeleted: () => editing.onNotice(t('scoring.models.deleted')),
              }
            }
          />
        ))}
      </div>
      <Pager page={page} />
    </>
  );
}
