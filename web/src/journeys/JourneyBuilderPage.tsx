import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  addEdge,
  applyNodeChanges,
  Background,
  type Connection,
  Controls,
  type Edge,
  type NodeChange,
  type OnConnect,
  ReactFlow,
  ReactFlowProvider,
  useEdgesState,
  useNodesState,
  useReactFlow,
} from '@xyflow/react';
import { type DragEvent, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useParams } from 'react-router-dom';
import { ApiError, api, workspacePath } from '../app/api.js';
import { useSession } from '../app/session.js';
import { ErrorState, errorMessage, Loading } from '../components/states.js';
import { UnsavedChangesGuard } from '../components/unsaved-guard.js';
import {
  definitionFromGraph,
  ENTRY_NODE,
  type EntrySettings,
  edgeBetween,
  edgesWithoutArm,
  graphFromDefinition,
  type JourneyDefinition,
  type JourneyNode,
  newStep,
  nodeOfErrorField,
  portsOf,
  START_PORT,
  STEP_TYPES,
  type StepBody,
  type StepType,
  splitArmName,
} from './graph.js';
import { MemberEntryProgress } from './MemberEntryProgress.js';
import { type MessageCounts, NODE_TYPES, OverlayContext, type StepCounts } from './nodes.js';
import { EntryPanel, StepPanel } from './panels.js';
import { placeNewStep, type Rect, settleGrownSteps } from './placement.js';
import { type SplitResult, SplitResults } from './SplitResults.js';
import { tidiedPositions } from './tidy-layout.js';

interface JourneyJson {
  id: string;
  name: string;
  status: 'draft' | 'published' | 'paused' | 'archived';
  currentVersion: number | null;
  draft: JourneyDefinition;
}

interface Report {
  steps: Record<string, StepCounts>;
  messages: Record<string, MessageCounts>;
  splits: SplitResult[];
}

const DRAG_TYPE = 'application/x-mops-step';
/** How often published counts are refreshed on the canvas. */
const COUNTS_REFRESH_MS = 3000;
/** A step not drawn yet is taken to be as big as a step's box grows (15rem wide, a two-line summary). */
const NEW_STEP_SIZE = { width: 240, height: 80 };
/** Screen pixels kept clear inside the canvas's edges: the zoom controls sit in the bottom-left corner. */
const VIEW_MARGIN = 48;

export function JourneyBuilderPage() {
  const { journeyId = '' } = useParams();
  const { workspace } = useSession();
  const journey = useQuery({
    queryKey: ['journey', workspace.id, journeyId],
    queryFn: () => api<JourneyJson>('GET', workspacePath(workspace.id, `/journeys/${journeyId}`)),
  });
  if (journey.isPending) return <Loading />;
  if (journey.error) return <ErrorState error={journey.error} onRetry={() => void journey.refetch()} />;
  return (
    <ReactFlowProvider>
      {/* A new key per loaded version: the canvas starts from what the server holds. */}
      <Builder key={`${journey.data.id}`} journey={journey.data} />
    </ReactFlowProvider>
  );
}

