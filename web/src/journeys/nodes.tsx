import { Handle, type NodeProps, Position } from '@xyflow/react';
import { createContext, useContext } from 'react';
import { useTranslation } from 'react-i18next';
import { useFormat } from '../app/format.js';
import { useSession } from '../app/session.js';
import { useScoringDefinitions, useSegmentList, useTemplateList } from '../app/workspace-queries.js';
import { armSummary } from './branch-summary.js';
import {
  type Condition,
  type EntryNode,
  portsOf,
  START_PORT,
  type StepBody,
  type StepNode,
  splitArmName,
} from './graph.js';
import { type SplitResult, useSplitLine } from './SplitResults.js';
import { shareLabels } from './split-shares.js';

/** The width one exit's label takes (`otherwise`, `yes 10`), and a step's narrowest (styles.css). */
const PORT_LABEL_REM = 3.5;
const STEP_MIN_WIDTH_REM = 11;

export interface StepCounts {
  entered: number;
  completed: number;
  waiting: number;
  exited: number;
  converted: number;
}

/** How a sending step's messages fared (the journey report's `messages`). */
export interface MessageCounts {
  sent: number;
  opened: number;
  clicked: number;
  /** Texts the provider reported delivered. */
  delivered: number;
  /** Not sent, and why: on purpose (a goal reached, no address), refused, or not yet. */
  skipped: number;
  suppressed: number;
  failed: number;
  pending: number;
}

/** The reasons a step's messages did not go, those that happened, in the order a marketer asks. */
const NOT_SENT = ['skipped', 'suppressed', 'failed', 'pending'] as const;

/** What the canvas overlays on nodes: problems to fix, what is still unfinished, and live counts once published. */
export interface CanvasOverlay {
  /** Listed on the node: refusals, and what it lacks once publishing was refused for it. */
  problems: Map<string, string[]>;
  /** What each node lacks before the journey can be published, marked on it. */
  unfinished?: Map<string, string[]>;
  counts: Record<string, StepCounts> | undefined;
  messages?: Record<string, MessageCounts> | undefined;
  /** Each split's arms judged on the goal (the journey report's `splits`). */
  splits?: SplitResult[] | undefined;
  /** The template each e-mail step sends, by step id: a branch on an e-mail names it by its template. */
  emailTemplates?: ReadonlyMap<string, string>;
}

export const OverlayContext = createContext<CanvasOverlay>({ problems: new Map(), counts: undefined });

function Problems(props: { nodeId: string }) {
  const problems = useContext(OverlayContext).problems.get(props.nodeId) ?? [];
  if (problems.length === 0) return null;
  return (
    <ul className="node-problems" role="alert">
      {problems.map((problem) => (
        <li key={problem}>{problem}</li>
      ))}
    </ul>
  );
}

/** A mark on a node that still lacks something: it says what on hover, and to screen readers. */
function UnfinishedMark(props: { nodeId: string }) {
  const { t } = useTranslation();
  const overlay = useContext(OverlayContext);
  const lacks = overlay.unfinished?.get(props.nodeId) ?? [];
  // Once listed in full on the node, the mark would only repeat it.
  if (lacks.length === 0 || overlay.problems.has(props.nodeId)) return null;
  const said = `${t('builder.unfinished')}: ${lacks.join('; ')}`;
  return (
    <span
      className="node-unfinished"
      role="img"
      aria-label={said}
      title={said}
      data-testid={`unfinished-${props.nodeId}`}
    >
      ⚠
    </span>
  );
}

function portName(port: string, step: StepBody, t: (key: string) => string): string {
  if (port === 'next') return t('builder.ports.next');
  if (port === 'timeoutNext') return t('builder.ports.timeout');
  if (port === 'otherwise') return t('builder.ports.otherwise');
  const [list, index] = port.split('.');
  return list === 'arms'
    ? (splitArmName(step, port) ?? `${Number(index) + 1}`)
    : `${t('builder.ports.yes')} ${Number(index) + 1}`;
}

/** The workspace's template names by id, for e-mail steps to show what they send. */
function useTemplateNames(): Map<string, string> {
  const { workspace } = useSession();
  const templates = useTemplateList(workspace.id);
  return new Map((templates.data ?? []).map((template) => [template.id, template.name]));
}

