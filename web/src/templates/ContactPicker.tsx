import { useQuery } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, workspacePath } from '../app/api.js';
import { useSession } from '../app/session.js';
import { ErrorState, Loading } from '../components/states.js';
import { useDebouncedValue } from './preview.js';

export interface ContactChoice {
  id: string;
  userId: string | null;
  traits: Record<string, unknown>;
}

const RESULTS = 8;
const SEARCH_DELAY_MS = 250;

/** How a contact is named in the picker: their name, else e-mail, else user id, else profile id. */
export function contactLabel(contact: ContactChoice): string {
  const text = (key: string) => {
    const value = contact.traits[key];
    return typeof value === 'string' && value.trim() ? value.trim() : undefined;
  };
  const fullName = [text('first_name'), text('last_name')].filter(Boolean).join(' ') || text('name');
  const email = text('email');
  if (fullName) return email ? `${fullName} <${email}>` : fullName;
  return email ?? contact.userId ?? contact.id;
}

/** Searches the workspace's contacts and picks the one whose traits personalise the preview. */
export function ContactPicker(props: {
  chosen: ContactChoice | undefined;
  onChoose: (contact: ContactChoice | undefined) => void;
  error?: string | undefined;
}) {
  const { t } = useTranslation();
  const { workspace } = useSession();
  const searchId = useId();
  const [query, setQuery] = useState('');
  const settledQuery = useDebouncedValue(query.trim(), SEARCH_DELAY_MS);
  const contacts = useQuery({
    queryKey: ['template-contacts', workspace.id, settledQuery],
    queryFn: async () => {
      const search = new URLSearchParams({ limit: String(RESULTS) });
      if (settledQuery) search.set('q', settledQuery);
      return (
        await api<{ items: ContactChoice[] }>('GET', workspacePath(workspace.id, `/profiles?${search}`))
      ).items;
    },
  });

  return (
    <fieldset className="contact-picker">
      <legend>{t('templates.contact')}</legend>
      <p className="hint" aria-live="polite">
        {props.chosen
          ? t('templates.previewingAs', { contact: contactLabel(props.chosen) })
          : t('templates.anonymous')}
      </p>
      {props.error && (
        <p className="field-error" role="alert">
          {props.error}
        </p>
      )}
      {props.chosen && (
        <button type="button" onClick={() => props.onChoose(undefined)}>
          {t('templates.clearContact')}
        </button>
      )}
      <div className="field">
        <label htmlFor={searchId}>{t('templates.searchContacts')}</label>
        <input id={searchId} type="search" value={query} onChange={(event) => setQuery(event.target.value)} />
      </div>
      {contacts.isPending && <Loading />}
      {contacts.error && <ErrorState error={contacts.error} onRetry={() => void contacts.refetch()} />}
      {contacts.data?.length === 0 && <p className="hint">{t('templates.noContacts')}</p>}
      {contacts.data && contacts.data.length > 0 && (
        <ul className="contact-results">
          {contacts.data.map((contact) => (
            <li key={contact.id}>
              <button
                type="button"
                aria-pressed={props.chosen?.id === contact.id}
                onClick={() => props.onChoose(contact)}
              >
                {contactLabel(contact)}
              </button>
            </li>
          ))}
        </ul>
      )}
    </fieldset>
  );
}
