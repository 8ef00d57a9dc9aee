import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import { ApiError, api, workspacePath } from '../app/api.js';
import { useFormat } from '../app/format.js';
import { isAdminOf, useSession } from '../app/session.js';
import { useSegmentList } from '../app/workspace-queries.js';
import { Field } from '../components/field.js';
import { errorMessage } from '../components/states.js';
import {
  type ColumnChoice,
  type ContactImportResult,
  type ContactsFilePreview,
  choicesOf,
  columnsToSend,
  validateChoices,
} from './contact-import.js';
import { ListAdditionProgress } from './ListAdditionProgress.js';
import './contacts.css';
import './messages.js';

/** Contacts from a spreadsheet or a CRM export: the file read, its columns mapped to traits, imported. */
export function ImportContactsPage() {
  const { t } = useTranslation();
  const format = useFormat();
  const { workspace } = useSession();
  const queryClient = useQueryClient();
  const fileInput = useRef<HTMLInputElement>(null);
  const [csv, setCsv] = useState<string>();
  const [preview, setPreview] = useState<ContactsFilePreview>();
  const [idColumn, setIdColumn] = useState('');
  const [choices, setChoices] = useState<ColumnChoice[]>([]);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [summary, setSummary] = useState<ContactImportResult>();
  /** The static segment the contacts join; empty: none. */
  const [list, setList] = useState('');
  const segments = useSegmentList<{ id: string; name: string; kind: 'live' | 'static' }>(workspace.id);
  const lists = (segments.data ?? []).filter((segment) => segment.kind === 'static');

  /** A refusal naming a field is shown at it; any other above the form. */
  const showFailure = (error: unknown) => {
    const field = error instanceof ApiError && error.field ? error.field : 'form';
    setErrors({ [field]: error instanceof ApiError ? error.message : errorMessage(error, t) });
  };
  const read = useMutation({
    mutationFn: async (file: File) => {
      const text = await file.text();
      const read = await api<ContactsFilePreview>(
        'POST',
        workspacePath(workspace.id, '/profiles/import/preview'),
        { csv: text },
      );
      return { text, read };
    },
    onMutate: () => {
      setSummary(undefined);
      setPreview(undefined);
      setErrors({});
    },
    onSuccess: ({ text, read: found }) => {
      setCsv(text);
      setPreview(found);
      setIdColumn(found.idColumn ?? '');
      setChoices(choicesOf(found));
    },
    onError: showFailure,
  });
  const importing = useMutation({
    mutationFn: () =>
      api<ContactImportResult>('POST', workspacePath(workspace.id, '/profiles/import'), {
        csv,
        idColumn,
        columns: columnsToSend(choices),
        ...(list ? { list } : {}),
      }),
    onSuccess: async (result) => {
      setSummary(result);
      await queryClient.invalidateQueries({ queryKey: ['profiles', workspace.id] });
    },
    onError: showFailure,
  });

  if (!isAdminOf(workspace)) return <p className="notice">{t('contacts.import.adminsOnly')}</p>;

  function readFile(event: FormEvent) {
    event.preventDefault();
    const file = fileInput.current?.files?.[0];
    if (!file) return setErrors({ csv: t('contacts.import.chooseFile') });
    read.mutate(file);
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    const found = validateChoices(idColumn, choices);
    setErrors(
      Object.fromEntries(Object.entries(found).map(([field, key]) => [field, t(`contacts.import.${key}`)])),
    );
    setSummary(undefined);
    if (Object.keys(found).length === 0) importing.mutate();
  }

  const setChoice = (index: number, change: Partial<ColumnChoice>) =>
    setChoices(choices.map((choice, i) => (i === index ? { ...choice, ...change } : choice)));

  return (
    <div className="contact-import">
      <p>
        <Link to="/contacts">{t('contacts.back')}</Link>
      </p>
      <h1>{t('contacts.import.title')}</h1>
      {errors.form && (
        <div className="state state-error" role="alert">
          <p>{errors.form}</p>
        </div>
      )}
      <section className="card" aria-labelledby="import-file-title">
        <h2 id="import-file-title">{t('contacts.import.fileTitle')}</h2>
        <form className="inline-form" onSubmit={readFile} noValidate>
          <Field label={t('contacts.import.file')} error={errors.csv} hint={t('contacts.import.fileHint')}>
            {(control) => <input {...control} ref={fileInput} type="file" accept=".csv,text/csv" />}
          </Field>
          <button type="submit" disabled={read.isPending}>
            {t('contacts.import.read')}
          </button>
        </form>
      </section>
      {preview && (
        <form className="card" aria-labelledby="import-columns-title" onSubmit={submit} noValidate>
          <h2 id="import-columns-title">{t('contacts.import.columnsTitle')}</h2>
          <p className="hint">
            {t('contacts.import.columnsHint', { rows: format.number(preview.rows), count: preview.rows })}
          </p>
          <Field
            label={t('contacts.import.idColumn')}
            error={errors.idColumn}
            hint={t('contacts.import.idColumnHint')}
          >
            {(control) => (
              <select {...control} value={idColumn} onChange={(event) => setIdColumn(event.target.value)}>
                <option value="">{t('contacts.import.chooseColumn')}</option>
                {preview.columns.map((column) => (
                  <option key={column.name} value={column.name}>
                    {column.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <table className="table import-columns">
            <thead>
              <tr>
                <th scope="col">{t('contacts.import.column')}</th>
                <th scope="col">{t('contacts.import.samples')}</th>
                <th scope="col">{t('contacts.import.importAs')}</th>
              </tr>
            </thead>
            <tbody>
              {choices.map((choice, index) => (
                <tr key={choice.column}>
                  <th scope="row">{choice.column}</th>
                  <td className="hint">{choice.samples.join(' · ') || t('contacts.import.noValues')}</td>
                  <td>
                    <label className="checkbox">
                      <input
                        type="checkbox"
                        checked={choice.isIncluded}
                        onChange={(event) => setChoice(index, { isIncluded: event.target.checked })}
                      />
                      {t('contacts.import.include', { column: choice.column })}
                    </label>
                    {choice.isIncluded && (
                      <Field
                        label={t('contacts.import.trait', { column: choice.column })}
                        error={errors[`columns.${choice.column}`]}
                      >
                        {(control) => (
                          <input
                            {...control}
                            value={choice.trait}
                            maxLength={100}
                            onChange={(event) => setChoice(index, { trait: event.target.value })}
                          />
                        )}
                      </Field>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <Field label={t('contacts.import.list')} error={errors.list} hint={t('contacts.import.listHint')}>
            {(control) => (
              <select {...control} value={list} onChange={(event) => setList(event.target.value)}>
                <option value="">{t('contacts.import.noList')}</option>
                {lists.map((segment) => (
                  <option key={segment.id} value={segment.id}>
                    {segment.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <div className="actions">
            <button type="submit" className="primary" disabled={importing.isPending}>
              {t('contacts.import.submit', { rows: format.number(preview.rows), count: preview.rows })}
            </button>
          </div>
        </form>
      )}
      {summary && (
        <section className="card" role="status" data-testid="import-summary">
          <p className="notice">
            {t('contacts.import.summary', {
              rows: format.number(summary.rows),
              stored: format.number(summary.stored),
              duplicates: format.number(summary.duplicates),
              rejected: format.number(summary.rejected),
            })}
          </p>
          {summary.rejectedRows.length > 0 && (
            <table className="table" data-testid="rejected-rows">
              <caption>{t('contacts.import.rejectedRows')}</caption>
              <thead>
                <tr>
                  <th scope="col" className="number">
                    {t('contacts.import.line')}
                  </th>
                  <th scope="col">{t('contacts.import.reason')}</th>
                </tr>
              </thead>
              <tbody>
                {summary.rejectedRows.map((row) => (
                  <tr key={row.line}>
                    <td className="number">{format.number(row.line)}</td>
                    <td>{row.reason}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {summary.listAddition && (
            <ListAdditionProgress
              addition={summary.listAddition}
              listName={lists.find((segment) => segment.id === summary.listAddition?.segmentId)?.name}
            />
          )}
          <p className="hint">{t('contacts.import.afterwards')}</p>
        </section>
      )}
    </div>
  );
}
