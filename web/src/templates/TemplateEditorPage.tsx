import { useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useParams } from 'react-router-dom';
import { ApiError, api, workspacePath } from '../app/api.js';
import { useFormat } from '../app/format.js';
import { useSession } from '../app/session.js';
import { Field } from '../components/field.js';
import { ErrorState, errorMessage, Loading } from '../components/states.js';
import { UnsavedChangesGuard } from '../components/unsaved-guard.js';
import { type ContactChoice, ContactPicker } from './ContactPicker.js';
import {
  bodyOf,
  type Draft,
  type DraftField,
  draftFieldOf,
  draftOf,
  EMAIL_PATTERN,
  type FieldErrors,
  isSameDraft,
  missingFields,
  parseProperties,
  type TemplateJson,
} from './draft.js';
import { PreviewPane } from './PreviewPane.js';
import { type PreviewRequest, usePreview } from './preview.js';
import { SourceEditor } from './SourceEditor.js';
import './messages.js';
import './templates.css';

const LIQUID_EXAMPLE = '{{ profile.traits.first_name }}';
const EVENT_EXAMPLE = '{{ event.properties.cart_id }}';
const FORM_ID = 'template-form';

export function TemplateEditorPage() {
  const { templateId = '' } = useParams();
  const { workspace } = useSession();
  const template = useQuery({
    queryKey: ['template', workspace.id, templateId],
    queryFn: () => api<TemplateJson>('GET', workspacePath(workspace.id, `/templates/${templateId}`)),
  });
  // Once loaded, the editor owns the copy being edited: a later refetch, failed or not, leaves it be.
  if (template.data) return <Editor key={template.data.id} template={template.data} />;
  if (template.error) return <ErrorState error={template.error} onRetry={() => void template.refetch()} />;
  return <Loading />;
}

/** The server's message without the `field: ` prefix it starts with, since it is shown by that field. */
function messageFor(error: ApiError, field: string): string {
  return error.message.startsWith(`${field}: `) ? error.message.slice(field.length + 2) : error.message;
}

