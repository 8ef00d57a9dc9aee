import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { build } from 'vite';
import { expect } from 'vitest';
import { PROJECT_ROOT } from '../../src/test-support/cli.js';
import { SmtpSink } from '../../src/test-support/smtp-sink.js';
import { startTestWorld, type TestWorld } from '../../src/test-support/world.js';

const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOTS = path.join(PROJECT_ROOT, 'artifacts', 'screenshots');

/** A built console served by a real Mops (SQLite, real HTTP) that e-mails a real SMTP sink, and a browser. */
export interface ConsoleWorld {
  world: TestWorld;
  sink: SmtpSink;
  browser: Browser;
  page: Page;
  admin: { email: string; password: string };
  /** Calls the admin API with the world's secret key: `api('GET', '/templates')` for this workspace. */
  api<T>(method: string, rest: string, body?: unknown): Promise<{ status: number; body: T }>;
  /**
   * Saves a full-page screenshot under artifacts/screenshots, and checks every control there has a
   * name and that the Content-Security-Policy has blocked nothing so far.
   */
  shot(name: string): Promise<void>;
  /** Fills the log-in form with the first admin's credentials and waits for the console. */
  logIn(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Builds the console (into a temporary directory), starts Mops serving it with SMTP pointed at a sink,
 * and opens Chromium on it (not logged in). Each test file starts its own.
 */
export async function startConsoleWorld(
  options: {
    locale?: string;
    /** false: the test sets SMTP up in the browser. */
    configureSmtp?: boolean;
    /** The server's environment, over the test world's. */
    env?: Record<string, string>;
  } = {},
): Promise<ConsoleWorld> {
  const webDir = mkdtempSync(path.join(tmpdir(), 'mops-web-'));
  let sink: SmtpSink | undefined;
  let world: TestWorld | undefined;
  let browser: Browser | undefined;
  const close = async () => {
    await browser?.close();
    await world?.close();
    await sink?.stop();
    rmSync(webDir, { recursive: true, force: true });
  };
  try {
    await build({
      configFile: path.join(PROJECT_ROOT, 'vite.config.ts'),
      build: { outDir: webDir, emptyOutDir: true },
      logLevel: 'warn',
    });
    sink = await new SmtpSink().start();
    world = await startTestWorld('sqlite', { env: { ...options.env, MOPS_WEB_DIR: webDir } });
    const admin = world.mops.firstRun?.createdAdmin;
    if (!admin) throw new Error('the test world created no first admin');
    const current = world;
    const api = async <T>(method: string, rest: string, body?: unknown) => {
      const response = await fetch(`${current.url}/api/workspaces/${current.workspaceId}${rest}`, {
        method,
        headers: {
          authorization: `Bearer ${current.secretKey}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
    };
    if (options.configureSmtp !== false) {
      const settings = await api('PUT', '/settings', {
        smtp: { host: '127.0.0.1', port: sink.port, from: 'Shop <shop@example.com>' },
        frequencyCaps: { email: [] },
      });
      expect(settings.status).toBe(200);
    }
    mkdirSync(SCREENSHOTS, { recursive: true });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    const context = await browser.newContext({
      viewport: { width: 1500, height: 950 },
      locale: options.locale ?? 'en-US',
    });
    const page = await context.newPage();
    // What the server's Content-Security-Policy blocked: the console must need nothing it forbids.
    const blocked: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' && message.text().includes('Content Security Policy'))
        blocked.push(message.text());
    });
    return {
      world,
      sink,
      browser,
      page,
      admin,
      api,
      shot: async (name) => {
        await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
        // Every screen a test shows is also checked for controls a screen reader could not name.
        expect(await unlabelledControls(page), `unlabelled controls on ${name}`).toEqual([]);
        expect(blocked, `blocked by the Content-Security-Policy by ${name}`).toEqual([]);
      },
      async logIn() {
        await page.goto(current.url);
        await page.getByLabel(/E-mail/).fill(admin.email);
        await page.getByLabel(/Password/).fill(admin.password);
        await page.getByRole('button', { name: /Log in|Accedi/ }).click();
        await page.getByRole('navigation').first().waitFor();
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * The visible form controls of the page that have no accessible name (no label, aria-label or
 * aria-labelledby; buttons and links without text): each one a screen reader could not announce.
 */
export async function unlabelledControls(page: Page): Promise<string[]> {
  // A string, so that this file needs no DOM types: it runs in the browser.
  return page.evaluate(`(() => {
    const named = (element) => {
      if (element.getAttribute('aria-label')?.trim()) return true;
      const labelledBy = element.getAttribute('aria-labelledby');
      if (labelledBy && labelledBy.split(' ').some((id) => document.getElementById(id)?.textContent?.trim())) return true;
      if (['BUTTON', 'A'].includes(element.tagName)) return Boolean(element.textContent?.trim() || element.getAttribute('title'));
      if (element.labels && [...element.labels].some((label) => label.textContent?.trim())) return true;
      return Boolean(element.getAttribute('title'));
    };
    const visible = (element) => element.getClientRects().length > 0 && getComputedStyle(element).visibility !== 'hidden';
    return [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button, a[href]')]
      .filter((element) => visible(element) && !named(element))
      .map((element) => element.outerHTML.slice(0, 120));
  })()`);
}

/** The elements of the page's main part that reach past the window's right edge, innermost first (none: it fits). */
export async function wideElements(page: Page): Promise<string[]> {
  // A string, as above: it runs in the browser.
  return page.evaluate(`(() => {
    const width = document.documentElement.clientWidth;
    if (document.documentElement.scrollWidth <= width) return [];
    const wide = [...document.querySelectorAll('main *')].filter((element) => element.getBoundingClientRect().right > width + 1);
    return wide
      .filter((element) => !wide.some((other) => other !== element && element.contains(other)))
      .slice(0, 3)
      .map((element) => element.tagName.toLowerCase() + '.' + element.className);
  })()`);
}

/**
 * The tables of the page's main part that reach past their own box (scrolling sideways inside it, or
 * spilling out of it), by their column headings: none when every table reads within its width.
 */
export async function tablesScrollingSideways(page: Page): Promise<string[]> {
  // A string, as above: it runs in the browser.
  return page.evaluate(`(() => {
    return [...document.querySelectorAll('main table')].flatMap((table) => {
      const overreach = table.scrollWidth - table.clientWidth;
      if (overreach <= 0) return [];
      const headings = [...table.querySelectorAll(':scope > thead th')].map((th) => th.textContent.trim()).filter(Boolean);
      return [headings.join(' | ') + ': ' + overreach + ' px too wide'];
    });
  })()`);
}

/**
 * The tables of the page's main part wider than the box they sit in (its content box), by their
 * column headings: none when every table fits, or scrolls inside a box of its own.
 */
export async function tablesWiderThanTheirBox(page: Page): Promise<string[]> {
  // A string, as above: it runs in the browser.
  return page.evaluate(`(() => {
    return [...document.querySelectorAll('main table')].flatMap((table) => {
      const box = table.parentElement;
      const style = getComputedStyle(box);
      if (['auto', 'scroll'].includes(style.overflowX)) return [];
      const room = box.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
      const width = table.getBoundingClientRect().width;
      if (width <= room + 0.5) return [];
      const headings = [...table.querySelectorAll('th')].map((th) => th.textContent.trim()).filter(Boolean);
      return [headings.join(' | ') + ': ' + Math.round(width) + ' px in ' + Math.round(room)];
    });
  })()`);
}

/**
 * The visible checkboxes of the page's main part whose visible label runs under the box rather than
 * beside it (a wrapped line starting at the box's left edge), by label: none when each reads beside its box.
 */
export async function checkboxesWithTextUnder(page: Page): Promise<string[]> {
  // A string, as above: it runs in the browser.
  return page.evaluate(`(() => {
    const visible = (element) => element.getClientRects().length > 0 && getComputedStyle(element).visibility !== 'hidden';
    return [...document.querySelectorAll('main input[type=checkbox]')].filter(visible).flatMap((box) => {
      const label = box.labels?.[0];
      // A visually hidden label (a table row's, whose column heading speaks for it) is not read beside anything.
      if (!label || label.getBoundingClientRect().width <= 1) return [];
      const right = box.getBoundingClientRect().right;
      const range = document.createRange();
      const texts = [...label.childNodes].filter((node) => node.nodeType === 3 && node.textContent.trim());
      const under = texts.some((node) => {
        range.selectNodeContents(node);
        return [...range.getClientRects()].some((line) => line.left < right);
      });
      return under ? [label.textContent.trim()] : [];
    });
  })()`);
}

/**
 * The visible buttons of the page's main part stretched well past what their text needs (to a grid
 * cell's or a column's width), by text: none when each is as wide as its words.
 */
export async function stretchedButtons(page: Page): Promise<string[]> {
  // A string, as above: it runs in the browser.
  return page.evaluate(`(() => {
    const visible = (element) => element.getClientRects().length > 0 && getComputedStyle(element).visibility !== 'hidden';
    return [...document.querySelectorAll('main button')].filter(visible).flatMap((button) => {
      const copy = button.cloneNode(true);
      copy.style.cssText = 'position: absolute; visibility: hidden; width: max-content';
      button.after(copy);
      const needed = copy.getBoundingClientRect().width;
      copy.remove();
      return button.getBoundingClientRect().width > needed * 1.5 + 16 ? [button.textContent.trim()] : [];
    });
  })()`);
}

/**
 * The choices of the page's visible selects that would not read whole once chosen: each option is
 * measured in a copy of its select holding only that option, as wide as its text needs, set in the
 * select's place so the same styles apply. None: every choice fits.
 */
export async function clippedSelects(page: Page): Promise<string[]> {
  // A string, as above: it runs in the browser.
  return page.evaluate(`(() => {
    const visible = (element) => element.getClientRects().length > 0 && getComputedStyle(element).visibility !== 'hidden';
    return [...document.querySelectorAll('select')].filter(visible).flatMap((select) => {
      const width = select.getBoundingClientRect().width;
      const name = select.getAttribute('aria-label') || select.labels?.[0]?.textContent || select.id;
      return [...select.options].flatMap((option, index) => {
        const copy = select.cloneNode(true);
        copy.removeAttribute('id');
        copy.style.cssText = 'position: absolute; visibility: hidden; width: auto; min-width: 0; max-width: none; flex: none';
        [...copy.options].forEach((other, at) => { if (at !== index) other.remove(); });
        select.before(copy);
        const needed = copy.getBoundingClientRect().width;
        copy.remove();
        return needed > width + 0.5 ? [name + ': ' + option.textContent] : [];
      });
    });
  })()`);
}
