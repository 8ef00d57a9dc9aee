import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useSearchParams } from 'react-router-dom';
import { useFormat } from '../app/format.js';
import { useSession } from '../app/session.js';
import { Field } from '../components/field.js';
import { EmptyState, ErrorState, Loading } from '../components/states.js';
import { CursorPager } from './CursorPager.js';
import { useProfiles } from './contact-api.js';
import { contactEmail, contactName } from './contact-format.js';
import { useCursorPages } from './cursor-paging.js';
import './contacts.css';
import './messages.js';

/** The search box; keyed by the query in the address, so following a link to /contacts empties it. */
function ContactSearch(props: { query: string; onSearch(query: string): void }) {
  const { t } = useTranslation();
  const [draft, setDraft] = useState(props.query);

  function submit(event: FormEvent) {
    event.preventDefault();
    props.onSearch(draft.trim());
  }

  return (
    <search>
      <form className="inline-form" onSubmit={submit} noValidate>
        <Field label={t('contacts.search')} hint={t('contacts.searchHint')}>
          {(control) => (
            <input
              {...control}
              type="search"
              className="contact-search"
              value={draft}
              maxLength={200}
              onChange={(event) => setDraft(event.target.value)}
            />
          )}
        </Field>
        <button type="submit" className="primary">
          {t('contacts.searchButton')}
        </button>
        {props.query && (
          <button type="button" onClick={() => props.onSearch('')}>
            {t('contacts.clear')}
          </button>
        )}
      </form>
    </search>
  );
}

export function ContactsPage() {
  const { t } = useTranslation();
  const format = useFormat();
  const { workspace } = useSession();
  // The search lives in the address, so that Back from a contact returns to the same results.
  const [searchParams, setSearchParams] = useSearchParams();
  const query = searchParams.get('q') ?? '';
  const pages = useCursorPages(`${workspace.id}\n${query}`);
  const profiles = useProfiles(workspace.id, query, pages.cursor);
  const items = profiles.data?.items ?? [];
  return (
    <>
      <h1>{t('contacts.title')}</h1>
      <ContactSearch key={query} query={query} onSearch={(q) => setSearchParams(q ? { q } : {})} />
      {profiles.isPending && <Loading />}
      {profiles.error && <ErrorState error={profiles.error} onRetry={() => void profiles.refetch()} />}
      {profiles.data && items.length === 0 && !pages.hasPrevious && (
        <EmptyState>
          {query ? (
            t('contacts.noMatch', { query })
          ) : (
            <>
              <p>{t('contacts.empty')}</p>
              <Link to="/settings/keys">{t('contacts.createKey')}</Link>
            </>
          )}
        </EmptyState>
      )}
      {items.length > 0 && (
        <table className="table" aria-busy={profiles.isFetching}>
          <thead>
            <tr>
              <th scope="col">{t('contacts.contact')}</th>
              <th scope="col">{t('contacts.userId')}</th>
              <th scope="col">{t('contacts.lastSeen')}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((profile) => {
              const name = contactName(profile.traits);
              const email = contactEmail(profile.traits);
              return (
                <tr key={profile.id}>
                  <td>
                    <Link to={`/contacts/${encodeURIComponent(profile.id)}`}>
                      {name ?? email ?? t('contacts.anonymous')}
                    </Link>
                    {name && email && <div className="hint">{email}</div>}
                  </td>
                  <td>{profile.userId ? <code>{profile.userId}</code> : t('contacts.notYet')}</td>
                  <td>{format.dateTime(profile.lastSeenAt)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <CursorPager pages={pages} nextCursor={profiles.data?.nextCursor} list={t('contacts.title')} />
    </>
  );
}