function Builder(props: { journey: JourneyJson }) {
  const { t } = useTranslation();
  const { workspace } = useSession();
  const queryClient = useQueryClient();
  const flow = useReactFlow();
  const canvasRef = useRef<HTMLElement>(null);
  const initial = useMemo(() => graphFromDefinition(props.journey.draft), [props.journey.draft]);
  const [nodes, setNodes] = useNodesState<JourneyNode>(initial.nodes);
  const [edges, setEdges, onEdgesChange] = useEdgesState<Edge>(initial.edges);
  const [selected, setSelected] = useState<string | undefined>();
  /** Set once publishing was refused for what the canvas lacks: each node then lists its own. */
  const [isListingProblems, setListingProblems] = useState(false);
  const [serverError, setServerError] = useState<{
    nodeId: string | undefined;
    field: string;
    message: string;
  }>();
  const [notice, setNotice] = useState<string>();
  /** The definition as last loaded or saved, to tell whether the canvas holds work not saved yet. */
  const [savedSource, setSavedSource] = useState(() => sourceOf(initial.nodes, initial.edges));
  const isDirty = sourceOf(nodes, edges) !== savedSource;
  const status = props.journey.status;
  const journeyPath = workspacePath(workspace.id, `/journeys/${props.journey.id}`);

  /** Set when steps moved out of a grown one's way while nothing was unsaved: that is no edit. */
  const settledWhileSaved = useRef(false);
  const onNodesChange = useCallback(
    (changes: NodeChange<JourneyNode>[]) =>
      setNodes((current) => {
        const next = applyNodeChanges(changes, current);
        const grown = grownSteps(changes, current);
        if (grown.size === 0) return next;
        const moved = settleGrownSteps({ steps: next.map(rectOfNode), grown });
        if (moved.size === 0) return next;
        if (!isDirty) settledWhileSaved.current = true;
        return next.map((node) => {
          const position = moved.get(node.id);
          return position ? { ...node, position } : node;
        });
      }),
    [setNodes, isDirty],
  );
  useEffect(() => {
    if (!settledWhileSaved.current) return;
    settledWhileSaved.current = false;
    // Drawn bigger than when they were placed (a journey opened again, a summary): the journey is the same.
    setSavedSource(sourceOf(nodes, edges));
  }, [nodes, edges]);

  const report = useQuery({
    queryKey: ['journey-report', workspace.id, props.journey.id],
    queryFn: () => api<Report>('GET', `${journeyPath}/report`),
    enabled: props.journey.currentVersion !== null,
    refetchInterval: COUNTS_REFRESH_MS,
  });

  const onConnect: OnConnect = useCallback(
    (connection: Connection) =>
      setEdges((current) => {
        // One edge per output port: connecting a port again moves its edge.
        const port = connection.sourceHandle ?? 'next';
        const others = current.filter(
          (edge) => !(edge.source === connection.source && edge.sourceHandle === port),
        );
        return addEdge(edgeBetween(connection.source, port, connection.target), others);
      }),
    [setEdges],
  );

  // A step chosen by keyboard (Tab to it, then Enter or Space) opens its settings as a click does.
  const onSelectionChange = useCallback(({ nodes: chosen }: { nodes: JourneyNode[] }) => {
    const [only] = chosen;
    if (only && chosen.length === 1) setSelected(only.id);
  }, []);

  /** The part of the canvas on screen, in the canvas's coordinates. */
  const visibleArea = useCallback((): Rect => {
    const box = canvasRef.current?.getBoundingClientRect();
    if (!box) return { x: 0, y: 0, width: 0, height: 0 };
    const topLeft = flow.screenToFlowPosition({ x: box.left + VIEW_MARGIN, y: box.top + VIEW_MARGIN });
    const bottomRight = flow.screenToFlowPosition({
      x: box.right - VIEW_MARGIN,
      y: box.bottom - VIEW_MARGIN,
    });
    return { ...topLeft, width: bottomRight.x - topLeft.x, height: bottomRight.y - topLeft.y };
  }, [flow]);

  const addStep = useCallback(
    (type: StepType, dropped?: { x: number; y: number }) => {
      const taken = new Set(nodes.map((node) => node.id));
      const step = newStep(type, taken);
      let position = dropped;
      if (!position) {
        // Added from the palette by click or keyboard: in view, below the step it most likely follows.
        const rectOf = (node: JourneyNode): Rect => ({
          ...node.position,
          width: node.measured?.width ?? NEW_STEP_SIZE.width,
          height: node.measured?.height ?? NEW_STEP_SIZE.height,
        });
        const anchor = nodes.find((node) => node.id === selected) ?? nodes.at(-1);
        const byId = new Map(nodes.map((node) => [node.id, node]));
        // Each connection as drawn from its port's handle, spread along the bottom, to the top middle.
        const connections = edges.flatMap((edge) => {
          const source = byId.get(edge.source);
          const target = byId.get(edge.target);
          if (!source || !target) return [];
          const from = rectOf(source);
          const to = rectOf(target);
          const ports = source.type === 'step' ? portsOf(source.data.step) : [];
          const port = Math.max(0, ports.indexOf(edge.sourceHandle ?? ''));
          const along = ports.length > 0 ? (port + 1) / (ports.length + 1) : 0.5;
          return [
            {
              from: { x: from.x + from.width * along, y: from.y + from.height },
              to: { x: to.x + to.width / 2, y: to.y },
            },
          ];
        });
        const placed = placeNewStep({
          size: NEW_STEP_SIZE,
          nodes: nodes.map(rectOf),
          connections,
          anchor: anchor && rectOf(anchor),
          visible: visibleArea(),
        });
        position = placed.position;
        // No room left in view: scroll to it, at the same zoom (zooming out would shrink every step).
        if (!placed.isVisible)
          void flow.setCenter(position.x + NEW_STEP_SIZE.width / 2, position.y + NEW_STEP_SIZE.height / 2, {
            zoom: flow.getZoom(),
            duration: 200,
          });
      }
      setNodes((current) => [
        ...current.map((node) => (node.selected ? { ...node, selected: false } : node)),
        { id: step.id, type: 'step', position, data: { step }, selected: true },
      ]);
      setSelected(step.id);
    },
    [nodes, edges, selected, setNodes, flow, visibleArea],
  );

  const onDrop = useCallback(
    (event: DragEvent) => {
      event.preventDefault();
      const type = event.dataTransfer.getData(DRAG_TYPE) as StepType;
      if (!STEP_TYPES.includes(type)) return;
      addStep(type, flow.screenToFlowPosition({ x: event.clientX, y: event.clientY }));
    },
    [addStep, flow],
  );

  // What the journey still lacks, as it is drawn now: a draft is saved with it, only publishing needs it done.
  const compiled = useMemo(
    () =>
      definitionFromGraph(nodes, edges, {
        notConnected: t('builder.notConnected'),
        unreached: t('builder.unreached'),
        noStart: t('builder.noStart'),
        noConditions: t('builder.noConditions'),
        port: (port, step) => portTitle(port, t, step),
        missing: (setting) => t(`builder.missing.${setting}`),
      }),
    [nodes, edges, t],
  );

  /** Marks the step (or the entry) a refusal names, and opens it; publishing names the draft's fields. */
  const showServerError = (error: unknown, definition: JourneyDefinition) => {
    if (!(error instanceof ApiError) || !error.field) return;
    const field = error.field.replace(/^draft\./, 'definition.');
    const nodeId = nodeOfErrorField(field, definition);
    // Said beside its field, the refusal needs no path ("definition.steps.1.duration: …").
    const path = /^([\w.]+): /.exec(error.message)?.[1];
    const isPathOfField = path !== undefined && (field.endsWith(path) || error.field.endsWith(path));
    const message = isPathOfField ? error.message.slice(path.length + 2) : error.message;
    setServerError({ nodeId, field, message });
    if (!nodeId) return;
    setSelected(nodeId);
    // The canvas's own selection follows, or choosing the step it still holds (by keyboard) would
    // change nothing it reports, and open nothing.
    setNodes((current) =>
      current.map((node) =>
        node.selected === (node.id === nodeId) ? node : { ...node, selected: node.id === nodeId },
      ),
    );
  };

  const save = useMutation({
    mutationFn: async () => {
      const { definition } = compiled;
      try {
        const saved = await api<JourneyJson>('PUT', journeyPath, { definition });
        setSavedSource(JSON.stringify(definition));
        return saved;
      } catch (error) {
        showServerError(error, definition);
        throw error;
      }
    },
    onMutate: () => {
      setServerError(undefined);
      setNotice(undefined);
    },
    onSuccess: (saved) => {
      queryClient.setQueryData(['journey', workspace.id, saved.id], saved);
      const unfinished = compiled.problems.length;
      setNotice(unfinished > 0 ? t('builder.savedUnfinished', { count: unfinished }) : t('builder.saved'));
    },
  });

  const publish = useMutation({
    mutationFn: async () => {
      const saved = await save.mutateAsync();
      if (compiled.problems.length > 0) {
        setListingProblems(true);
        throw new Error(t('builder.problems', { count: compiled.problems.length }));
      }
      try {
        return await api<JourneyJson>('POST', `${journeyPath}/publish`);
      } catch (error) {
        showServerError(error, saved.draft);
        throw error;
      }
    },
    onSuccess: (published) => {
      setListingProblems(false);
      queryClient.setQueryData(['journey', workspace.id, published.id], published);
      void queryClient.invalidateQueries({ queryKey: ['journeys', workspace.id] });
      void report.refetch();
      setNotice(t('builder.published', { version: published.currentVersion }));
    },
  });

  const pauseOrResume = useMutation({
    mutationFn: (action: 'pause' | 'resume') => api<JourneyJson>('POST', `${journeyPath}/${action}`),
    onSuccess: (changed) => queryClient.setQueryData(['journey', workspace.id, changed.id], changed),
  });

  // Kept as text so that the map changes only when an e-mail step or its template does, not on every drag.
  const emailStepsKey = JSON.stringify(
    nodes.flatMap((node) =>
      node.type === 'step' && node.data.step.type === 'send_email'
        ? [[node.id, String(node.data.step.template ?? '')]]
        : [],
    ),
  );
  const emailTemplates = useMemo(
    () => new Map(JSON.parse(emailStepsKey) as Array<[string, string]>),
    [emailStepsKey],
  );
  const overlay = useMemo(() => {
    const unfinished = new Map<string, string[]>();
    for (const problem of compiled.problems)
      unfinished.set(problem.nodeId, [...(unfinished.get(problem.nodeId) ?? []), problem.message]);
    const byNode = new Map(isListingProblems ? unfinished : []);
    if (serverError?.nodeId)
      byNode.set(serverError.nodeId, [...(byNode.get(serverError.nodeId) ?? []), serverError.message]);
    return {
      problems: byNode,
      unfinished,
      counts: report.data?.steps,
      messages: report.data?.messages,
      splits: report.data?.splits,
      emailTemplates,
    };
  }, [compiled.problems, isListingProblems, serverError, report.data, emailTemplates]);

  const selectedNode = nodes.find((node) => node.id === selected);
  const selectedSplit = report.data?.splits.find((split) => split.stepId === selected);
  const fieldErrors = useMemo(() => {
    const errors = new Map<string, string>();
    if (!serverError || serverError.nodeId !== selected) return errors;
    // `definition.steps.2.template` → `template` for the step's panel; entry fields keep their path.
    const stepField = /^(?:definition\.)?steps\.\d+\.(.+)$/.exec(serverError.field)?.[1];
    errors.set(stepField ?? serverError.field, serverError.message);
    return errors;
  }, [serverError, selected]);

  const updateStep = (id: string, step: StepBody) =>
    setNodes((current) =>
      current.map((node) => (node.id === id && node.type === 'step' ? { ...node, data: { step } } : node)),
    );
  const updateEntry = (settings: EntrySettings) =>
    setNodes((current) =>
      current.map((node) => (node.type === 'entry' ? { ...node, data: { settings } } : node)),
    );
  /** Takes away a branch's or a split's arm with its connection; the arms after it, and theirs, move up one. */
  const removeArm = (id: string, index: number) => {
    const node = nodes.find((candidate) => candidate.id === id);
    if (node?.type !== 'step') return;
    const list = node.data.step.type === 'split' ? 'arms' : 'branches';
    setNodes((current) =>
      current.map((node) => {
        if (node.id !== id || node.type !== 'step') return node;
        const arms = (node.data.step[list] as unknown[] | undefined) ?? [];
        return {
          ...node,
          data: { step: { ...node.data.step, [list]: arms.filter((_, i) => i !== index) } },
        };
      }),
    );
    setEdges((current) => edgesWithoutArm(current, id, index, list));
  };
  const deleteStep = (id: string) => {
    setNodes((current) => current.filter((node) => node.id !== id));
    setEdges((current) => current.filter((edge) => edge.source !== id && edge.target !== id));
    setSelected(undefined);
  };

  /** A step as the canvas shows it, with its id: "Wait (wait_1)"; or the entry. */
  const nodeTitle = (nodeId: string) => {
    const node = nodes.find((candidate) => candidate.id === nodeId);
    return node?.type === 'step'
      ? `${t(`builder.steps.${node.data.step.type}`)} (${nodeId})`
      : t('builder.entry');
  };

  // React Flow's own words for screen readers, in the console's language.
  const ariaLabelConfig = useMemo(
    () => ({
      'node.a11yDescription.default': t('builder.a11y.node'),
      'node.a11yDescription.keyboardDisabled': t('builder.a11y.nodeArrows'),
      'node.a11yDescription.ariaLiveMessage': ({ x, y }: { x: number; y: number }) =>
        t('builder.a11y.moved', { x, y }),
      'edge.a11yDescription.default': t('builder.a11y.edge'),
      'controls.ariaLabel': t('builder.a11y.controls'),
      'controls.zoomIn.ariaLabel': t('builder.a11y.zoomIn'),
      'controls.zoomOut.ariaLabel': t('builder.a11y.zoomOut'),
      'controls.fitView.ariaLabel': t('builder.a11y.fitView'),
      'controls.interactive.ariaLabel': t('builder.a11y.interactive'),
      'minimap.ariaLabel': t('builder.a11y.minimap'),
      'handle.ariaLabel': t('builder.a11y.handle'),
    }),
    [t],
  );
  const labelledEdges = useMemo(
    () =>
      edges.map((edge) => ({
        ...edge,
        ariaLabel: t('builder.a11y.edgeLabel', { source: edge.source, target: edge.target }),
      })),
    [edges, t],
  );

  /** Every step laid out afresh in layers from the entry down, then the whole journey in view. */
  const tidyUp = () => {
    const byId = new Map(nodes.map((node) => [node.id, node]));
    // The entry first: the layout starts from it.
    const ordered = [...nodes].sort((a, b) => Number(b.type === 'entry') - Number(a.type === 'entry'));
    const positions = tidiedPositions(
      ordered.map((node) => ({
        id: node.id,
        width: node.measured?.width ?? NEW_STEP_SIZE.width,
        height: node.measured?.height ?? NEW_STEP_SIZE.height,
      })),
      edges.map((edge) => {
        const source = byId.get(edge.source);
        const ports = source?.type === 'step' ? portsOf(source.data.step) : [];
        return { source: edge.source, target: edge.target, port: ports.indexOf(edge.sourceHandle ?? '') };
      }),
    );
    const anchor = nodes.find((node) => node.type === 'entry')?.position ?? { x: 0, y: 0 };
    setNodes(
      nodes.map((node) => {
        const position = positions.get(node.id);
        return position
          ? { ...node, position: { x: anchor.x + position.x, y: anchor.y + position.y } }
          : node;
      }),
    );
    // Once drawn where they now are.
    requestAnimationFrame(() => void flow.fitView({ maxZoom: 1, duration: 200 }));
  };

  const busy = save.isPending || publish.isPending;
  const failure = publish.error ?? save.error ?? pauseOrResume.error;
  return (
    <div className="builder">
      <UnsavedChangesGuard isDirty={isDirty} />
      <div className="builder-toolbar">
        <h1>{props.journey.name}</h1>
        <span className={`badge status-${status}`}>{t(`journeys.statuses.${status}`)}</span>
        {isDirty && <span className="badge">{t('builder.unsaved')}</span>}
        <div className="spacer" />
        <button type="button" onClick={tidyUp} disabled={nodes.length < 2}>
          {t('builder.tidyUp')}
        </button>
        <button
          type="button"
          onClick={() => {
            // A publish refused earlier is answered by this save: its refusal would hide the outcome.
            publish.reset();
            save.mutate();
          }}
          disabled={busy}
        >
          {t('builder.saveDraft')}
        </button>
        <button type="button" className="primary" onClick={() => publish.mutate()} disabled={busy}>
          {t('builder.publish')}
        </button>
        {status === 'published' && (
          <button type="button" onClick={() => pauseOrResume.mutate('pause')}>
            {t('builder.pause')}
          </button>
        )}
        {status === 'paused' && (
          <button type="button" onClick={() => pauseOrResume.mutate('resume')}>
            {t('builder.resume')}
          </button>
        )}
      </div>
      <div className="builder-messages" aria-live="polite">
        {notice && !failure && <p className="notice">{notice}</p>}
        <MemberEntryProgress journeyPath={journeyPath} publishedVersion={props.journey.currentVersion} />
        {failure && (
          <p className="field-error" role="alert">
            {serverError?.nodeId
              ? `${nodeTitle(serverError.nodeId)}: ${serverError.message}`
              : errorMessage(failure, t)}
          </p>
        )}
      </div>
      <div className="builder-body">
        <aside className="palette" aria-label={t('builder.palette')}>
          <h2>{t('builder.palette')}</h2>
          {STEP_TYPES.map((type) => (
            <button
              key={type}
              type="button"
              draggable
              className={`palette-item step-${type}`}
              data-testid={`palette-${type}`}
              onDragStart={(event) => {
                event.dataTransfer.setData(DRAG_TYPE, type);
                event.dataTransfer.effectAllowed = 'move';
              }}
              onClick={() => addStep(type)}
            >
              {t(`builder.steps.${type}`)}
            </button>
          ))}
        </aside>
        <section
          ref={canvasRef}
          className="canvas"
          aria-label={t('builder.canvas')}
          onDragOver={(event) => {
            event.preventDefault();
            event.dataTransfer.dropEffect = 'move';
          }}
          onDrop={onDrop}
        >
          <OverlayContext.Provider value={overlay}>
            <ReactFlow
              nodes={nodes}
              edges={labelledEdges}
              nodeTypes={NODE_TYPES}
              ariaLabelConfig={ariaLabelConfig}
              onNodesChange={onNodesChange}
              onEdgesChange={onEdgesChange}
              onConnect={onConnect}
              onNodeClick={(_, node) => setSelected(node.id)}
              onSelectionChange={onSelectionChange}
              onPaneClick={() => setSelected(undefined)}
              fitView
              fitViewOptions={{ maxZoom: 1 }}
              deleteKeyCode={['Delete', 'Backspace']}
            >
              <Background />
              <Controls />
            </ReactFlow>
          </OverlayContext.Provider>
        </section>
        <aside className="side-panel" aria-label={t('builder.settingsPanel')}>
          {!selectedNode && <p className="hint">{t('builder.noSelection')}</p>}
          {selectedNode?.type === 'entry' && (
            <>
              <h2>{t('builder.entry')}</h2>
              <EntryPanel settings={selectedNode.data.settings} errors={fieldErrors} onChange={updateEntry} />
              <Connections
                source={ENTRY_NODE}
                ports={[START_PORT]}
                nodes={nodes}
                edges={edges}
                onConnect={onConnect}
                onDisconnect={() =>
                  setEdges((current) => current.filter((edge) => edge.source !== ENTRY_NODE))
                }
              />
            </>
          )}
          {selectedNode?.type === 'step' && (
            <>
              <h2>{t(`builder.steps.${selectedNode.data.step.type}`)}</h2>
              <p className="hint">
                {t('builder.stepId')}: <code>{selectedNode.id}</code>
              </p>
              {selectedSplit && <SplitResults result={selectedSplit} />}
              <StepPanel
                key={selectedNode.id}
                step={selectedNode.data.step}
                errors={fieldErrors}
                emailSteps={nodes
                  .filter((node) => node.type === 'step' && node.data.step.type === 'send_email')
                  .map((node) => node.id)}
                smsSteps={nodes
                  .filter((node) => node.type === 'step' && node.data.step.type === 'send_sms')
                  .map((node) => node.id)}
                trackedSmsSteps={nodes
                  .filter(
                    (node) =>
                      node.type === 'step' &&
                      node.data.step.type === 'send_sms' &&
                      node.data.step.trackLinks === true,
                  )
                  .map((node) => node.id)}
                onChange={(step) => updateStep(selectedNode.id, step)}
                onRemoveArm={(index) => removeArm(selectedNode.id, index)}
              />
              <Connections
                source={selectedNode.id}
                step={selectedNode.data.step}
                ports={portsOf(selectedNode.data.step)}
                nodes={nodes}
                edges={edges}
                onConnect={onConnect}
                onDisconnect={(port) =>
                  setEdges((current) =>
                    current.filter(
                      (edge) => !(edge.source === selectedNode.id && edge.sourceHandle === port),
                    ),
                  )
                }
              />
              <button type="button" className="danger" onClick={() => deleteStep(selectedNode.id)}>
                {t('builder.deleteStep')}
              </button>
            </>
          )}
        </aside>
      </div>
    </div>
  );
}

