import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { errorMessage } from '../components/states.js';
import type { PreviewState } from './preview.js';

type Width = 'desktop' | 'mobile';
type View = 'html' | 'text';

/** A row of toggle buttons, one pressed: a small accessible choice between a few options. */
function Toggle<T extends string>(props: {
  label: string;
  value: T;
  options: ReadonlyArray<{ value: T; label: string }>;
  onChange: (value: T) => void;
}) {
  return (
    // biome-ignore lint/a11y/useSemanticElements: a group of toggle buttons, not form inputs
    <div className="toggle" role="group" aria-label={props.label}>
      {props.options.map((option) => (
        <button
          key={option.value}
          type="button"
          aria-pressed={option.value === props.value}
          onClick={() => props.onChange(option.value)}
        >
          {option.label}
        </button>
      ))}
    </div>
  );
}

/**
 * The rendered e-mail. The HTML goes into a sandboxed frame with no scripts and an opaque origin: a
 * template (or a trait in it) can never run code in the console.
 */
export function PreviewPane(props: { preview: PreviewState; generalError: unknown }) {
  const { t } = useTranslation();
  const [width, setWidth] = useState<Width>('desktop');
  const [view, setView] = useState<View>('html');
  const { rendered, isUpdating } = props.preview;

  return (
    <section className="preview-pane card" aria-labelledby="template-preview-heading">
      <div className="preview-toolbar">
        <h2 id="template-preview-heading">{t('templates.preview')}</h2>
        <Toggle
          label={t('templates.width')}
          value={width}
          onChange={setWidth}
          options={[
            { value: 'desktop', label: t('templates.desktop') },
            { value: 'mobile', label: t('templates.mobile') },
          ]}
        />
        <Toggle
          label={t('templates.view')}
          value={view}
          onChange={setView}
          options={[
            { value: 'html', label: t('templates.html') },
            { value: 'text', label: t('templates.plainText') },
          ]}
        />
      </div>
      <p className="hint preview-status" role="status" aria-live="polite">
        {isUpdating ? t('templates.updating') : ''}
      </p>
      {props.generalError !== undefined && (
        <div className="state state-error" role="alert">
          <strong>{t('templates.previewFailed')}</strong>
          <p>{errorMessage(props.generalError, t)}</p>
        </div>
      )}
      {!rendered && !isUpdating && props.generalError === undefined && (
        <p className="state state-empty">{t('templates.noPreview')}</p>
      )}
      {rendered && (
        <div className={props.preview.error ? 'preview-body is-stale' : 'preview-body'}>
          {props.preview.error !== undefined && <p className="hint">{t('templates.previewStale')}</p>}
          <dl className="preview-envelope">
            <dt>{t('templates.previewSubject')}</dt>
            <dd data-testid="preview-subject">{rendered.subject}</dd>
            {rendered.preheader && (
              <>
                <dt>{t('templates.previewPreheader')}</dt>
                <dd>{rendered.preheader}</dd>
              </>
            )}
          </dl>
          <div className={`preview-frame preview-${width}`}>
            {view === 'html' ? (
              <iframe title={t('templates.previewFrame')} sandbox="" srcDoc={rendered.html} />
            ) : (
              <pre className="preview-text" data-testid="preview-text">
                {rendered.text}
              </pre>
            )}
          </div>
        </div>
      )}
    </section>
  );
}
