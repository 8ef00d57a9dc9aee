import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate } from 'react-router-dom';
import { ApiError, api, workspacePath } from '../app/api.js';
import { useFormat } from '../app/format.js';
import { useSession } from '../app/session.js';
import { useTemplateList } from '../app/workspace-queries.js';
import { Field } from '../components/field.js';
import { Pager, usePage } from '../components/pager.js';
import { EmptyState, ErrorState, errorMessage, Loading } from '../components/states.js';
import type { TemplateJson } from './draft.js';
import { skeletonTemplate } from './skeleton.js';
import './messages.js';
import './templates.css';

/** The workspace's e-mail templates, most recently edited first, and a form to start a new one. */
export function TemplatesPage() {
  const { t } = useTranslation();
  const format = useFormat();
  const { workspace } = useSession();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [name, setName] = useState('');
  const [nameError, setNameError] = useState<string>();
  const templates = useTemplateList<TemplateJson>(workspace.id);
  const newestFirst = useMemo(
    () => [...(templates.data ?? [])].sort((a, b) => b.updatedAt.localeCompare(a.updatedAt)),
    [templates.data],
  );
  const page = usePage(newestFirst);
  const create = useMutation({
    mutationFn: (templateName: string) =>
      api<TemplateJson>('POST', workspacePath(workspace.id, '/templates'), skeletonTemplate(templateName)),
    onSuccess: async (created) => {
      queryClient.setQueryData(['template', workspace.id, created.id], created);
      await queryClient.invalidateQueries({ queryKey: ['templates', workspace.id] });
      void navigate(`/templates/${created.id}`);
    },
    onError: (error) =>
      setNameError(
        error instanceof ApiError && error.field === 'name' ? error.message : errorMessage(error, t),
      ),
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    if (!name.trim()) return setNameError(t('common.required'));
    setNameError(undefined);
    create.mutate(name);
  }

  return (
    <>
      <h1>{t('templates.title')}</h1>
      <form className="inline-form" onSubmit={submit} noValidate>
        <Field label={t('templates.newName')} error={nameError}>
          {(control) => <input {...control} value={name} onChange={(event) => setName(event.target.value)} />}
        </Field>
        <button type="submit" className="primary" disabled={create.isPending}>
          {t('templates.new')}
        </button>
      </form>
      {templates.isPending && <Loading />}
      {templates.error && <ErrorState error={templates.error} onRetry={() => void templates.refetch()} />}
      {templates.data?.length === 0 && <EmptyState>{t('templates.empty')}</EmptyState>}
      {page.items.length > 0 && (
        <>
          <table className="table">
            <thead>
              <tr>
                <th scope="col">{t('common.name')}</th>
                <th scope="col">{t('templates.subject')}</th>
                <th scope="col">{t('templates.updated')}</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((template) => (
                <tr key={template.id}>
                  <td>
                    <Link to={`/templates/${template.id}`}>{template.name}</Link>
                  </td>
                  <td className="template-subject">{template.subject}</td>
                  <td>{format.dateTime(template.updatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager page={page} />
        </>
      )}
    </>
  );
}
