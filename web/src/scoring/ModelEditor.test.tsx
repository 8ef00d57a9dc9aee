// @vitest-environment jsdom
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { SessionProvider } from '../app/session.js';
import { setupI18n } from '../i18n.js';
import './messages.js';
import { ModelEditor } from './ModelEditor.js';
import type { ScoreModelJson } from './model-form.js';

const EXISTING: ScoreModelJson = {
  id: 'fit',
  name: 'Fit',
  rules: [
    { id: 'italy', kind: 'fit', when: { type: 'trait', path: 'country', op: 'eq', value: 'IT' }, points: 5 },
  ],
};

/** A server that has one model and answers the PUT with `refusal` (a 400 naming a field), recording what was sent. */
function fakeServer(refusal: { field: string; message: string }) {
  const sent: unknown[] = [];
  const json = (status: number, body: unknown) =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  vi.stubGlobal(
    'fetch',
    vi.fn(async (path: string, init: RequestInit) => {
      if (path === '/api/workspaces') return json(200, { items: [{ id: 'ws', name: 'Shop' }] });
      if (path.endsWith('/event-names'))
        return json(200, {
          items: [
            { name: 'Demo Requested', recentCount: 3 },
            { name: 'SMS Received', recentCount: 0 },
          ],
        });
      if (init.method === 'GET') return json(200, { timezone: 'UTC', scoring: { models: [EXISTING] } });
      sent.push(JSON.parse(String(init.body)));
      return json(400, { error: { code: 'invalid_input', ...refusal } });
    }),
  );
  return sent;
}

function renderEditor(model?: ScoreModelJson) {
  const onDone = vi.fn();
  render(
    <QueryClientProvider client={new QueryClient()}>
      <SessionProvider user={{ id: 'u', email: 'a@example.com', name: null }}>
        <ModelEditor model={model} models={[EXISTING]} onDone={onDone} />
      </SessionProvider>
    </QueryClientProvider>,
  );
  return onDone;
}

async function fillValidModel() {
  fireEvent.change(await screen.findByLabelText('Model name'), { target: { value: 'Engagement' } });
  fireEvent.change(screen.getByLabelText('Event name'), { target: { value: 'Demo Requested' } });
  fireEvent.change(screen.getByLabelText('Points (negative to take away)'), { target: { value: '40' } });
  fireEvent.change(screen.getByLabelText('Half-life (optional, e.g. 30d)'), { target: { value: '14d' } });
}

describe('model editor', () => {
  beforeAll(async () => {
    localStorage.setItem('mops.language', 'en');
    await setupI18n();
  });
  afterEach(() => {
    cleanup();
    vi.unstubAllGlobals();
  });

  it('offers the event names the workspace has seen, and Mops’s own, as the event is typed', async () => {
    fakeServer({ field: 'x', message: 'x' });
    renderEditor();
    const event = await screen.findByLabelText('Event name');
    await waitFor(() => {
      const list = event.getAttribute('list');
      expect(list).not.toBeNull();
      const options = [...document.querySelectorAll(`[id="${list}"] option`)].map((option) =>
        option.getAttribute('value'),
      );
      expect(options).toEqual(['Demo Requested', 'SMS Received']);
    });
  });

  it('shows the server’s 400 under the field it names, counting the new model after the existing ones', async () => {
    const sent = fakeServer({
      field: 'scoring.models.1.rules.0.halfLife',
      message: 'scoring.models.1.rules.0.halfLife: is too long for this workspace',
    });
    const onDone = renderEditor();
    await fillValidModel();
    fireEvent.click(screen.getByRole('button', { name: 'Save model' }));

    const halfLife = screen.getByLabelText('Half-life (optional, e.g. 30d)');
    await waitFor(() => expect(halfLife.getAttribute('aria-invalid')).toBe('true'));
    const described = document.getElementById(halfLife.getAttribute('aria-describedby') ?? '');
    expect(described?.textContent).toBe('is too long for this workspace');
    expect(onDone).not.toHaveBeenCalled();
    // The existing model is kept, the new one goes after it.
    expect(sent).toEqual([
      {
        timezone: 'UTC',
        scoring: {
          models: [
            EXISTING,
            {
              id: 'engagement',
              name: 'Engagement',
              rules: [
                {
                  id: 'rule_1',
                  kind: 'event',
                  event: 'Demo Requested',
                  where: [],
                  points: 40,
                  repeat: 'every_time',
                  halfLife: '14d',
                },
              ],
            },
          ],
        },
      },
    ]);
  });

  it('shows a 400 about another part of the settings above the form, not on a field of this model', async () => {
    fakeServer({ field: 'lifecycle.rules.0.model', message: 'lifecycle.rules.0.model: gone is not a model' });
    renderEditor();
    await fillValidModel();
    fireEvent.click(screen.getByRole('button', { name: 'Save model' }));
    await screen.findByText('lifecycle.rules.0.model: gone is not a model');
    expect(document.querySelectorAll('[aria-invalid="true"]')).toHaveLength(0);
  });

  it("keeps a saved rule's id, which every ledger names its points by, and lets a new rule's be typed", async () => {
    fakeServer({ field: 'x', message: 'x' });
    renderEditor(EXISTING);
    const [saved] = await screen.findAllByLabelText('Rule id');
    expect(saved).toMatchObject({ value: 'italy', readOnly: true });
    fireEvent.click(screen.getByRole('button', { name: 'Add fit rule' }));
    const added = screen.getAllByLabelText('Rule id')[1] as HTMLInputElement;
    expect(added.readOnly).toBe(false);
    fireEvent.change(added, { target: { value: 'germany' } });
    expect(added.value).toBe('germany');
  });

  it('sends nothing while a field is wrong', async () => {
    const sent = fakeServer({ field: 'x', message: 'x' });
    renderEditor();
    await fillValidModel();
    fireEvent.change(screen.getByLabelText('Points (negative to take away)'), { target: { value: '0' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save model' }));
    await screen.findByText('Must not be 0');
    expect(sent).toEqual([]);
  });
});
