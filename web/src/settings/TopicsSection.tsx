import { type FormEvent, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Field } from '../components/field.js';
import { EmptyState } from '../components/states.js';
import { problemText, SaveBar, TextField, useErrorAt } from './form-parts.js';
import { useSectionSave } from './section-save.js';
import {
  type SettingsView,
  type Topic,
  topicIdFromName,
  validateTopics,
  withPart,
} from './settings-model.js';

const TOPIC_FIELD = /^topics(\.\d+\.(id|name|defaultSubscribed))?$/;

export function TopicsSection(props: { settings: SettingsView }) {
  const { t } = useTranslation();
  const [topics, setTopics] = useState<Topic[]>(() => props.settings.topics);
  const [newName, setNewName] = useState('');
  const [newId, setNewId] = useState('');
  const [isIdEdited, setIdEdited] = useState(false);
  const [newDefault, setNewDefault] = useState(true);
  const [newErrors, setNewErrors] = useState<{ name?: string; id?: string }>({});
  const newDefaultId = useId();
  const { errors, submit, bar } = useSectionSave({
    prefixes: ['topics'],
    isShown: (path) => TOPIC_FIELD.test(path),
  });
  const errorAt = useErrorAt(errors);
  const update = (index: number, change: Partial<Topic>) =>
    setTopics(topics.map((topic, at) => (at === index ? { ...topic, ...change } : topic)));

  function add() {
    const id = newId.trim();
    const problems = validateTopics([...topics, { id, name: newName, defaultSubscribed: newDefault }]);
    const at = topics.length;
    const idError = problemText(problems[`topics.${at}.id`], t);
    const nameError = problemText(problems[`topics.${at}.name`], t);
    if (idError || nameError) return setNewErrors({ id: idError, name: nameError });
    setNewErrors({});
    setTopics([...topics, { id, name: newName.trim(), defaultSubscribed: newDefault }]);
    setNewName('');
    setNewId('');
    setIdEdited(false);
    setNewDefault(true);
  }

  function save(event: FormEvent) {
    event.preventDefault();
    const cleaned = topics.map((topic) => ({ ...topic, name: topic.name.trim() }));
    submit(
      validateTopics(cleaned),
      (current) => withPart(current, 'topics', cleaned),
      (saved) => setTopics(saved.topics),
    );
  }

  return (
    <div className="settings-form">
      <h2>{t('settings.tabs.topics')}</h2>
      <p className="hint">{t('settings.topics.help')}</p>
      <form
        className="inline-form"
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          add();
        }}
      >
        <TextField
          label={t('settings.topics.newName')}
          value={newName}
          error={newErrors.name}
          onChange={(value) => {
            setNewName(value);
            if (!isIdEdited) setNewId(topicIdFromName(value));
          }}
        />
        <TextField
          label={t('settings.topics.newId')}
          value={newId}
          error={newErrors.id}
          onChange={(value) => {
            setNewId(value);
            setIdEdited(true);
          }}
        />
        <div className="field settings-check">
          <input
            id={newDefaultId}
            type="checkbox"
            checked={newDefault}
            onChange={(event) => setNewDefault(event.target.checked)}
          />
          <label htmlFor={newDefaultId}>{t('settings.topics.defaultSubscribed')}</label>
        </div>
        <button type="submit">{t('settings.topics.add')}</button>
      </form>
      <form onSubmit={save} noValidate aria-label={t('settings.tabs.topics')}>
        {topics.length === 0 ? (
          <EmptyState>{t('settings.problems.atLeastOneTopic')}</EmptyState>
        ) : (
          <table className="table settings-table">
            <thead>
              <tr>
                <th scope="col">{t('settings.topics.name')}</th>
                <th scope="col">{t('settings.topics.id')}</th>
                <th scope="col">{t('settings.topics.defaultSubscribed')}</th>
                <th scope="col">
                  <span className="visually-hidden">{t('settings.topics.remove')}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {topics.map((topic, index) => {
                const number = index + 1;
                return (
                  // Rows are edited in place and ids may change while typing: the position is the identity.
                  // biome-ignore lint/suspicious/noArrayIndexKey: see above
                  <tr key={index}>
                    <td>
                      <Field
                        label={t('settings.topics.nameOf', { number })}
                        error={errorAt(`topics.${index}.name`)}
                      >
                        {(control) => (
                          <input
                            {...control}
                            value={topic.name}
                            onChange={(event) => update(index, { name: event.target.value })}
                          />
                        )}
                      </Field>
                    </td>
                    <td>
                      <Field
                        label={t('settings.topics.idOf', { number })}
                        error={errorAt(`topics.${index}.id`)}
                      >
                        {(control) => (
                          <input
                            {...control}
                            value={topic.id}
                            onChange={(event) => update(index, { id: event.target.value })}
                          />
                        )}
                      </Field>
                    </td>
                    <td>
                      <Field label={t('settings.topics.defaultOf', { number })}>
                        {(control) => (
                          <input
                            {...control}
                            type="checkbox"
                            checked={topic.defaultSubscribed}
                            onChange={(event) => update(index, { defaultSubscribed: event.target.checked })}
                          />
                        )}
                      </Field>
                    </td>
                    <td>
                      <button
                        type="button"
                        className="danger"
                        aria-label={t('settings.topics.removeTopic', { name: topic.name || topic.id })}
                        onClick={() => setTopics(topics.filter((_, at) => at !== index))}
                      >
                        {t('settings.topics.remove')}
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
        {errorAt('topics') && (
          <p className="field-error" role="alert">
            {errorAt('topics')}
          </p>
        )}
        <p className="hint">{t('settings.topics.defaultHint')}</p>
        <SaveBar {...bar} />
      </form>
    </div>
  );
}