function Editor(props: { template: TemplateJson }) {
  const { t } = useTranslation();
  const format = useFormat();
  const { workspace } = useSession();
  const queryClient = useQueryClient();
  const [saved, setSaved] = useState(props.template);
  const [draft, setDraft] = useState<Draft>(() => draftOf(props.template));
  const [saveErrors, setSaveErrors] = useState<FieldErrors>({});
  const [saveProblem, setSaveProblem] = useState<unknown>();
  const [isBusy, setBusy] = useState(false);
  const [isJustSaved, setJustSaved] = useState(false);
  const [contact, setContact] = useState<ContactChoice>();
  const [propertiesSource, setPropertiesSource] = useState('');
  const [testAddress, setTestAddress] = useState('');
  const [testAddressError, setTestAddressError] = useState<string>();
  const [testProblem, setTestProblem] = useState<unknown>();
  /** The address a test was just sent to (the notice is translated when shown, not when sent). */
  const [testSentTo, setTestSentTo] = useState<string>();
  const templatePath = workspacePath(workspace.id, `/templates/${saved.id}`);
  const isDirty = !isSameDraft(draft, draftOf(saved));

  const properties = parseProperties(propertiesSource);
  const propertiesProblem = 'problem' in properties ? t(`templates.${properties.problem}`) : undefined;
  const request: PreviewRequest | undefined =
    draft.subject.trim() && draft.mjml.trim() && 'properties' in properties
      ? {
          // The name does not show in the e-mail; an empty one must not stop the preview.
          template: { ...bodyOf(draft), name: draft.name.trim() || saved.name },
          ...(contact ? { profileId: contact.id } : {}),
          properties: properties.properties,
        }
      : undefined;
  const preview = usePreview(workspace.id, request);
  const previewError = preview.error instanceof ApiError ? preview.error : undefined;
  const previewField = draftFieldOf(previewError?.field);
  const isContactError = previewError?.field === 'profileId';
  const isPropertiesError = previewError?.field?.startsWith('properties') ?? false;
  const generalPreviewError =
    preview.error !== undefined && !previewField && !isContactError && !isPropertiesError
      ? preview.error
      : undefined;

  const errorOf = (field: DraftField): string | undefined =>
    saveErrors[field] ??
    (previewError && previewField === field ? messageFor(previewError, field) : undefined);

  function edit(field: DraftField, value: string) {
    setDraft((current) => ({ ...current, [field]: value }));
    setSaveErrors((current) => ({ ...current, [field]: undefined }));
    setJustSaved(false);
  }

  /** Saves the draft; resolves to whether it was saved (errors are shown by their fields). */
  async function save(): Promise<boolean> {
    setSaveProblem(undefined);
    setJustSaved(false);
    const missing = missingFields(draft, t('common.required'));
    if (Object.keys(missing).length > 0) {
      setSaveErrors(missing);
      return false;
    }
    const sent = draft;
    try {
      const updated = await api<TemplateJson>('PUT', templatePath, bodyOf(sent));
      setSaved(updated);
      // What the server normalised (a trimmed name) becomes the draft, unless typing went on meanwhile.
      setDraft((current) => (isSameDraft(current, sent) ? draftOf(updated) : current));
      setSaveErrors({});
      queryClient.setQueryData(['template', workspace.id, updated.id], updated);
      void queryClient.invalidateQueries({ queryKey: ['templates', workspace.id] });
      setJustSaved(true);
      return true;
    } catch (error) {
      const field = error instanceof ApiError ? draftFieldOf(error.field) : undefined;
      if (error instanceof ApiError && field) setSaveErrors({ [field]: messageFor(error, field) });
      else setSaveProblem(error);
      return false;
    }
  }

  async function submitSave(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    try {
      await save();
    } finally {
      setBusy(false);
    }
  }

  async function submitTest(event: FormEvent) {
    event.preventDefault();
    setTestProblem(undefined);
    setTestSentTo(undefined);
    const to = testAddress.trim();
    if (!EMAIL_PATTERN.test(to)) return setTestAddressError(t('templates.invalidEmail'));
    setTestAddressError(undefined);
    setBusy(true);
    try {
      if (isDirty && !(await save())) return;
      await api('POST', `${templatePath}/test-send`, { to, ...(contact ? { profileId: contact.id } : {}) });
      setTestSentTo(to);
    } catch (error) {
      if (error instanceof ApiError && error.field === 'to') setTestAddressError(messageFor(error, 'to'));
      else setTestProblem(error);
    } finally {
      setBusy(false);
    }
  }

  const hasFieldErrors = Object.values(saveErrors).some(Boolean);

  return (
    <div className="template-editor">
      <UnsavedChangesGuard isDirty={isDirty} />
      <div className="editor-header">
        <Link to="/templates">{t('templates.back')}</Link>
        <h1>{saved.name}</h1>
        <span className={isDirty ? 'badge is-dirty' : 'badge'}>
          {isDirty ? t('templates.unsaved') : `${t('templates.saved')} · ${format.dateTime(saved.updatedAt)}`}
        </span>
        <div className="spacer" />
        <button type="submit" form={FORM_ID} className="primary" disabled={isBusy}>
          {t('templates.save')}
        </button>
      </div>
      <div className="editor-messages" aria-live="polite">
        {isJustSaved && (
          <p className="notice" role="status">
            {t('templates.saved')}
          </p>
        )}
        {hasFieldErrors && <p className="field-error">{t('templates.fixFields')}</p>}
      </div>
      {saveProblem !== undefined && <ErrorState error={saveProblem} />}
      <div className="editor-columns">
        <form
          id={FORM_ID}
          className="editor-form card"
          onSubmit={(event) => void submitSave(event)}
          noValidate
        >
          <Field label={t('templates.name')} error={errorOf('name')}>
            {(control) => (
              <input {...control} value={draft.name} onChange={(event) => edit('name', event.target.value)} />
            )}
          </Field>
          <Field label={t('templates.subject')} error={errorOf('subject')}>
            {(control) => (
              <input
                {...control}
                value={draft.subject}
                onChange={(event) => edit('subject', event.target.value)}
              />
            )}
          </Field>
          <Field
            label={t('templates.preheader')}
            hint={t('templates.preheaderHint')}
            error={errorOf('preheader')}
          >
            {(control) => (
              <input
                {...control}
                value={draft.preheader}
                onChange={(event) => edit('preheader', event.target.value)}
              />
            )}
          </Field>
          <Field
            label={t('templates.mjml')}
            hint={t('templates.mjmlHint', { example: LIQUID_EXAMPLE })}
            error={errorOf('mjml')}
          >
            {(control) => (
              <SourceEditor control={control} value={draft.mjml} onChange={(value) => edit('mjml', value)} />
            )}
          </Field>
          <Field label={t('templates.text')} hint={t('templates.textHint')} error={errorOf('text')}>
            {(control) => (
              <SourceEditor
                control={control}
                rows={8}
                value={draft.text}
                onChange={(value) => edit('text', value)}
              />
            )}
          </Field>
        </form>
        <div className="editor-side">
          <PreviewPane preview={preview} generalError={generalPreviewError} />
          <section className="card preview-data">
            <ContactPicker
              chosen={contact}
              onChoose={setContact}
              error={isContactError && previewError ? previewError.message : undefined}
            />
            <Field
              label={t('templates.properties')}
              hint={t('templates.propertiesHint', { example: EVENT_EXAMPLE })}
              error={
                propertiesProblem ?? (isPropertiesError && previewError ? previewError.message : undefined)
              }
            >
              {(control) => (
                <textarea
                  {...control}
                  className="source-editor"
                  rows={3}
                  spellCheck={false}
                  value={propertiesSource}
                  onChange={(event) => setPropertiesSource(event.target.value)}
                />
              )}
            </Field>
          </section>
          <section className="card" aria-labelledby="template-test-heading">
            <h2 id="template-test-heading">{t('templates.testSend')}</h2>
            <form className="inline-form" onSubmit={(event) => void submitTest(event)} noValidate>
              <Field label={t('templates.testAddress')} error={testAddressError}>
                {(control) => (
                  <input
                    {...control}
                    type="email"
                    autoComplete="email"
                    value={testAddress}
                    onChange={(event) => setTestAddress(event.target.value)}
                  />
                )}
              </Field>
              <button type="submit" disabled={isBusy}>
                {t('templates.testButton')}
              </button>
            </form>
            <p className="hint">{t('templates.testHint')}</p>
            <div aria-live="polite">
              {testSentTo && (
                <p className="notice" role="status">
                  {t('templates.testSent', { address: testSentTo })}
                </p>
              )}
            </div>
            {testProblem !== undefined && (
              <p className="field-error" role="alert">
                {errorMessage(testProblem, t)}
              </p>
            )}
          </section>
        </div>
      </div>
    </div>
  );
}
