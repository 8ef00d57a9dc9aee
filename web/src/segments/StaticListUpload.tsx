import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError, workspacePath } from '../app/api.js';
import { useFormat } from '../app/format.js';
import { useSession } from '../app/session.js';
import { Field } from '../components/field.js';
import { errorMessage } from '../components/states.js';
import { type SegmentJson, type UploadSummary, uploadCsv } from './segment-api.js';

/** Upload of a CSV file of contacts into a static list, then what matched and what did not. */
export function StaticListUpload(props: { segment: SegmentJson }) {
  const { t } = useTranslation();
  const format = useFormat();
  const { workspace } = useSession();
  const queryClient = useQueryClient();
  const fileInput = useRef<HTMLInputElement>(null);
  const [fileError, setFileError] = useState<string>();
  const [summary, setSummary] = useState<UploadSummary>();
  const upload = useMutation({
    mutationFn: (file: File) =>
      uploadCsv(
        workspacePath(workspace.id, `/segments/${encodeURIComponent(props.segment.id)}/members`),
        file,
      ),
    onMutate: () => setSummary(undefined),
    onSuccess: async (result) => {
      setSummary(result);
      await queryClient.invalidateQueries({ queryKey: ['segment', workspace.id, props.segment.id] });
      await queryClient.invalidateQueries({ queryKey: ['segments', workspace.id] });
    },
    onError: (error) => setFileError(error instanceof ApiError ? error.message : errorMessage(error, t)),
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    const file = fileInput.current?.files?.[0];
    if (!file) return setFileError(t('segments.upload.chooseFile'));
    setFileError(undefined);
    upload.mutate(file);
  }

  return (
    <section className="card static-upload" aria-labelledby="static-upload-title">
      <h2 id="static-upload-title">{t('segments.upload.title')}</h2>
      <form className="inline-form" onSubmit={submit} noValidate>
        <Field label={t('segments.upload.file')} error={fileError} hint={t('segments.upload.hint')}>
          {(control) => <input {...control} ref={fileInput} type="file" accept=".csv,text/csv" />}
        </Field>
        <button type="submit" className="primary" disabled={upload.isPending}>
          {t('segments.upload.submit')}
        </button>
      </form>
      {summary && (
        <div role="status" data-testid="upload-summary">
          <p className="notice">
            {t('segments.upload.summary', {
              rows: format.number(summary.rows),
              matched: format.number(summary.matched),
              unmatched: format.number(summary.unmatched),
              duplicates: format.number(summary.duplicates),
              added: format.number(summary.added),
            })}
          </p>
          {summary.unmatchedRows.length > 0 && (
            <table className="table" data-testid="unmatched-rows">
              <caption>{t('segments.upload.unmatched')}</caption>
              <thead>
                <tr>
                  <th scope="col" className="number">
                    {t('segments.upload.line')}
                  </th>
                  <th scope="col">{t('segments.upload.key')}</th>
                </tr>
              </thead>
              <tbody>
                {summary.unmatchedRows.map((row) => (
                  <tr key={row.line}>
                    <td className="number">{format.number(row.line)}</td>
                    <td>{row.key}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      )}
    </section>
  );
}
