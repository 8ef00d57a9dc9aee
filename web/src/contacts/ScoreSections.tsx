import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, workspacePath } from '../app/api.js';
import { useFormat } from '../app/format.js';
import { isAdminOf, useSession } from '../app/session.js';
import { useScoringDefinitions } from '../app/workspace-queries.js';
import { Field } from '../components/field.js';
import { Pager, usePage } from '../components/pager.js';
import { EmptyState, ErrorState } from '../components/states.js';
import { useIntentSettings } from '../scoring/intent-settings.js';
import '../scoring/messages.js';
import type { Intent } from './contact-api.js';
import {
  droppedReason,
  isPastRecycleStage,
  type Ledger,
  ledgerOf,
  type Reason,
  type ScoreModelView,
  stageReason,
} from './contact-format.js';

function Reasons(props: { reasons: Reason[] }) {
  const { t } = useTranslation();
  // A comparison is said in words (`equals`), as the model editor says it, not as its code (`eq`).
  const said = (reason: Reason) =>
    typeof reason.values.op === 'string'
      ? {
          ...reason.values,
          op: t(`scoring.conditions.ops.${reason.values.op}`, { defaultValue: reason.values.op }),
        }
      : reason.values;
  return <>{props.reasons.map((reason) => t(reason.key, said(reason))).join(' · ')}</>;
}

