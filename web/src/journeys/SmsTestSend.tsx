import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError, api, workspacePath } from '../app/api.js';
import { useSession } from '../app/session.js';
import { Field } from '../components/field.js';
import { errorMessage } from '../components/states.js';
import { defineMessages } from '../i18n.js';
import { serverMessage } from '../scoring/conditions.js';
import type { ContactChoice } from '../templates/ContactPicker.js';

const en = {
  title: 'Send a test text',
  to: 'Send to number',
  toHint: 'In international form, e.g. +39 347 123 4567',
  send: 'Send test text',
  sent: 'Test text sent to {{number}}.',
  hint: 'It goes through your SMS provider as the step sends it, as the contact the text is previewed as gets it. A click on it or its delivery is not written on the contact.',
};
const it: typeof en = {
  title: 'Invia un SMS di prova',
  to: 'Numero a cui inviare',
  toHint: 'In formato internazionale, ad es. +39 347 123 4567',
  send: 'Invia SMS di prova',
  sent: 'SMS di prova inviato a {{number}}.',
  hint: 'Passa dal tuo fornitore SMS come lo invia il passo, come lo riceve il contatto dell’anteprima. Un clic o la consegna non vengono scritti sul contatto.',
};
defineMessages('smsTest', { en, it });

/**
 * Sends an SMS step's text, as it stands in the builder, to the tester's own number (admins: texts
 * cost money), personalised for the contact the step is previewed as.
 */
export function SmsTestSend(props: {
  body: string;
  trackLinks: boolean;
  contact: ContactChoice | undefined;
}) {
  const { t } = useTranslation();
  const { workspace } = useSession();
  const { contact } = props;
  const [number, setNumber] = useState('');
  const [isBusy, setBusy] = useState(false);
  const [sentTo, setSentTo] = useState<string>();
  const [fieldError, setFieldError] = useState<{ field: string; message: string }>();
  const [problem, setProblem] = useState<unknown>();

  async function submit(event: FormEvent) {
    event.preventDefault();
    setSentTo(undefined);
    setFieldError(undefined);
    setProblem(undefined);
    setBusy(true);
    try {
      const sent = await api<{ toAddress: string }>('POST', workspacePath(workspace.id, '/sms/test-send'), {
        body: props.body,
        to: number,
        ...(contact ? { profileId: contact.id } : {}),
        ...(props.trackLinks ? { trackLinks: true } : {}),
      });
      setSentTo(sent.toAddress);
    } catch (error) {
      if (error instanceof ApiError && (error.field === 'to' || error.field === 'body'))
        setFieldError({ field: error.field, message: serverMessage(error.message, error.field) });
      else setProblem(error);
    } finally {
      setBusy(false);
    }
  }

  return (
    <details className="sms-test-send">
      <summary>{t('smsTest.title')}</summary>
      <form className="inline-form" onSubmit={(event) => void submit(event)} noValidate>
        <Field
          label={t('smsTest.to')}
          hint={t('smsTest.toHint')}
          error={fieldError?.field === 'to' ? fieldError.message : undefined}
        >
          {(control) => (
            <input
              {...control}
              type="tel"
              autoComplete="tel"
              value={number}
              onChange={(event) => setNumber(event.target.value)}
            />
          )}
        </Field>
        <button type="submit" disabled={isBusy || props.body.trim() === ''}>
          {t('smsTest.send')}
        </button>
      </form>
      <p className="hint">{t('smsTest.hint')}</p>
      <div aria-live="polite">
        {sentTo && (
          <p className="notice" role="status">
            {t('smsTest.sent', { number: sentTo })}
          </p>
        )}
      </div>
      {fieldError?.field === 'body' && (
        <p className="field-error" role="alert">
          {fieldError.message}
        </p>
      )}
      {problem !== undefined && (
        <p className="field-error" role="alert">
          {errorMessage(problem, t)}
        </p>
      )}
    </details>
  );
}
