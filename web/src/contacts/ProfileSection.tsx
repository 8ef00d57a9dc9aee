import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, workspacePath } from '../app/api.js';
import { useFormat } from '../app/format.js';
import { isAdminOf, useSession } from '../app/session.js';
import { EmptyState, ErrorState } from '../components/states.js';
import type { ProfileDetails } from './contact-api.js';
import { keyValueRows, type Traits } from './contact-format.js';

export function KeyValueTable(props: { values: Traits; caption: string; keyLabel?: string }) {
  const { t } = useTranslation();
  return (
    <table className="table key-values">
      <caption className="visually-hidden">{props.caption}</caption>
      <thead>
        <tr>
          <th scope="col">{props.keyLabel ?? t('contacts.trait')}</th>
          <th scope="col">{t('contacts.value')}</th>
        </tr>
      </thead>
      <tbody>
        {keyValueRows(props.values).map(([key, value]) => (
          <tr key={key}>
            <th scope="row">
              <code>{key}</code>
            </th>
            <td className="trait-value">{value}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Who the contact is: traits, the identities merged into it, and the accounts it belongs to. */
export function ProfileSection(props: { profile: ProfileDetails }) {
  const { t } = useTranslation();
  const format = useFormat();
  const { profile } = props;
  const heading = {
    kind: t('contacts.identityKind'),
    value: t('contacts.value'),
    since: t('contacts.since'),
  };
  return (
    <div className="contact-section">
      <h2>{t('contacts.traits')}</h2>
      {Object.keys(profile.traits).length === 0 ? (
        <EmptyState>{t('contacts.noTraits')}</EmptyState>
      ) : (
        <KeyValueTable values={profile.traits} caption={t('contacts.traits')} />
      )}

      <h2>{t('contacts.identities')}</h2>
      {/* On a phone an identity reads as a card, so its date stays on one line beside a long value. */}
      <table className="table identities cards-on-phone">
        <thead>
          <tr>
            <th scope="col">{heading.kind}</th>
            <th scope="col">{heading.value}</th>
            <th scope="col">{heading.since}</th>
          </tr>
        </thead>
        <tbody>
          {profile.identities.map((identity) => (
            <tr key={`${identity.kind}:${identity.value}`}>
              <td data-label={heading.kind}>{t(`contacts.identityKinds.${identity.kind}`)}</td>
              <td data-label={heading.value}>
                <code>{identity.value}</code>
              </td>
              <td data-label={heading.since}>
                <time dateTime={identity.createdAt}>{format.dateTime(identity.createdAt)}</time>
              </td>
            </tr>
          ))}
        </tbody>
      </table>

      <h2>{t('contacts.accounts')}</h2>
      {profile.accounts.length === 0 ? (
        <EmptyState>{t('contacts.noAccounts')}</EmptyState>
      ) : (
        profile.accounts.map((account) => (
          <div key={account.id} className="card account">
            <h3>
              {t('contacts.groupId')} <code>{account.groupId}</code>
            </h3>
            <KeyValueTable values={account.traits} caption={`${t('contacts.groupId')} ${account.groupId}`} />
            <AccountScores accountId={account.id} groupId={account.groupId} />
            <LeaveAccount profileId={profile.id} account={account} />
          </div>
        ))
      )}
    </div>
  );
}

/** For admins: takes the contact out of the account (it moved to another company), once confirmed. */
function LeaveAccount(props: { profileId: string; account: { id: string; groupId: string } }) {
  const { t } = useTranslation();
  const { workspace } = useSession();
  const queryClient = useQueryClient();
  const [isConfirming, setIsConfirming] = useState(false);
  // The button that opened the question is gone: the focus goes to the safe answer.
  const cancelRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (isConfirming) cancelRef.current?.focus();
  }, [isConfirming]);
  const { account } = props;
  const leave = useMutation({
    mutationFn: () =>
      api(
        'DELETE',
        workspacePath(
          workspace.id,
          `/profiles/${encodeURIComponent(props.profileId)}/accounts/${encodeURIComponent(account.id)}`,
        ),
      ),
    onSuccess: async () => {
      setIsConfirming(false);
      await queryClient.invalidateQueries({ queryKey: ['profile', workspace.id, props.profileId] });
    },
  });
  if (!isAdminOf(workspace)) return null;
  return (
    <div className="actions">
      {isConfirming ? (
        <div
          className="confirm"
          role="alertdialog"
          aria-label={t('contacts.confirmLeaveAccount', { groupId: account.groupId })}
        >
          <p>{t('contacts.confirmLeaveAccount', { groupId: account.groupId })}</p>
          <button type="button" className="danger" onClick={() => leave.mutate()} disabled={leave.isPending}>
            {t('contacts.confirmLeave')}
          </button>
          <button type="button" ref={cancelRef} onClick={() => setIsConfirming(false)}>
            {t('common.cancel')}
          </button>
        </div>
      ) : (
        <button type="button" className="danger" onClick={() => setIsConfirming(true)}>
          {t('contacts.leaveAccount', { groupId: account.groupId })}
        </button>
      )}
      {leave.error && <ErrorState error={leave.error} />}
    </div>
  );
}

/** How the account's contacts score together, per model, as of now (decay included). */
function AccountScores(props: { accountId: string; groupId: string }) {
  const { t } = useTranslation();
  const format = useFormat();
  const { workspace } = useSession();
  const scores = useQuery({
    queryKey: ['account-scores', workspace.id, props.accountId],
    queryFn: () =>
      api<{ items: Array<{ model: string; total: number; average: number; max: number; contacts: number }> }>(
        'GET',
        workspacePath(workspace.id, `/accounts/${encodeURIComponent(props.accountId)}/scores`),
      ),
  });
  const items = scores.data?.items ?? [];
  if (items.length === 0) return null;
  // Each cell carries its column's heading too: on a phone a model reads as a card of label and value.
  const heading = {
    model: t('contacts.model'),
    total: t('contacts.scoreTotal'),
    average: t('contacts.scoreAverage'),
    max: t('contacts.scoreMax'),
    contacts: t('contacts.contactsCounted'),
  };
  return (
    <table className="table cards-on-phone" data-testid={`account-scores-${props.groupId}`}>
      <caption>{t('contacts.accountScores')}</caption>
      <thead>
        <tr>
          <th scope="col">{heading.model}</th>
          <th scope="col" className="number">
            {heading.total}
          </th>
          <th scope="col" className="number">
            {heading.average}
          </th>
          <th scope="col" className="number">
            {heading.max}
          </th>
          <th scope="col" className="number">
            {heading.contacts}
          </th>
        </tr>
      </thead>
      <tbody>
        {items.map((item) => (
          <tr key={item.model}>
            <td data-label={heading.model}>
              <code>{item.model}</code>
            </td>
            <td className="number" data-label={heading.total}>
              {format.number(item.total)}
            </td>
            <td className="number" data-label={heading.average}>
              {format.number(item.average)}
            </td>
            <td className="number" data-label={heading.max}>
              {format.number(item.max)}
            </td>
            <td className="number" data-label={heading.contacts}>
              {format.number(item.contacts)}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
