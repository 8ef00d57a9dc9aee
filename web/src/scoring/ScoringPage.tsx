import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useSearchParams } from 'react-router-dom';
import { ErrorState, Loading } from '../components/states.js';
import { HandOffsSection } from './HandOffsSection.js';
import { modelsOf, useIntentSettings } from './intent-settings.js';
import { LifecycleSection } from './LifecycleSection.js';
import { ModelEditor } from './ModelEditor.js';
import { ModelsSection } from './ModelsSection.js';
import './messages.js';
import './scoring.css';

const TABS = ['models', 'lifecycle', 'hand-offs'] as const;
type Tab = (typeof TABS)[number];
const TAB_LABEL = { models: 'models', lifecycle: 'lifecycle', 'hand-offs': 'handOffs' } as const;

/**
 * `/scoring`: score models with their distributions (`?model=new` or `?model={id}` opens the editor),
 * lifecycle and hand-off settings (`?tab=lifecycle`), and the hand-offs (`?tab=hand-offs`).
 */
export function ScoringPage() {
  const { t } = useTranslation();
  const [params, setParams] = useSearchParams();
  const [notice, setNotice] = useState<string>();
  const settings = useIntentSettings();
  const tab: Tab = TABS.find((item) => item === params.get('tab')) ?? 'models';
  const editing = params.get('model');
  const showModels = () => setParams({});

  const body = () => {
    if (tab === 'hand-offs') return <HandOffsSection />;
    if (settings.isPending) return <Loading />;
    if (settings.error) return <ErrorState error={settings.error} onRetry={() => void settings.refetch()} />;
    if (tab === 'lifecycle') return <LifecycleSection settings={settings.data} />;
    const models = modelsOf(settings.data);
    if (editing !== null) {
      const model = models.find((item) => item.id === editing);
      return (
        <ModelEditor
          key={editing}
          model={model}
          models={models}
          onDone={(isSaved) => {
            setNotice(isSaved ? t('scoring.editor.saved') : undefined);
            showModels();
          }}
        />
      );
    }
    return (
      <ModelsSection
        settings={settings.data}
        notice={notice}
        onNotice={setNotice}
        onCreate={() => {
          setNotice(undefined);
          setParams({ model: '' });
        }}
        onEdit={(modelId) => {
          setNotice(undefined);
          setParams({ model: modelId });
        }}
      />
    );
  };

  return (
    <>
      <h1>{t('scoring.title')}</h1>
      <nav className="scoring-tabs" aria-label={t('scoring.sections')}>
        {TABS.map((item) => (
          <Link
            key={item}
            to={item === 'models' ? '/scoring' : `/scoring?tab=${item}`}
            aria-current={item === tab ? 'page' : undefined}
          >
            {t(`scoring.tabs.${TAB_LABEL[item]}`)}
          </Link>
        ))}
      </nav>
      {body()}
    </>
  );
}