/** One line saying what a step does, so the canvas reads without opening every panel. */
function summary(step: StepBody, templateNames: Map<string, string>): string {
  switch (step.type) {
    case 'wait':
      return String(step.duration ?? '');
    case 'wait_until':
      return String(step.time ?? '');
    case 'wait_for_event':
      return `${String(step.event || '?')} ≤ ${String(step.timeout ?? '')}`;
    case 'send_email':
      return templateNames.get(String(step.template)) ?? String(step.template || '?');
    case 'send_sms':
      return String(step.body ?? '').slice(0, 40);
    case 'webhook':
      return `${String(step.destination || '?')}${String(step.path ?? '')}`;
    default:
      return '';
  }
}

/** Each arm's share of the contacts, the holdout's included: `a 45% · b 45% · holdout 10%`. */
function splitSummary(step: StepBody, t: (key: string) => string, locale: string): string {
  const arms = ((step.arms as Array<{ name?: string; weight?: number }> | undefined) ?? []).map(
    (arm) => [arm.name || '?', arm.weight] as const,
  );
  const holdout = (step.holdout as { weight?: number } | undefined)?.weight;
  const shares = holdout === undefined ? arms : [...arms, [t('builder.split.holdout'), holdout] as const];
  const weights = shares.map(([, weight]) =>
    typeof weight === 'number' && Number.isFinite(weight) && weight > 0 ? weight : 0,
  );
  const labels = shareLabels(weights, locale);
  return shares.map(([name], index) => (labels[index] ? `${name} ${labels[index]}` : name)).join(' · ');
}

/**
 * What each arm of a branch asks, one line an arm (numbered as its exit when there are several): cut
 * short to the node's width, in full on hover.
 */
function BranchSummary(props: { step: StepBody }) {
  const { t } = useTranslation();
  const { workspace } = useSession();
  const segments = useSegmentList(workspace.id);
  const definitions = useScoringDefinitions(workspace.id);
  const templateNames = useTemplateNames();
  const { emailTemplates } = useContext(OverlayContext);
  const names = {
    segments: new Map((segments.data ?? []).map((segment) => [segment.id, segment.name])),
    models: new Map((definitions.data?.models ?? []).map((model) => [model.id, model.name])),
    emails: new Map(
      [...(emailTemplates ?? [])].map(([stepId, template]) => [
        stepId,
        templateNames.get(template) ?? stepId,
      ]),
    ),
  };
  const arms = (props.step.branches as Array<{ conditions?: Condition[] }> | undefined) ?? [];
  return (
    <div className="node-summary branch-summary">
      {arms.map((arm, index) => {
        const question = armSummary(arm.conditions ?? [], names, t);
        const line = arms.length > 1 ? `${t('builder.ports.yes')} ${index + 1}: ${question}` : question;
        return (
          // biome-ignore lint/suspicious/noArrayIndexKey: arms are known by their place (their exit)
          <div key={index} className="branch-arm" title={line} data-testid={`arm-${props.step.id}-${index}`}>
            {line}
          </div>
        );
      })}
    </div>
  );
}

export function EntryNodeView(props: NodeProps<EntryNode>) {
  const { t } = useTranslation();
  const { workspace } = useSession();
  const segments = useSegmentList(workspace.id);
  const trigger = props.data.settings.entry.trigger;
  const what =
    trigger.type === 'event'
      ? trigger.event
      : trigger.type === 'segment'
        ? (segments.data?.find((segment) => segment.id === trigger.segment)?.name ?? trigger.segment)
        : trigger.type === 'trait_changed'
          ? trigger.trait
          : '';
  return (
    <div className={`journey-node entry-node${props.selected ? ' selected' : ''}`} data-testid="node-entry">
      <div className="node-title">
        {t('builder.entry')}
        <UnfinishedMark nodeId={props.id} />
      </div>
      <div className="node-summary">
        {trigger.type === 'segment'
          ? t(trigger.on === 'exited' ? 'builder.trigger.segmentExited' : 'builder.trigger.segmentEntered', {
              name: what,
            })
          : `${t(`builder.trigger.${trigger.type}`)} ${what}`}
        {trigger.type === 'segment' && trigger.on === 'entered' && trigger.exitOnSegmentExit === true && (
          <div className="hint">{t('builder.trigger.endsOnLeaving')}</div>
        )}
        {trigger.type === 'segment' && trigger.on === 'entered' && trigger.currentMembers === true && (
          <div className="hint">{t('builder.trigger.takesCurrentMembers')}</div>
        )}
      </div>
      <Problems nodeId={props.id} />
      <Handle type="source" position={Position.Bottom} id={START_PORT} />
    </div>
  );
}

