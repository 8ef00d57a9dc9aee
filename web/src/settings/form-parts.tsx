import type { HTMLInputTypeAttribute } from 'react';
import { useTranslation } from 'react-i18next';
import { Field } from '../components/field.js';
import { errorMessage } from '../components/states.js';
import { privateTargetHost } from './private-target.js';
import type { FieldErrors, Problem } from './settings-model.js';

/** Looks up the error of a field by its dotted path, in the console's language. */
export function useErrorAt(errors: FieldErrors): (path: string) => string | undefined {
  const { t } = useTranslation();
  return (path) => problemText(errors[path], t);
}

export function problemText(problem: Problem | undefined, t: (key: string) => string): string | undefined {
  if (!problem) return undefined;
  return 'key' in problem ? t(`settings.problems.${problem.key}`) : problem.message;
}

export function TextField(props: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  error?: string | undefined;
  hint?: string | undefined;
  type?: HTMLInputTypeAttribute;
  autoComplete?: string;
  inputMode?: 'numeric' | 'email' | 'text' | 'tel' | 'url';
  placeholder?: string;
  list?: string;
}) {
  return (
    <Field label={props.label} error={props.error} {...(props.hint ? { hint: props.hint } : {})}>
      {(control) => (
        <input
          {...control}
          type={props.type ?? 'text'}
          value={props.value}
          autoComplete={props.autoComplete}
          inputMode={props.inputMode}
          placeholder={props.placeholder}
          list={props.list}
          onChange={(event) => props.onChange(event.target.value)}
        />
      )}
    </Field>
  );
}

/**
 * The switch letting a section call loopback or private addresses. Where the server forbids those
 * (no MOPS_ALLOW_PRIVATE_NETWORKS) it is not offered, only said; one turned on before stays, to be
 * turned off.
 */
export function PrivateNetworksField(props: {
  label: string;
  checked: boolean;
  onChange: (checked: boolean) => void;
  serverAllows: boolean | undefined;
}) {
  const { t } = useTranslation();
  const isForbidden = props.serverAllows === false;
  return (
    <>
      {(!isForbidden || props.checked) && (
        <label className="checkbox">
          <input
            type="checkbox"
            checked={props.checked}
            onChange={(event) => props.onChange(event.target.checked)}
          />
          {props.label}
        </label>
      )}
      {isForbidden && <small className="hint">{t('settings.privateNetworksForbidden')}</small>}
    </>
  );
}

/**
 * What to say under a URL the server will refuse to call (a private address written as such, while
 * the section does not allow private networks): saved as it is, every call to it would fail.
 */
export function usePrivateWarning(): (url: string, isAllowed: boolean) => string | undefined {
  const { t } = useTranslation();
  return (url, isAllowed) => {
    const host = isAllowed ? undefined : privateTargetHost(url);
    return host === undefined ? undefined : t('settings.privateTarget', { host });
  };
}

/**
 * Below a section's form: the save button, and what happened — saved, fields to fix, or a failure
 * that no field explains.
 */
export function SaveBar(props: {
  label?: string;
  isSaving: boolean;
  isSaved: boolean;
  hasFieldErrors: boolean;
  error: unknown;
}) {
  const { t } = useTranslation();
  return (
    <div className="settings-save">
      <button type="submit" className="primary" disabled={props.isSaving}>
        {props.label ?? t('common.save')}
      </button>
      <div aria-live="polite">
        {props.isSaved && <span className="notice">{t('settings.saved')}</span>}
        {props.hasFieldErrors && <span className="field-error">{t('settings.fixFields')}</span>}
      </div>
      {props.error !== undefined && !props.hasFieldErrors && (
        <p className="field-error" role="alert">
          {errorMessage(props.error, t)}
        </p>
      )}
    </div>
  );
}
