import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useEffect, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useLocation, useNavigate, useParams, useSearchParams } from 'react-router-dom';
import { MAX_IN_LIST_VALUES } from '../../../src/core/in-lists.js';
import { ApiError, api, workspacePath } from '../app/api.js';
import { useFormat } from '../app/format.js';
import { useSession } from '../app/session.js';
import { useEventNames, useScoringDefinitions, useSegmentList } from '../app/workspace-queries.js';
import { Field } from '../components/field.js';
import { ErrorState, errorMessage, Loading } from '../components/states.js';
import { errorKey } from './builder-context.js';
import { ConditionBuilder } from './ConditionBuilder.js';
import { RulePreview, useRulePreview } from './RulePreview.js';
import './messages.js';
import { builderFromRule, emptyRoot, type GroupNode, ruleFromBuilder } from './rule-model.js';
import { locateField, validateBuilder } from './rule-tree.js';
import { SegmentMembers } from './SegmentMembers.js';
import { SegmentStatus } from './SegmentStatus.js';
import { StaticListUpload } from './StaticListUpload.js';
import type { SegmentJson } from './segment-api.js';
import './segments.css';

/** How often a backfilling segment is asked for its progress. */
const BACKFILL_POLL_MS = 1000;
/** How often an open live segment's count is read again. */
const LIVE_POLL_MS = 5000;
export const NEW_SEGMENT = 'new';

/** `/segments/new?kind=live|static` creates one; `/segments/{id}` edits it, with its members. */
export function SegmentPage() {
  const { segmentId = '' } = useParams();
  const [search] = useSearchParams();
  const { workspace } = useSession();
  const segment = useQuery({
    queryKey: ['segment', workspace.id, segmentId],
    queryFn: () =>
      api<SegmentJson>('GET', workspacePath(workspace.id, `/segments/${encodeURIComponent(segmentId)}`)),
    enabled: segmentId !== NEW_SEGMENT,
    // A backfill that stopped on a failure moves no more until the segment is saved again; a live
    // segment keeps moving as events arrive, and its page with it (the members list follows the count).
    refetchInterval: (query) => {
      const shown = query.state.data;
      if (shown?.status === 'backfilling') return shown.backfill.failure === null ? BACKFILL_POLL_MS : false;
      return shown?.kind === 'live' ? LIVE_POLL_MS : false;
    },
  });
  if (segmentId === NEW_SEGMENT)
    return <SegmentEditor key="new" kind={search.get('kind') === 'static' ? 'static' : 'live'} />;
  if (segment.isPending) return <Loading />;
  // A poll that fails while a backfill runs keeps the editor (and its unsaved edits) on screen.
  if (!segment.data) return <ErrorState error={segment.error} onRetry={() => void segment.refetch()} />;
  return (
    <>
      <SegmentEditor key={segment.data.id} kind={segment.data.kind} segment={segment.data} />
      {segment.data.kind === 'static' && <StaticListUpload segment={segment.data} />}
      <SegmentMembers segment={segment.data} />
    </>
  );
}