function LedgerTable(props: { ledger: Ledger }) {
  const { t } = useTranslation();
  const format = useFormat();
  const { ledger } = props;
  const page = usePage(ledger.lines);
  // Each cell carries its column's heading too: on a phone a line reads as a card of label and value.
  const heading = {
    time: t('contacts.time'),
    rule: t('contacts.rule'),
    why: t('contacts.why'),
    pointsThen: t('contacts.pointsThen'),
    pointsNow: t('contacts.pointsNow'),
  };
  return (
    <div className="card ledger" data-testid={`ledger-${ledger.model}`}>
      <h3>{t('contacts.scoreOf', { model: ledger.modelName, score: format.number(ledger.score) })}</h3>
      {ledger.capNote && (
        <p className="hint" data-testid={`model-cap-${ledger.model}`}>
          {t(ledger.capNote.key, {
            cap: format.number(ledger.capNote.values.cap as number),
            points: format.number(ledger.capNote.values.points as number),
          })}
        </p>
      )}
      {ledger.lines.length > 0 && (
        <>
          <table className="table cards-on-phone">
            <caption className="visually-hidden">{t('contacts.ledger', { model: ledger.modelName })}</caption>
            <thead>
              <tr>
                <th scope="col">{heading.time}</th>
                <th scope="col">{heading.rule}</th>
                <th scope="col">{heading.why}</th>
                <th scope="col" className="number">
                  {heading.pointsThen}
                </th>
                <th scope="col" className="number">
                  {heading.pointsNow}
                </th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((line) => (
                <tr key={`${line.eventId}:${line.rule}`}>
                  <td data-label={heading.time}>
                    <time dateTime={line.at}>{format.dateTime(line.at)}</time>
                  </td>
                  <td data-label={heading.rule}>
                    <code>{line.rule}</code>
                  </td>
                  <td data-label={heading.why}>
                    <Reasons reasons={line.reasons} />
                  </td>
                  <td className="number" data-label={heading.pointsThen}>
                    {format.number(line.points)}
                  </td>
                  <td className="number" data-label={heading.pointsNow}>
                    {format.number(line.current)}
                    {line.isDecayed && <span className="hint"> ({t('contacts.decayed')})</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager page={page} />
        </>
      )}
      {ledger.fit.length > 0 && (
        <>
          <h4>{t('contacts.fitTitle')}</h4>
          <table className="table">
            <thead>
              <tr>
                <th scope="col">{t('contacts.rule')}</th>
                <th scope="col">{t('contacts.why')}</th>
                <th scope="col" className="number">
                  {t('contacts.pointsNow')}
                </th>
              </tr>
            </thead>
            <tbody>
              {ledger.fit.map((fit) => (
                <tr key={fit.rule}>
                  <td>
                    <code>{fit.rule}</code>
                  </td>
                  <td>
                    <Reasons reasons={fit.reasons} />
                  </td>
                  <td className="number">{format.number(fit.points)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}

/** Each score with the ledger behind it: every award, the rule that gave it, and what decay left of it. */
export function ScoresSection(props: { intent: Intent; models: ScoreModelView[] | undefined }) {
  const { t } = useTranslation();
  const ledgers = props.intent.scores.map((score) => ledgerOf(score, props.models));
  return (
    <div className="contact-section">
      <h2>{t('contacts.tabs.scores')}</h2>
      {ledgers.length === 0 ? (
        <EmptyState>{t('contacts.noScores')}</EmptyState>
      ) : (
        ledgers.map((ledger) => <LedgerTable key={ledger.model} ledger={ledger} />)
      )}
    </div>
  );
}

/** How the contact moved through the lifecycle stages, oldest first, and why. */
export function StageHistorySection(props: { intent: Intent }) {
  const { t } = useTranslation();
  const format = useFormat();
  const { workspace } = useSession();
  const definitions = useScoringDefinitions(workspace.id);
  const history = props.intent.stageHistory;
  const page = usePage(history);
  /** A score model by the name its ledger shows, not by its id. */
  const modelName = (id: string) => definitions.data?.models.find((model) => model.id === id)?.name ?? id;
  const stageReasonText = (recorded: string) => {
    const reason = stageReason(recorded);
    if ('text' in reason) return reason.text;
    const { score, model } = reason.values;
    return t(reason.key, {
      ...reason.values,
      ...(typeof score === 'number' ? { score: format.number(score) } : {}),
      ...(typeof model === 'string' ? { model: modelName(model) } : {}),
    });
  };
  // Each cell carries its column's heading too: on a phone a change reads as a card of label and value,
  // its time on one line rather than squeezed into a quarter of the width.
  const heading = {
    time: t('contacts.time'),
    from: t('contacts.from'),
    to: t('contacts.to'),
    reason: t('contacts.reason'),
  };
  return (
    <div className="contact-section">
      <h2>{t('contacts.tabs.stages')}</h2>
      {history.length === 0 ? (
        <EmptyState>{t('contacts.noStageHistory')}</EmptyState>
      ) : (
        <>
          <table className="table stage-history cards-on-phone">
            <thead>
              <tr>
                <th scope="col">{heading.time}</th>
                <th scope="col">{heading.from}</th>
                <th scope="col">{heading.to}</th>
                <th scope="col">{heading.reason}</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((change) => (
                <tr key={`${change.at}:${change.from}:${change.to}`}>
                  <td data-label={heading.time}>
                    <time dateTime={change.at}>{format.dateTime(change.at)}</time>
                  </td>
                  <td data-label={heading.from}>{change.from ?? t('contacts.noStage')}</td>
                  <td data-label={heading.to}>
                    <strong>{change.to}</strong>
                  </td>
                  <td data-label={heading.reason}>{stageReasonText(change.reason)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager page={page} />
        </>
      )}
    </div>
  );
}

/**
 * The contact's hand-offs to sales, newest first: the owner, by when sales had to accept, and what
 * became of it; and, for a lead sales rejected, the way back to the recycle stage.
 */
export function HandOffsOfContact(props: { intent: Intent; profileId: string }) {
  const { t } = useTranslation();
  const format = useFormat();
  const { workspace } = useSession();
  // Sending back is for admins, as is the settings document that names the recycle stage: a member
  // asking for it would only be refused.
  const isAdmin = isAdminOf(workspace);
  const settings = useIntentSettings({ enabled: isAdmin });
  const queryClient = useQueryClient();
  // From what every member may read: members see a contact's hand-offs too.
  const definitions = useScoringDefinitions(workspace.id);
  const owners = new Map((definitions.data?.owners ?? []).map((owner) => [owner.id, owner.name]));
  const recycleTo = settings.data?.lifecycle?.recycleTo;
  // Why sales sent the lead back: the CRM and the stage history say it (else "recycled by hand").
  const [reason, setReason] = useState('');
  const recycle = useMutation({
    mutationFn: () =>
      api<{ from: string | null; to: string }>(
        'POST',
        workspacePath(workspace.id, `/profiles/${encodeURIComponent(props.profileId)}/lifecycle/recycle`),
        reason.trim() ? { reason: reason.trim() } : {},
      ),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['profile', workspace.id, props.profileId] }),
  });
  const handOffs = props.intent.handOffs;
  const droppedReasonText = (recorded: string) => {
    const reason = droppedReason(recorded);
    return 'text' in reason ? reason.text : t(reason.key);
  };
  const [isConfirming, setIsConfirming] = useState(false);
  const stage = props.intent.stage;
  const canRecycle = isPastRecycleStage(stage, settings.data?.lifecycle);
  // Each cell carries its column's heading too: on a phone a hand-off reads as a card of label and value.
  const heading = {
    owner: t('contacts.owner'),
    status: t('common.status'),
    handedOff: t('contacts.handedOff'),
    acceptBy: t('contacts.acceptBy'),
    settled: t('contacts.settled'),
  };
  return (
    <div className="contact-section">
      <h2>{t('contacts.handOffsTitle')}</h2>
      {handOffs.length === 0 ? (
        <EmptyState>{t('contacts.noHandOffs')}</EmptyState>
      ) : (
        <table className="table cards-on-phone" data-testid="contact-hand-offs">
          <thead>
            <tr>
              <th scope="col">{heading.owner}</th>
              <th scope="col">{heading.status}</th>
              <th scope="col">{heading.handedOff}</th>
              <th scope="col">{heading.acceptBy}</th>
              <th scope="col">{heading.settled}</th>
            </tr>
          </thead>
          <tbody>
            {handOffs.map((handOff) => {
              const settledAt = handOff.acceptedAt ?? handOff.breachedAt;
              return (
                <tr key={handOff.id}>
                  <td data-label={heading.owner}>
                    {handOff.owner === null ? (
                      t('scoring.handOffs.noOwnerYet')
                    ) : (
                      <>
                        {owners.get(handOff.owner) ?? handOff.owner} <code>{handOff.owner}</code>
                      </>
                    )}
                  </td>
                  <td data-label={heading.status}>
                    <span
                      className={`badge hand-off-${handOff.status}`}
                      title={
                        handOff.status === 'awaiting_identity'
                          ? t('scoring.handOffs.awaitingIdentityHint')
                          : undefined
                      }
                    >
                      {t(`scoring.handOffs.statuses.${handOff.status}`)}
                    </span>
                    {handOff.owedAt && (
                      <div className="hint">
                        {t('contacts.owedSince', { at: format.dateTime(handOff.owedAt) })}
                      </div>
                    )}
                    {handOff.droppedReason && (
                      <div className="hint">{droppedReasonText(handOff.droppedReason)}</div>
                    )}
                  </td>
                  <td data-label={heading.handedOff}>
                    {/* One owed, or dropped before it was made, was never handed off: its owedAt says when it was owed. */}
                    {handOff.owner === null ? (
                      '—'
                    ) : (
                      <time dateTime={handOff.createdAt}>{format.dateTime(handOff.createdAt)}</time>
                    )}
                  </td>
                  <td data-label={heading.acceptBy}>
                    {handOff.acceptBy ? (
                      <time dateTime={handOff.acceptBy}>{format.dateTime(handOff.acceptBy)}</time>
                    ) : (
                      '—'
                    )}
                  </td>
                  <td data-label={heading.settled}>
                    {settledAt ? <time dateTime={settledAt}>{format.dateTime(settledAt)}</time> : '—'}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <div className="toolbar">
        {canRecycle && !isConfirming && (
          <button type="button" title={t('contacts.recycleHint')} onClick={() => setIsConfirming(true)}>
            {t('contacts.recycle', { stage: recycleTo })}
          </button>
        )}
        {recycle.isSuccess && <span role="status">{t('contacts.recycled', { stage: recycle.data.to })}</span>}
      </div>
      {canRecycle && isConfirming && (
        <div className="confirm" role="alertdialog" aria-label={t('contacts.recycle', { stage: recycleTo })}>
          <p>{t('contacts.confirmRecycle', { stage: recycleTo, from: stage })}</p>
          <Field label={t('contacts.recycleReason')} hint={t('contacts.recycleReasonHint')}>
            {(control) => (
              <input
                {...control}
                maxLength={200}
                value={reason}
                onChange={(event) => setReason(event.target.value)}
              />
            )}
          </Field>
          <button
            type="button"
            className="danger"
            disabled={recycle.isPending}
            onClick={() => recycle.mutate(undefined, { onSettled: () => setIsConfirming(false) })}
          >
            {t('contacts.recycleConfirm', { stage: recycleTo })}
          </button>
          <button type="button" onClick={() => setIsConfirming(false)}>
            {t('common.cancel')}
          </button>
        </div>
      )}
      {recycle.error && <ErrorState error={recycle.error} />}
    </div>
  );
}
