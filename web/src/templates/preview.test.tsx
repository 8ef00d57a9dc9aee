// @vitest-environment jsdom
import { act, renderHook } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  INITIAL_PREVIEW,
  PREVIEW_DELAY_MS,
  type PreviewRequest,
  previewReducer,
  usePreview,
} from './preview.js';

const rendered = (subject: string) => ({ subject, preheader: '', html: `<p>${subject}</p>`, text: subject });
const request = (subject: string): PreviewRequest => ({
  template: { name: 'Welcome', subject, preheader: null, mjml: '<p>Hi</p>', text: null },
  properties: {},
});

describe('preview state', () => {
  it('ignores the answer to a request that a newer one replaced', () => {
    let state = previewReducer(INITIAL_PREVIEW, { type: 'started', request: 1 });
    state = previewReducer(state, { type: 'started', request: 2 });
    state = previewReducer(state, { type: 'rendered', request: 2, rendered: rendered('new') });
    state = previewReducer(state, { type: 'rendered', request: 1, rendered: rendered('old') });
    expect(state.rendered?.subject).toBe('new');
    expect(state.isUpdating).toBe(false);
  });

  it('keeps the last good render on screen when a render fails, and clears the error on the next success', () => {
    let state = previewReducer(INITIAL_PREVIEW, { type: 'started', request: 1 });
    state = previewReducer(state, { type: 'rendered', request: 1, rendered: rendered('good') });
    state = previewReducer(state, { type: 'started', request: 2 });
    state = previewReducer(state, { type: 'failed', request: 2, error: new Error('subject: bad filter') });
    expect(state.rendered?.subject).toBe('good');
    expect(state.error).toBeInstanceOf(Error);
    state = previewReducer(state, { type: 'started', request: 3 });
    state = previewReducer(state, { type: 'rendered', request: 3, rendered: rendered('fixed') });
    expect(state).toMatchObject({ error: undefined, rendered: { subject: 'fixed' } });
  });
});

describe('usePreview', () => {
  const fetchMock = vi.fn();
  beforeEach(() => {
    vi.useFakeTimers();
    fetchMock.mockImplementation(async (_path: string, init: RequestInit) => {
      const body = JSON.parse(String(init.body)) as PreviewRequest;
      return new Response(JSON.stringify(rendered(body.template.subject)), { status: 200 });
    });
    vi.stubGlobal('fetch', fetchMock);
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
    fetchMock.mockReset();
  });

  it('renders at once on opening, then once typing has paused, with what was typed last', async () => {
    const { result, rerender } = renderHook(
      (props: { request: PreviewRequest | undefined }) => usePreview('ws_1', props.request),
      { initialProps: { request: request('H') } },
    );
    await act(() => vi.advanceTimersByTimeAsync(0));
    expect(fetchMock).toHaveBeenCalledTimes(1);
    expect(result.current.rendered?.subject).toBe('H');
    for (const subject of ['He', 'Hel', 'Hello']) {
      await act(() => vi.advanceTimersByTimeAsync(PREVIEW_DELAY_MS / 4));
      rerender({ request: request(subject) });
    }
    expect(fetchMock).toHaveBeenCalledTimes(1);
    await act(() => vi.advanceTimersByTimeAsync(PREVIEW_DELAY_MS));
    expect(fetchMock).toHaveBeenCalledTimes(2);
    expect(fetchMock.mock.calls[1]?.[0]).toBe('/api/workspaces/ws_1/templates/preview');
    expect(result.current.rendered?.subject).toBe('Hello');
  });

  it('does not render again when an identical request is rebuilt, nor when there is nothing to render', async () => {
    const { rerender } = renderHook(
      (props: { request: PreviewRequest | undefined }) => usePreview('ws_1', props.request),
      { initialProps: { request: request('Hello') as PreviewRequest | undefined } },
    );
    await act(() => vi.advanceTimersByTimeAsync(PREVIEW_DELAY_MS));
    rerender({ request: request('Hello') });
    await act(() => vi.advanceTimersByTimeAsync(PREVIEW_DELAY_MS * 2));
    rerender({ request: undefined });
    await act(() => vi.advanceTimersByTimeAsync(PREVIEW_DELAY_MS * 2));
    expect(fetchMock).toHaveBeenCalledTimes(1);
  });
});