/** A node's box on the canvas, as drawn (a node not drawn yet has no size). */
function rectOfNode(node: JourneyNode) {
  return {
    id: node.id,
    ...node.position,
    width: node.measured?.width ?? 0,
    height: node.measured?.height ?? 0,
  };
}

/** The nodes drawn bigger than before (or drawn for the first time) by these changes. */
function grownSteps(
  changes: readonly NodeChange<JourneyNode>[],
  before: readonly JourneyNode[],
): Set<string> {
  const grown = new Set<string>();
  for (const change of changes) {
    if (change.type !== 'dimensions' || !change.dimensions) continue;
    const was = before.find((node) => node.id === change.id)?.measured;
    const isBigger =
      was?.width === undefined ||
      was.height === undefined ||
      change.dimensions.width > was.width + 0.5 ||
      change.dimensions.height > was.height + 0.5;
    if (isBigger) grown.add(change.id);
  }
  return grown;
}

/** The definition a canvas draws, as text to compare (its problems aside: they follow from it). */
function sourceOf(nodes: readonly JourneyNode[], edges: readonly Edge[]): string {
  const noMessages = {
    notConnected: '',
    unreached: '',
    noStart: '',
    noConditions: '',
    port: () => '',
    missing: () => '',
  };
  return JSON.stringify(definitionFromGraph(nodes, edges, noMessages).definition);
}

