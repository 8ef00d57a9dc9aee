import { useState } from 'react';
import { useSaveSettings } from './settings-api.js';
import { type FieldErrors, type SettingsView, serverFieldErrors } from './settings-model.js';

/**
 * The save flow of one settings section: check the form, save the change merged into the current
 * document, and put the server's complaint next to the field it names — or, when this section shows
 * no such field, under the form.
 */
export function useSectionSave(options: { prefixes: readonly string[]; isShown: (path: string) => boolean }) {
  const save = useSaveSettings();
  const [errors, setErrors] = useState<FieldErrors>({});
  const [failure, setFailure] = useState<unknown>();
  const [isSaved, setSaved] = useState(false);

  function submit(
    problems: FieldErrors,
    change: (current: SettingsView) => SettingsView,
    onSaved?: (saved: SettingsView) => void,
  ) {
    setSaved(false);
    setFailure(undefined);
    setErrors(problems);
    if (Object.keys(problems).length > 0) return;
    save.mutate(change, {
      onSuccess: (saved) => {
        setSaved(true);
        onSaved?.(saved);
      },
      onError: (error) => {
        const fieldErrors = serverFieldErrors(error, options.prefixes);
        if (fieldErrors && Object.keys(fieldErrors).every(options.isShown)) setErrors(fieldErrors);
        else setFailure(error);
      },
    });
  }

  return {
    errors,
    submit,
    bar: {
      isSaving: save.isPending,
      isSaved,
      hasFieldErrors: Object.keys(errors).length > 0,
      error: failure,
    },
  };
}
