import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleWorld, startConsoleWorld } from './harness.js';

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The journey builder's canvas on a laptop screen, where a long journey fills it from top to bottom. */
describe('journey canvas (Chromium)', () => {
  let consoleWorld: ConsoleWorld;
  let page: Page;
  let journeyId = '';

  beforeAll(async () => {
    consoleWorld = await startConsoleWorld();
    page = consoleWorld.page;
    // Six steps in a row: laid out one under the other, they reach the canvas's lower edge.
    const journey = await consoleWorld.api<{ id: string }>('POST', '/journeys', {
      definition: {
        name: 'Long nurture',
        entry: { trigger: { type: 'event', event: 'Signed Up' } },
        start: 'day1',
        steps: [
          { id: 'day1', type: 'wait', duration: '1d', next: 'day2' },
          { id: 'day2', type: 'wait', duration: '1d', next: 'day3' },
          { id: 'day3', type: 'wait', duration: '1d', next: 'day4' },
          { id: 'day4', type: 'wait', duration: '1d', next: 'day5' },
          { id: 'day5', type: 'wait', duration: '1d', next: 'done' },
          { id: 'done', type: 'exit' },
        ],
      },
    });
    expect(journey.status).toBe(201);
    journeyId = journey.body.id;
    await page.setViewportSize({ width: 1280, height: 800 });
    await consoleWorld.logIn();
  }, 120_000);

  afterAll(async () => {
    await consoleWorld?.close();
  });

  /** Every step's box on screen, by its node's id. */
  const nodeBoxes = () =>
    page.locator('.react-flow__node').evaluateAll((elements) =>
      elements.map((element) => {
        const box = element.getBoundingClientRect();
        return {
          id: element.getAttribute('data-id') ?? '',
          x: box.x,
          y: box.y,
          width: box.width,
          height: box.height,
        };
      }),
    );
  const isInside = (inner: Box, outer: Box) =>
    inner.x >= outer.x &&
    inner.y >= outer.y &&
    inner.x + inner.width <= outer.x + outer.width &&
    inner.y + inner.height <= outer.y + outer.height;
  const overlaps = (a: Box, b: Box) =>
    a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

  it('adds each step from the palette where it can be seen, clear of the others', async () => {
    await page.goto(`${consoleWorld.world.url}/journeys/${journeyId}`);
    await page.getByTestId('node-done').waitFor();
    const canvas = await page.locator('.canvas').boundingBox();
    if (!canvas) throw new Error('no canvas on screen');

    const added = ['wait_1', 'send_email_1', 'exit_1', 'wait_2', 'webhook_1', 'exit_2', 'wait_3', 'exit_3'];
    for (const id of added) {
      await page.getByTestId(`palette-${id.replace(/_\d+$/, '')}`).click();
      await page.getByTestId(`node-${id}`).waitFor();
      // Where it landed once drawn (and scrolled to, when the view had no room left).
      await expect
        .poll(
          async () => {
            const boxes = await nodeBoxes();
            const box = boxes.find((other) => other.id === id);
            return {
              inView: box !== undefined && isInside(box, canvas),
              overlapping: boxes
                .filter((other) => box && other.id !== id && overlaps(box, other))
                .map((other) => other.id),
            };
          },
          { message: `${id} on the canvas` },
        )
        .toEqual({ inView: true, overlapping: [] });
    }
    await consoleWorld.shot('journey-canvas-added');
  }, 120_000);

  /** A journey of one exit step, opened in the builder: a canvas of its own for each test. */
  const openNewJourney = async (name: string) => {
    const journey = await consoleWorld.api<{ id: string }>('POST', '/journeys', {
      definition: {
        name,
        entry: { trigger: { type: 'event', event: 'Signed Up' } },
        start: 'done',
        steps: [{ id: 'done', type: 'exit' }],
      },
    });
    expect(journey.status).toBe(201);
    await page.goto(`${consoleWorld.world.url}/journeys/${journey.body.id}`);
    await page.getByTestId('node-done').waitFor();
    return journey.body.id;
  };
  const panel = () => page.getByRole('complementary', { name: 'Step settings' });
  const goToSegments = () =>
    page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Segments' }).click();

  it('adds a step clear of the connections drawn, where it cannot look connected while nothing leads to it', async () => {
    await page.goto(`${consoleWorld.world.url}/journeys`);
    await page.getByLabel('Name of the new journey').fill('Clear of the lines');
    await page.getByRole('button', { name: 'New journey' }).click();
    await page.getByRole('heading', { name: 'Clear of the lines' }).waitFor();
    // The entry chosen, its step would go right below it: on its line down to the exit.
    await page.getByTestId('node-entry').click();
    await page.getByTestId('palette-wait').click();
    await page.getByTestId('node-wait_1').waitFor();
    // Both measured once the view has settled (it pans to the new step): one frame apart, a moving
    // view would put the two in different places.
    await expect
      .poll(async () => {
        const connection = await page.locator('.react-flow__edge-path').first().boundingBox();
        const wait = (await nodeBoxes()).find((box) => box.id === 'wait_1');
        if (!connection || !wait) throw new Error('no connection or no step on screen');
        return overlaps(connection, wait);
      })
      .toBe(false);
    expect(await page.getByTestId('unfinished-wait_1').getAttribute('aria-label')).toContain(
      'no step leads here',
    );
  }, 120_000);

  it('asks before leaving a canvas with unsaved changes, keeps them on "stay", and lets a saved canvas go', async () => {
    const journeyId = await openNewJourney('Welcome');
    expect(await page.getByText('Unsaved changes').count()).toBe(0);
    await page.getByTestId('palette-wait').click();
    await page.getByText('Unsaved changes').waitFor();

    await goToSegments();
    const dialog = page.getByRole('alertdialog', { name: 'Leave without saving?' });
    await dialog.waitFor();
    // The safe answer has the focus: Enter keeps the work.
    expect(await page.locator(':focus').textContent()).toBe('Stay and keep editing');
    await consoleWorld.shot('journey-unsaved-leave');
    await page.keyboard.press('Enter');
    await dialog.waitFor({ state: 'detached' });
    expect(new URL(page.url()).pathname).toBe(`/journeys/${journeyId}`);
    await page.getByTestId('node-wait_1').waitFor();

    // Connected and saved, the canvas lets the console go elsewhere without asking.
    await panel().getByRole('combobox', { name: 'next', exact: true }).selectOption('done');
    await page.getByTestId('node-entry').click();
    await panel().getByRole('combobox', { name: 'first step' }).selectOption('wait_1');
    await page.getByRole('button', { name: 'Save draft' }).click();
    await page.getByText('Draft saved').waitFor();
    expect(await page.getByText('Unsaved changes').count()).toBe(0);
    await goToSegments();
    await page.getByRole('heading', { name: 'Segments' }).waitFor();
    expect(await dialog.count()).toBe(0);

    // Leaving on purpose drops what was not saved: the saved draft is what comes back.
    await page.goBack();
    await page.getByTestId('node-wait_1').waitFor();
    await page.getByTestId('palette-exit').click();
    await page.getByTestId('node-exit_1').waitFor();
    await goToSegments();
    await dialog.getByRole('button', { name: 'Leave without saving' }).click();
    await page.getByRole('heading', { name: 'Segments' }).waitFor();
    await page.goBack();
    await page.getByTestId('node-wait_1').waitFor();
    expect(await page.getByTestId('node-exit_1').count()).toBe(0);
  }, 120_000);

  it('counts what is left to do in words that agree and names each port as the side panel does, in English and Italian', async () => {
    await openNewJourney('Half-drawn');
    await page.getByTestId('palette-wait').click();
    // Marked on its node at once; a draft is saved all the same, only publishing waits for it.
    expect(await page.getByTestId('unfinished-wait_1').getAttribute('aria-label')).toBe(
      'Not finished: next connects to nothing: drag from its handle to the next step; no step leads here: connect one to it, or remove it',
    );
    const messages = page.locator('.builder-messages');
    await page.getByRole('button', { name: 'Save draft' }).click();
    await messages.getByText('Draft saved · 2 things to finish before publishing', { exact: true }).waitFor();
    await page.getByRole('button', { name: 'Publish' }).click();
    await messages.getByText('2 problems to fix before publishing', { exact: true }).waitFor();
    expect(await page.getByTestId('node-wait_1').textContent()).toContain('next connects to nothing');

    // Its way out connected, what is left is that nothing leads to it.
    await panel().getByRole('combobox', { name: 'next', exact: true }).selectOption('done');
    await page.getByRole('button', { name: 'Publish' }).click();
    await messages.getByText('1 problem to fix before publishing', { exact: true }).waitFor();
    expect(await page.getByTestId('node-wait_1').textContent()).toContain('no step leads here');

    await page.getByLabel('Language').selectOption('it');
    try {
      await page.getByRole('button', { name: 'Pubblica' }).click();
      await messages.getByText('1 problema da correggere prima di pubblicare', { exact: true }).waitFor();
      await expect
        .poll(() => page.getByTestId('node-wait_1').textContent())
        .toContain('nessun passo porta qui');
      await consoleWorld.shot('journey-problems-it');
    } finally {
      await page.getByLabel('Lingua').selectOption('en');
    }
  }, 120_000);

  it('saves an unfinished journey as a draft, brings it back as it was, and only publishing refuses it', async () => {
    const journeyId = await openNewJourney('Over several sittings');
    await page.getByTestId('palette-send_email').click();
    await page.getByTestId('palette-branch').click();
    await page.getByTestId('unfinished-send_email_1').waitFor();
    await page.getByTestId('unfinished-branch_1').waitFor();
    await page.getByRole('button', { name: 'Save draft' }).click();
    const messages = page.locator('.builder-messages');
    await messages.getByText('Draft saved · 7 things to finish before publishing', { exact: true }).waitFor();

    const saved = async () =>
      (
        await consoleWorld.api<{ status: string; draft: { steps: Array<Record<string, unknown>> } }>(
          'GET',
          `/journeys/${journeyId}`,
        )
      ).body;
    const steps = (await saved()).draft.steps;
    expect(steps.find((step) => step.id === 'send_email_1')).toEqual({
      id: 'send_email_1',
      type: 'send_email',
      template: '',
      topic: 'marketing',
    });
    expect(steps.find((step) => step.id === 'branch_1')).toEqual({
      id: 'branch_1',
      type: 'branch',
      branches: [{ conditions: [{ source: 'trait', path: '', op: 'eq', value: '' }] }],
    });

    // Another sitting: the canvas comes back as it was left, still marked, with nothing unsaved.
    await page.reload();
    await page.getByTestId('node-branch_1').waitFor();
    const send = page.getByTestId('unfinished-send_email_1');
    expect(await send.getAttribute('aria-label')).toBe(
      'Not finished: no template chosen yet; next connects to nothing: drag from its handle to the next step; no step leads here: connect one to it, or remove it',
    );
    expect(await page.getByTestId('unfinished-branch_1').getAttribute('aria-label')).toContain(
      'yes 1: a condition is not filled in yet',
    );
    expect(await page.getByText('Unsaved changes').count()).toBe(0);

    await page.getByRole('button', { name: 'Publish' }).click();
    await messages.getByText('7 problems to fix before publishing', { exact: true }).waitFor();
    expect(await page.getByTestId('node-send_email_1').textContent()).toContain('no template chosen yet');
    expect((await saved()).status).toBe('draft');
    await consoleWorld.shot('journey-unfinished');
  }, 120_000);

  it('keeps steps apart when one is drawn bigger than it was placed for, leaving the others where they were', async () => {
    const arm = { conditions: [{ source: 'trait', path: 'plan', op: 'eq', value: 'pro' }], next: 'done' };
    // Placed for smaller steps: the branch's three questions make it taller than the room left below it.
    const journey = await consoleWorld.api<{ id: string }>('POST', '/journeys', {
      definition: {
        name: 'Growing',
        entry: { trigger: { type: 'event', event: 'Signed Up' } },
        start: 'ask',
        steps: [
          { id: 'ask', type: 'branch', branches: [arm, arm, arm], otherwise: 'later' },
          { id: 'later', type: 'wait', duration: '1d', next: 'done' },
          { id: 'done', type: 'exit' },
          { id: 'aside', type: 'exit' },
        ],
        canvas: {
          entry: { x: 0, y: 0 },
          ask: { x: 0, y: 110 },
          later: { x: 0, y: 200 },
          done: { x: 0, y: 300 },
          aside: { x: 520, y: 110 },
        },
      },
    });
    expect(journey.status).toBe(201);
    await page.goto(`${consoleWorld.world.url}/journeys/${journey.body.id}`);
    await page.getByTestId('node-aside').waitFor();
    const overlapping = async () => {
      const boxes = await nodeBoxes();
      return boxes.flatMap((a, index) =>
        boxes.slice(index + 1).flatMap((b) => (overlaps(a, b) ? [`${a.id}/${b.id}`] : [])),
      );
    };
    await expect.poll(overlapping).toEqual([]);
    // Made room for when opened: the journey itself is unchanged, so there is nothing to save.
    expect(await page.getByText('Unsaved changes').count()).toBe(0);
    const aside = (await nodeBoxes()).find((box) => box.id === 'aside');

    // Growing after it was placed: two more questions.
    await page.getByTestId('node-ask').click();
    await panel().getByRole('button', { name: '+ yes' }).click();
    await panel().getByRole('button', { name: '+ yes' }).click();
    await page.getByTestId('arm-ask-4').waitFor();
    await expect.poll(overlapping).toEqual([]);
    expect((await nodeBoxes()).find((box) => box.id === 'aside')).toEqual(aside);
    await consoleWorld.shot('journey-canvas-grown');
  }, 120_000);

  it('tidies a tangled canvas into layers from the entry down, each step below what leads to it, and saves it', async () => {
    const arm = { conditions: [{ source: 'trait', path: 'plan', op: 'eq', value: 'pro' }], next: 'pro' };
    // Every step dropped in one heap, with a dozen that nothing leads to yet.
    const heap = { x: 40, y: 40 };
    const loose = Array.from({ length: 12 }, (_, index) => `loose_${index + 1}`);
    const journey = await consoleWorld.api<{ id: string }>('POST', '/journeys', {
      definition: {
        name: 'Tangled',
        entry: { trigger: { type: 'event', event: 'Signed Up' } },
        start: 'wait',
        steps: [
          { id: 'wait', type: 'wait', duration: '1d', next: 'ask' },
          { id: 'ask', type: 'branch', branches: [arm], otherwise: 'free' },
          { id: 'pro', type: 'wait', duration: '2d', next: 'done' },
          { id: 'free', type: 'wait', duration: '3d', next: 'done' },
          { id: 'done', type: 'exit' },
          ...loose.map((id) => ({ id, type: 'exit' })),
        ],
        canvas: {
          entry: heap,
          wait: heap,
          ask: heap,
          pro: heap,
          free: heap,
          done: heap,
          ...Object.fromEntries(loose.map((id) => [id, heap])),
        },
      },
    });
    expect(journey.status).toBe(201);
    await page.goto(`${consoleWorld.world.url}/journeys/${journey.body.id}`);
    await page.getByTestId('node-done').waitFor();
    await page.getByRole('button', { name: 'Tidy up' }).click();
    const edges = [
      ['entry', 'wait'],
      ['wait', 'ask'],
      ['ask', 'pro'],
      ['ask', 'free'],
      ['pro', 'done'],
      ['free', 'done'],
    ];
    const tidy = async () => {
      const boxes = new Map((await nodeBoxes()).map((box) => [box.id, box]));
      const wrong = edges.flatMap(([from, to]) => {
        const above = boxes.get(from as string);
        const below = boxes.get(to as string);
        return above && below && below.y > above.y + above.height ? [] : [`${from} → ${to}`];
      });
      const all = [...boxes.values()];
      const overlapping = all.flatMap((a, index) =>
        all.slice(index + 1).flatMap((b) => (overlaps(a, b) ? [`${a.id}/${b.id}`] : [])),
      );
      const done = boxes.get('done');
      const notBelow = loose.filter((id) => {
        const box = boxes.get(id);
        return !(done && box && box.y > done.y + done.height);
      });
      return [...wrong, ...overlapping, ...notBelow.map((id) => `${id} beside the flow`)];
    };
    await expect.poll(tidy).toEqual([]);
    // The two ways of the branch side by side, in the order of its ports: yes on the left.
    const boxes = new Map((await nodeBoxes()).map((box) => [box.id, box]));
    expect(boxes.get('pro')?.y).toBe(boxes.get('free')?.y);
    expect(boxes.get('pro')?.x).toBeLessThan(boxes.get('free')?.x ?? 0);
    // And the whole journey in view: the view zooms out no further than half size, so the steps set
    // aside must wrap into rows (in one, they ran past the canvas's edges).
    const canvas = await page.locator('.canvas').boundingBox();
    if (!canvas) throw new Error('no canvas on screen');
    await expect
      .poll(async () => (await nodeBoxes()).filter((box) => !isInside(box, canvas)).map((box) => box.id))
      .toEqual([]);
    await page.getByText('Unsaved changes').waitFor();
    await consoleWorld.shot('journey-canvas-tidied');
    await page.getByRole('button', { name: 'Save draft' }).click();
    await expect
      .poll(async () => {
        const saved = await consoleWorld.api<{ draft: { canvas: Record<string, { x: number; y: number }> } }>(
          'GET',
          `/journeys/${journey.body.id}`,
        );
        return new Set(Object.values(saved.body.draft.canvas).map((at) => `${at.x},${at.y}`)).size;
      })
      .toBe(6 + loose.length);
  }, 120_000);

  it('shows the canvas within the first screen of a phone, the palette wrapped above it', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      await openNewJourney('On a phone');
      const canvas = await page.locator('.canvas').boundingBox();
      const palette = await page.locator('.palette').boundingBox();
      if (!canvas || !palette) throw new Error('no canvas or palette on screen');
      expect(palette.y + palette.height).toBeLessThanOrEqual(canvas.y);
      expect(canvas.y).toBeLessThan(844);
      // Side by side: one under the other, eleven steps pushed the canvas a screen down.
      const [first, second] = await page
        .locator('.palette-item')
        .evaluateAll((items) => items.slice(0, 2).map((item) => item.getBoundingClientRect().y));
      expect(second).toBe(first);
      await consoleWorld.shot('journey-builder-phone');
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  }, 120_000);

  it("opens the entry's or a step's settings from the keyboard, as a click does", async () => {
    await openNewJourney('By keyboard');
    // Tab reaches each step on the canvas; Enter or Space chooses it.
    await page.getByTestId('rf__node-entry').focus();
    await page.keyboard.press('Enter');
    await panel().getByRole('heading', { name: 'Entry' }).waitFor();
    await page.keyboard.press('Tab');
    expect(await page.locator(':focus').getAttribute('data-id')).toBe('done');
    await page.keyboard.press(' ');
    await panel().getByRole('heading', { name: 'Exit' }).waitFor();
    // And the entry again, to connect its first step without a mouse.
    await page.getByTestId('rf__node-entry').focus();
    await page.keyboard.press('Enter');
    await panel().getByRole('combobox', { name: 'first step' }).waitFor();
  }, 120_000);

  it("names the canvas's controls, connections and keys in the reader's language", async () => {
    await openNewJourney('Read aloud');
    const canvas = page.getByRole('region', { name: 'Journey canvas' });
    await canvas.getByRole('button', { name: 'Fit the journey in view' }).waitFor();
    expect(await page.getByTestId('rf__edge-entry:start').getAttribute('aria-label')).toBe(
      'Connection from entry to done',
    );

    await page.getByLabel('Language').selectOption('it');
    try {
      const tela = page.getByRole('region', { name: 'Tela del percorso' });
      await tela.getByRole('button', { name: 'Mostra tutto il percorso' }).waitFor();
      for (const name of ['Ingrandisci', 'Riduci', 'Blocca o sblocca la tela'])
        await tela.getByRole('button', { name }).waitFor();
      expect(await page.getByTestId('rf__edge-entry:start').getAttribute('aria-label')).toBe(
        'Collegamento da entry a done',
      );
      // What a screen reader hears on reaching a step.
      const described = await page.getByTestId('rf__node-entry').getAttribute('aria-describedby');
      expect(await page.locator(`[id="${described}"]`).textContent()).toMatch(/^Premi Invio o Spazio/);
      await consoleWorld.shot('journey-canvas-it');
    } finally {
      await page.getByLabel('Lingua').selectOption('en');
    }
  }, 120_000);
});