export function StepNodeView(props: NodeProps<StepNode>) {
  const { t, i18n } = useTranslation();
  const format = useFormat();
  const { counts, messages, splits } = useContext(OverlayContext);
  const splitLine = useSplitLine();
  const step = props.data.step;
  const split = step.type === 'split' ? splits?.find((result) => result.stepId === step.id) : undefined;
  const ports = portsOf(step);
  const stepCounts = counts?.[step.id];
  const stepMessages = messages?.[step.id];
  const notSent = NOT_SENT.filter((kind) => (stepMessages?.[kind] ?? 0) > 0);
  const templateNames = useTemplateNames();
  return (
    <div
      className={`journey-node step-node step-${step.type}${props.selected ? ' selected' : ''}`}
      data-testid={`node-${step.id}`}
      style={portsWidth(ports.length)}
    >
      <Handle type="target" position={Position.Top} />
      <div className="node-title">
        {t(`builder.steps.${step.type}`)}
        <UnfinishedMark nodeId={props.id} />
      </div>
      {step.type === 'branch' ? (
        <BranchSummary step={step} />
      ) : (
        <div className="node-summary">
          {step.type === 'split' ? splitSummary(step, t, i18n.language) : summary(step, templateNames)}
          {step.type === 'send_sms' && step.trackLinks === true && (
            <div className="hint">{t('builder.sms.linksTracked')}</div>
          )}
        </div>
      )}
      {counts && (
        <div className="node-counts" data-testid={`counts-${step.id}`}>
          {t('builder.counts', {
            entered: format.number(stepCounts?.entered ?? 0),
            waiting: format.number(stepCounts?.waiting ?? 0),
          })}
        </div>
      )}
      {split?.groups.some((group) => group.entered > 0) && (
        <div className="node-counts" data-testid={`split-line-${step.id}`}>
          {splitLine(split)}
        </div>
      )}
      {messages?.[step.id] && (
        <div className="node-counts" data-testid={`messages-${step.id}`}>
          {/* Webhook calls are neither opened nor clicked, nor are texts opened (as far as Mops can know);
              a text's provider says whether it was delivered, and its tracked links whether clicked. */}
          {step.type === 'send_email'
            ? t('builder.messageCounts', {
                sent: format.number(messages[step.id]?.sent ?? 0),
                opened: format.number(messages[step.id]?.opened ?? 0),
                clicked: format.number(messages[step.id]?.clicked ?? 0),
              })
            : step.type === 'send_sms'
              ? t(step.trackLinks === true ? 'builder.smsCountsClicked' : 'builder.smsCounts', {
                  sent: format.number(messages[step.id]?.sent ?? 0),
                  delivered: format.number(messages[step.id]?.delivered ?? 0),
                  clicked: format.number(messages[step.id]?.clicked ?? 0),
                })
              : t('builder.sentCount', { sent: format.number(messages[step.id]?.sent ?? 0) })}
        </div>
      )}
      {notSent.length > 0 && (
        // Those a step did not send are as telling as those it did: "4 entered · 2 sent" leaves two unsaid.
        <div className="node-counts" data-testid={`not-sent-${step.id}`}>
          {notSent
            .map((kind) => t(`builder.notSent.${kind}`, { n: format.number(stepMessages?.[kind] ?? 0) }))
            .join(' · ')}
        </div>
      )}
      <Problems nodeId={props.id} />
      {ports.map((port, index) => (
        <div key={port}>
          <span
            className="port-label"
            title={portName(port, step, t)}
            style={{ left: `${((index + 1) / (ports.length + 1)) * 100}%` }}
          >
            {portName(port, step, t)}
          </span>
          <Handle
            type="source"
            position={Position.Bottom}
            id={port}
            style={{ left: `${((index + 1) / (ports.length + 1)) * 100}%` }}
            data-testid={`handle-${step.id}-${port}`}
          />
        </div>
      ))}
    </div>
  );
}

/** Room for every exit's label side by side: a branch of many arms is drawn wider than a step. */
function portsWidth(count: number): { minWidth: string; maxWidth: string } | undefined {
  const needed = count * PORT_LABEL_REM;
  return needed > STEP_MIN_WIDTH_REM
    ? { minWidth: `${needed}rem`, maxWidth: `${Math.max(needed, 15)}rem` }
    : undefined;
}

export const NODE_TYPES = { entry: EntryNodeView, step: StepNodeView };
