import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useSearchParams } from 'react-router-dom';
import { useFormat } from '../app/format.js';
import { isAdminOf, useSession } from '../app/session.js';
import { useScoringDefinitions } from '../app/workspace-queries.js';
import { Field } from '../components/field.js';
import { EmptyState, ErrorState, Loading } from '../components/states.js';
import { CursorPager } from './CursorPager.js';
import { useContacts } from './contact-api.js';
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

/** Keeps the list to the contacts at one lifecycle stage, as soon as one is chosen. */
function StageFilter(props: { stages: string[]; stage: string; onChange(stage: string): void }) {
  const { t } = useTranslation();
  return (
    <Field label={t('contacts.stage')}>
      {(control) => (
        <select {...control} value={props.stage} onChange={(event) => props.onChange(event.target.value)}>
          <option value="">{t('contacts.anyStage')}</option>
          {props.stages.map((stage) => (
            <option key={stage} value={stage}>
              {stage}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

/** Lists the contacts newest first, or by a score model's score, highest first. */
function SortChoice(props: {
  models: Array<{ id: string; name: string }>;
  byScore: string;
  onChange(byScore: string): void;
}) {
  const { t } = useTranslation();
  return (
    <Field label={t('contacts.sortBy')}>
      {(control) => (
        <select {...control} value={props.byScore} onChange={(event) => props.onChange(event.target.value)}>
          <option value="">{t('contacts.newestFirst')}</option>
          {props.models.map((model) => (
            <option key={model.id} value={model.id}>
              {t('contacts.byScore', { model: model.name })}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

export function ContactsPage() {
  const { t } = useTranslation();
  const format = useFormat();
  const { workspace } = useSession();
  // The search, stage and order live in the address, so that Back from a contact returns to the same results.
  const [searchParams, setSearchParams] = useSearchParams();
  const query = searchParams.get('q') ?? '';
  const stage = searchParams.get('stage') ?? '';
  const byScore = searchParams.get('byScore') ?? '';
  const filterBy = (changed: Partial<{ q: string; stage: string; byScore: string }>) =>
    setSearchParams(
      Object.fromEntries(
        Object.entries({ q: query, stage, byScore, ...changed }).filter(([, value]) => value !== ''),
      ),
    );
  const pages = useCursorPages(`${workspace.id}\n${query}\n${stage}\n${byScore}`);
  const profiles = useContacts(workspace.id, { query, stage, byScore }, pages.cursor);
  const definitions = useScoringDefinitions(workspace.id);
  const models = definitions.data?.models ?? [];
  const stages = definitions.data?.stages ?? [];
  const items = profiles.data?.items ?? [];
  return (
    <>
      <h1>{t('contacts.title')}</h1>
      {isAdminOf(workspace) && (
        <p className="contacts-actions">
          <Link to="/contacts/import">{t('contacts.importContacts')}</Link>
        </p>
      )}
      <div className="contact-filters">
        <ContactSearch key={query} query={query} onSearch={(q) => filterBy({ q })} />
        {(stages.length > 0 || stage) && (
          <StageFilter stages={stages} stage={stage} onChange={(next) => filterBy({ stage: next })} />
        )}
        {(models.length > 0 || byScore) && (
          <SortChoice models={models} byScore={byScore} onChange={(next) => filterBy({ byScore: next })} />
        )}
      </div>
      {profiles.isPending && <Loading />}
      {profiles.error && <ErrorState error={profiles.error} onRetry={() => void profiles.refetch()} />}
      {profiles.data && items.length === 0 && !pages.hasPrevious && (
        <EmptyState>
          {stage ? (
            query ? (
              t('contacts.noneAtStageMatch', { stage, query })
            ) : (
              t('contacts.noneAtStage', { stage })
            )
          ) : query ? (
            t('contacts.noMatch', { query })
          ) : byScore ? (
            t('contacts.noneScored', { model: models.find((model) => model.id === byScore)?.name ?? byScore })
          ) : (
            <>
              <p>{t('contacts.empty')}</p>
              <Link to="/settings/keys">{t('contacts.createKey')}</Link>
            </>
          )}
        </EmptyState>
      )}
      {items.length > 0 && (
        <div className="table-scroll">
          <table className="table" aria-busy={profiles.isFetching}>
            <thead>
              <tr>
                <th scope="col">{t('contacts.contact')}</th>
                <th scope="col">{t('contacts.userId')}</th>
                <th scope="col">{t('contacts.listStage')}</th>
                <th scope="col">{t('contacts.listOwner')}</th>
                {models.map((model) => (
                  <th
                    scope="col"
                    key={model.id}
                    className="number"
                    aria-sort={model.id === byScore ? 'descending' : undefined}
                  >
                    {model.name}
                    {model.id === byScore && ' ↓'}
                  </th>
                ))}
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
                    <td>{profile.stage ?? t('contacts.nobody')}</td>
                    <td>{profile.owner?.name ?? t('contacts.nobody')}</td>
                    {models.map((model) => (
                      <td key={model.id} className="number">
                        {format.number(profile.scores.find((score) => score.model === model.id)?.score ?? 0)}
                      </td>
                    ))}
                    <td>{format.dateTime(profile.lastSeenAt)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <CursorPager pages={pages} nextCursor={profiles.data?.nextCursor} list={t('contacts.title')} />
    </>
  );
}
