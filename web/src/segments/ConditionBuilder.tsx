import { useId } from 'react';
import { useTranslation } from 'react-i18next';
import { Field } from '../components/field.js';
import {
  type BuilderContext,
  BuilderContextProvider,
  errorKey,
  useBuilder,
  type WorkspaceDefinitions,
} from './builder-context.js';
import { ConditionFields } from './ConditionFields.js';
import {
  type BuilderNode,
  CONDITION_TYPES,
  type ConditionDraft,
  type ConditionNode,
  type ConditionType,
  conditionNode,
  type GroupNode,
  groupNode,
  newCondition,
} from './rule-model.js';
import { addChild, removeNode, updateNode } from './rule-tree.js';

/**
 * Groups of conditions joined by all (AND) or any (OR), nested, each group or condition negatable.
 * `errors` holds messages by `errorKey(node, control)`; `segments` are those a condition may ask about.
 */
export function ConditionBuilder(props: {
  root: GroupNode;
  onChange(root: GroupNode): void;
  errors: ReadonlyMap<string, string>;
  segments: ReadonlyArray<{ id: string; name: string }>;
  definitions?: WorkspaceDefinitions | undefined;
  eventNames?: readonly string[] | undefined;
}) {
  const { root, onChange, errors } = props;
  const context: BuilderContext = {
    edit: (id, change) => onChange(updateNode(root, id, change)),
    add: (groupId, child) => onChange(addChild(root, groupId, child)),
    remove: (id) => onChange(removeNode(root, id)),
    error: (nodeId, field) => errors.get(errorKey(nodeId, field)),
    segments: props.segments,
    definitions: props.definitions,
    eventNames: props.eventNames,
  };
  return (
    <BuilderContextProvider value={context}>
      <GroupEditor group={root} path="rule" isRoot />
    </BuilderContextProvider>
  );
}

function NegateToggle(props: { node: BuilderNode }) {
  const { t } = useTranslation();
  const { edit } = useBuilder();
  return (
    <label className="negate">
      <input
        type="checkbox"
        checked={props.node.negated}
        onChange={(event) => edit(props.node.id, (node) => ({ ...node, negated: event.target.checked }))}
      />
      {t('segments.builder.negate')}
    </label>
  );
}

function NodeError(props: { nodeId: string }) {
  const { error } = useBuilder();
  const message = error(props.nodeId, 'children') ?? error(props.nodeId, '');
  return message ? (
    <p className="field-error" role="alert">
      {message}
    </p>
  ) : null;
}

function GroupEditor(props: { group: GroupNode; path: string; isRoot?: boolean }) {
  const { t } = useTranslation();
  const { edit, add, remove } = useBuilder();
  const { group, path } = props;
  const matchId = useId();
  return (
    <fieldset
      className={`rule-group${group.negated ? ' negated' : ''}${group.match === 'any' ? ' match-any' : ''}`}
      data-testid={`node-${path}`}
    >
      <legend className="visually-hidden">{t('segments.builder.match')}</legend>
      <div className="rule-group-head">
        <label htmlFor={matchId}>{t('segments.builder.match')}</label>
        <select
          id={matchId}
          value={group.match}
          onChange={(event) =>
            edit(group.id, (node) => ({ ...node, match: event.target.value as 'all' | 'any' }))
          }
        >
          <option value="all">{t('segments.builder.matchAll')}</option>
          <option value="any">{t('segments.builder.matchAny')}</option>
        </select>
        <NegateToggle node={group} />
        <div className="spacer" />
        {!props.isRoot && (
          <button type="button" className="danger" onClick={() => remove(group.id)}>
            {t('segments.builder.removeGroup')}
          </button>
        )}
      </div>
      <NodeError nodeId={group.id} />
      <ol className="rule-children">
        {group.children.map((child, index) => (
          <li key={child.id}>
            {index > 0 && (
              <span className="rule-joiner" aria-hidden="true">
                {t(group.match === 'all' ? 'segments.builder.joinAll' : 'segments.builder.joinAny')}
              </span>
            )}
            {child.kind === 'group' ? (
              <GroupEditor group={child} path={`${path}.${index}`} />
            ) : (
              <ConditionEditor node={child} path={`${path}.${index}`} />
            )}
          </li>
        ))}
      </ol>
      <div className="rule-group-actions">
        <button type="button" onClick={() => add(group.id, conditionNode(newCondition('trait')))}>
          {t('segments.builder.addCondition')}
        </button>
        <button
          type="button"
          onClick={() =>
            add(
              group.id,
              groupNode(group.match === 'all' ? 'any' : 'all', [conditionNode(newCondition('event'))]),
            )
          }
        >
          {t('segments.builder.addGroup')}
        </button>
      </div>
    </fieldset>
  );
}

function ConditionEditor(props: { node: ConditionNode; path: string }) {
  const { t } = useTranslation();
  const { edit, remove } = useBuilder();
  const { node } = props;
  const change = (condition: ConditionDraft) => edit(node.id, (current) => ({ ...current, condition }));
  return (
    <div className={`rule-condition${node.negated ? ' negated' : ''}`} data-testid={`node-${props.path}`}>
      <div className="rule-condition-head">
        <Field label={t('segments.builder.conditionType')}>
          {(control) => (
            <select
              {...control}
              value={node.condition.type}
              onChange={(event) => change(newCondition(event.target.value as ConditionType))}
            >
              {CONDITION_TYPES.map((type) => (
                <option key={type} value={type}>
                  {t(`segments.builder.types.${type}`)}
                </option>
              ))}
            </select>
          )}
        </Field>
        <NegateToggle node={node} />
        <div className="spacer" />
        <button type="button" className="danger" onClick={() => remove(node.id)}>
          {t('segments.builder.removeCondition')}
        </button>
      </div>
      <NodeError nodeId={node.id} />
      <div className="rule-fields">
        <ConditionFields nodeId={node.id} draft={node.condition} onChange={change} />
      </div>
    </div>
  );
}
