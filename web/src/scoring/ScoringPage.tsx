import { type ReactNode, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useSearchParams } from 'react-router-dom';
import { useSession } from '../app/session.js';
import { useScoringDefinitions } from '../app/workspace-queries.js';
import { ErrorState, Loading } from '../components/states.js';
import { HandOffsSection } from './HandOffsSection.js';
import { modelsOf, useIntentSettings } from './intent-settings.js';
import { LifecycleSection } from './LifecycleSection.js';
import { ModelEditor } from './ModelEditor.js';
import { ModelsSection } from './ModelsSection.js';
import type { ScoreModelJson } from './model-form.js';
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
  const { workspace } = useSession();
  // Settings are for admins; a member reads the models and the hand-offs (the server decides either way).
  return workspace.role === 'member' ? <MemberScoringPage /> : <AdminScoringPage />;
}

function AdminScoringPage() {
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
        editing={{
          onNotice: setNotice,
          onCreate: () => {
            setNotice(undefined);
            setParams({ model: '' });
          },
          onEdit: (modelId) => {
            setNotice(undefined);
            setParams({ model: modelId });
          },
        }}
      />
    );
  };

  return <ScoringLayout tabs={TABS} tab={tab} body={body()} />;
}

const MEMBER_TABS = ['models', 'hand-offs'] as const satisfies readonly Tab[];

/** The models as every member may read them (`…/scoring/definitions`), and the hand-offs: nothing to edit. */
function MemberScoringPage() {
  const { workspace } = useSession();
  const [params] = useSearchParams();
  const definitions = useScoringDefinitions<ScoreModelJson>(workspace.id);
  const tab = MEMBER_TABS.find((item) => item === params.get('tab')) ?? 'models';
  const body = () => {
    if (tab === 'hand-offs') return <HandOffsSection />;
    if (definitions.isPending) return <Loading />;
    if (definitions.error)
      return <ErrorState error={definitions.error} onRetry={() => void definitions.refetch()} />;
    return <ModelsSection settings={{ scoring: { models: definitions.data.models } }} notice={undefined} />;
  };
  return <ScoringLayout tabs={MEMBER_TABS} tab={tab} body={body()} />;
}

function ScoringLayout(props: { tabs: readonly Tab[]; tab: Tab; body: ReactNode }) {
  const { t } = useTranslation();
  return (
    <>
      <h1>{t('scoring.title')}</h1>
      <nav className="scoring-tabs" aria-label={t('scoring.sections')}>
        {props.tabs.map((item) => (
          <Link
            key={item}
            to={item === 'models' ? '/scoring' : `/scoring?tab=${item}`}
            aria-current={item === props.tab ? 'page' : undefined}
          >
            {t(`scoring.tabs.${TAB_LABEL[item]}`)}
          </Link>
        ))}
      </nav>
      {props.body}
    </>
  );
}