/**
 * What each output port leads to, as selects: the keyboard's way to connect steps (the canvas's
 * drag-to-connect needs a mouse).
 */
function Connections(props: {
  source: string;
  /** The step whose exits these are (none: the entry), to name a split's exits by their arms. */
  step?: StepBody;
  ports: string[];
  nodes: JourneyNode[];
  edges: Edge[];
  onConnect: OnConnect;
  onDisconnect: (port: string) => void;
}) {
  const { t } = useTranslation();
  if (props.ports.length === 0) return null;
  const targets = props.nodes.filter((node) => node.type === 'step' && node.id !== props.source);
  return (
    <fieldset className="connections">
      <legend>{t('builder.connections')}</legend>
      {props.ports.map((port) => {
        const current = props.edges.find(
          (edge) => edge.source === props.source && edge.sourceHandle === port,
        );
        const id = `connect-${props.source}-${port}`;
        return (
          <div className="field" key={port}>
            <label htmlFor={id}>{portTitle(port, t, props.step)}</label>
            <select
              id={id}
              value={current?.target ?? ''}
              onChange={(event) =>
                event.target.value
                  ? props.onConnect({
                      source: props.source,
                      sourceHandle: port,
                      target: event.target.value,
                      targetHandle: null,
                    })
                  : props.onDisconnect(port)
              }
            >
              <option value="">{t('builder.notConnectedOption')}</option>
              {/* Steps by id under their type: "Wait for event (wait_for_event_1)" is too long for the panel. */}
              {STEP_TYPES.map((type) => {
                const ofType = targets.filter((node) => node.type === 'step' && node.data.step.type === type);
                return (
                  ofType.length > 0 && (
                    <optgroup key={type} label={t(`builder.steps.${type}`)}>
                      {ofType.map((node) => (
                        <option key={node.id} value={node.id}>
                          {node.id}
                        </option>
                      ))}
                    </optgroup>
                  )
                );
              })}
            </select>
          </div>
        );
      })}
    </fieldset>
  );
}

function portTitle(port: string, t: (key: string) => string, step?: StepBody): string {
  if (port === START_PORT) return t('builder.ports.first');
  if (port === 'next') return t('builder.ports.next');
  if (port === 'timeoutNext') return t('builder.ports.timeout');
  if (port === 'otherwise') return t('builder.ports.otherwise');
  const [list, index] = port.split('.');
  return list === 'arms'
    ? `${t('builder.ports.arm')} ${(step && splitArmName(step, port)) ?? Number(index) + 1}`
    : `${t('builder.ports.yes')} ${Number(index) + 1}`;
}
