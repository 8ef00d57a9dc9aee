import { useEffect, useReducer, useRef, useState } from 'react';
import { api, workspacePath } from '../app/api.js';
import type { TemplateBody } from './draft.js';

/** How long typing must pause before the preview is rendered again. */
export const PREVIEW_DELAY_MS = 400;

export interface Rendered {
  subject: string;
  preheader: string;
  html: string;
  text: string;
}

export interface PreviewRequest {
  template: TemplateBody;
  profileId?: string;
  properties: Record<string, unknown>;
}

/**
 * The preview pane's state. A failed render keeps the last good one on screen (marked stale) so the
 * marketer still sees the e-mail while fixing a typo.
 */
export interface PreviewState {
  rendered: Rendered | undefined;
  error: unknown;
  isUpdating: boolean;
  /** Which request the state is waiting for: answers to older ones are ignored. */
  pending: number;
}

export type PreviewEvent =
  | { type: 'started'; request: number }
  | { type: 'rendered'; request: number; rendered: Rendered }
  | { type: 'failed'; request: number; error: unknown };

export const INITIAL_PREVIEW: PreviewState = {
  rendered: undefined,
  error: undefined,
  isUpdating: false,
  pending: 0,
};

export function previewReducer(state: PreviewState, event: PreviewEvent): PreviewState {
  if (event.type === 'started') return { ...state, isUpdating: true, pending: event.request };
  if (event.request !== state.pending) return state;
  if (event.type === 'rendered')
    return { ...state, rendered: event.rendered, error: undefined, isUpdating: false };
  return { ...state, error: event.error, isUpdating: false };
}

/** The value once it has stopped changing for `delayMs`. */
export function useDebouncedValue<T>(value: T, delayMs: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), delayMs);
    return () => clearTimeout(timer);
  }, [value, delayMs]);
  return settled;
}

/**
 * Renders the template being edited (unsaved) shortly after typing stops. The request travels as its
 * JSON text so that an unchanged draft, rebuilt on every keystroke elsewhere, does not render again.
 * `request` undefined means "nothing renderable yet" and leaves the pane as it is.
 */
export function usePreview(workspaceId: string, request: PreviewRequest | undefined): PreviewState {
  const [state, dispatch] = useReducer(previewReducer, INITIAL_PREVIEW);
  const requests = useRef(0);
  const settled = useDebouncedValue(request ? JSON.stringify(request) : undefined, PREVIEW_DELAY_MS);
  useEffect(() => {
    if (settled === undefined) return;
    requests.current += 1;
    const id = requests.current;
    dispatch({ type: 'started', request: id });
    api<Rendered>('POST', workspacePath(workspaceId, '/templates/preview'), JSON.parse(settled)).then(
      (rendered) => dispatch({ type: 'rendered', request: id, rendered }),
      (error: unknown) => dispatch({ type: 'failed', request: id, error }),
    );
  }, [workspaceId, settled]);
  return state;
}