function SegmentEditor(props: { kind: 'live' | 'static'; segment?: SegmentJson }) {
  const { t } = useTranslation();
  const format = useFormat();
  const { workspace } = useSession();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const { kind, segment } = props;
  const [name, setName] = useState(segment?.name ?? '');
  const [description, setDescription] = useState(segment?.description ?? '');
  const [root, setRoot] = useState<GroupNode>(() =>
    segment?.rule ? builderFromRule(segment.rule) : emptyRoot(),
  );
  // Problems show once saving was tried, not while a new condition is still being filled in.
  const [isChecked, setIsChecked] = useState(false);
  // A segment just created opens as itself, anew: the notice that it was saved comes along.
  const location = useLocation();
  const [notice, setNotice] = useState<string | undefined>(
    () => (location.state as { notice?: string } | null)?.notice,
  );
  // Said once: the browser keeps a history entry's state through a reload, which would say it again.
  // Taken off the entry as it stands (a navigation would open the page anew, without the notice).
  useEffect(() => {
    const entry = window.history.state as { usr?: unknown } | null;
    if (entry?.usr) window.history.replaceState({ ...entry, usr: null }, '');
  }, []);
  const problems = useMemo(() => (kind === 'live' ? validateBuilder(root) : []), [kind, root]);
  const rule = useMemo(() => ruleFromBuilder(root), [root]);
  // Compared as the builder would save the stored rule: opening a segment changes nothing by itself.
  const isRuleChanged = useMemo(
    () =>
      segment?.rule != null &&
      JSON.stringify(rule) !== JSON.stringify(ruleFromBuilder(builderFromRule(segment.rule))),
    [rule, segment?.rule],
  );
  const isComplete = kind === 'live' && problems.length === 0;
  const preview = useRulePreview(rule, isComplete);
  const segmentsList = useSegmentList<SegmentJson>(workspace.id, { enabled: kind === 'live' });
  const otherSegments = (segmentsList.data ?? []).filter((other) => other.id !== segment?.id);
  const definitions = useScoringDefinitions(workspace.id);
  const eventNames = useEventNames(workspace.id);

  const save = useMutation({
    mutationFn: () => {
      const body = {
        name: name.trim(),
        // A change left without one keeps the stored description: an emptied box clears it.
        description: description.trim() || null,
        kind,
        ...(kind === 'live' ? { rule } : {}),
      };
      return segment
        ? api<SegmentJson>(
            'PUT',
            workspacePath(workspace.id, `/segments/${encodeURIComponent(segment.id)}`),
            body,
          )
        : api<SegmentJson>('POST', workspacePath(workspace.id, '/segments'), body);
    },
    onMutate: () => setNotice(undefined),
    onSuccess: async (saved) => {
      queryClient.setQueryData(['segment', workspace.id, saved.id], saved);
      await queryClient.invalidateQueries({ queryKey: ['segments', workspace.id] });
      setNotice(t('segments.saved'));
      if (!segment)
        void navigate(`/segments/${encodeURIComponent(saved.id)}`, {
          replace: true,
          state: { notice: t('segments.saved') },
        });
    },
  });
  const remove = useMutation({
    mutationFn: (id: string) =>
      api('DELETE', workspacePath(workspace.id, `/segments/${encodeURIComponent(id)}`)),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: ['segments', workspace.id] });
      void navigate('/segments');
    },
  });

  const saveError = save.error instanceof ApiError ? save.error : undefined;
  const errors = useMemo(() => {
    const found = new Map<string, string>();
    if (isChecked)
      for (const problem of problems)
        found.set(
          errorKey(problem.nodeId, problem.field),
          t(`segments.problem.${problem.problem}`, { limit: MAX_IN_LIST_VALUES }),
        );
    for (const error of [preview.error, saveError]) {
      if (!(error instanceof ApiError) || !error.field) continue;
      const place = locateField(root, error.field);
      // Beside the box, the message need not repeat the field the server prefixed it with.
      if (place)
        found.set(
          errorKey(place.nodeId, place.field),
          errorMessage(error, t).replace(`${error.field}: `, ''),
        );
    }
    return found;
  }, [isChecked, problems, preview.error, saveError, root, t]);
  const isRuleError = Boolean(saveError?.field?.startsWith('rule'));
  const nameError =
    isChecked && !name.trim()
      ? t('common.required')
      : saveError?.field === 'name'
        ? saveError.message
        : undefined;
  const descriptionError = saveError?.field === 'description' ? saveError.message : undefined;
  const otherError =
    save.error && !isRuleError && saveError?.field !== 'name' && saveError?.field !== 'description'
      ? save.error
      : undefined;

  function changeRoot(next: GroupNode) {
    setRoot(next);
    setNotice(undefined);
    if (isRuleError) save.reset();
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    setIsChecked(true);
    if (!name.trim() || problems.length > 0) return;
    save.mutate();
  }

  const title = segment?.name ?? (kind === 'live' ? t('segments.newLive') : t('segments.newStatic'));
  return (
    <div className="segment-page">
      <p>
        <Link to="/segments">← {t('segments.allSegments')}</Link>
      </p>
      <div className="segment-head">
        <h1>{title}</h1>
        <span className={`badge kind-${kind}`}>{t(`segments.kinds.${kind}`)}</span>
        <div className="spacer" />
        {segment && (
          <button
            type="button"
            className="danger"
            disabled={remove.isPending}
            onClick={() => {
              if (window.confirm(t('segments.deleteConfirm'))) remove.mutate(segment.id);
            }}
          >
            {t('common.delete')}
          </button>
        )}
      </div>
      {remove.error && <ErrorState error={remove.error} />}
      {segment && <SegmentStatus segment={segment} />}
      <form onSubmit={submit} noValidate>
        <div className="segment-fields">
          <Field label={t('common.name')} error={nameError}>
            {(control) => (
              <input {...control} value={name} onChange={(event) => setName(event.target.value)} />
            )}
          </Field>
          <Field label={t('segments.description')} error={descriptionError}>
            {(control) => (
              <input
                {...control}
                value={description}
                onChange={(event) => setDescription(event.target.value)}
              />
            )}
          </Field>
        </div>
        {kind === 'live' && (
          <div className="segment-editor">
            <section aria-labelledby="segment-rule-title">
              <h2 id="segment-rule-title">{t('segments.builder.title')}</h2>
              <ConditionBuilder
                root={root}
                onChange={changeRoot}
                errors={errors}
                segments={otherSegments}
                definitions={definitions.data}
                eventNames={eventNames}
              />
            </section>
            <RulePreview preview={preview} isComplete={isComplete} />
          </div>
        )}
        <div className="segment-actions" aria-live="polite">
          <button type="submit" className="primary" disabled={save.isPending}>
            {segment ? t('common.save') : t('common.create')}
          </button>
          {notice && !save.error && <span className="notice">{notice}</span>}
          {kind === 'live' && segment?.readySince && isRuleChanged && (
            <p className="hint" data-testid="rule-change-hint">
              {t('segments.ruleChangeReported', { members: format.number(segment.members) })}
            </p>
          )}
          {isChecked && problems.length > 0 && (
            <span className="field-error" role="alert">
              {/* Every field marked is counted: the name too, when it is the one left out. */}
              {t('segments.problems', { number: problems.length + (name.trim() ? 0 : 1) })}
            </span>
          )}
          {isRuleError && saveError && (
            <span className="field-error" role="alert">
              {errorMessage(saveError, t).replace(`${saveError.field}: `, '')}
            </span>
          )}
          {otherError && (
            <span className="field-error" role="alert">
              {errorMessage(otherError, t)}
            </span>
          )}
        </div>
      </form>
    </div>
  );
}
