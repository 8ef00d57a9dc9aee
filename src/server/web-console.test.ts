import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestWorld, type TestWorld } from '../test-support/world.js';

const INDEX = '<!doctype html><title>Mops</title><div id="root"></div>';

describe('the web console is served by the same process', () => {
  let webDir: string;
  let world: TestWorld;
  let bare: TestWorld;

  beforeAll(async () => {
    webDir = mkdtempSync(path.join(tmpdir(), 'mops-web-'));
    mkdirSync(path.join(webDir, 'assets'));
    writeFileSync(path.join(webDir, 'index.html'), INDEX);
    writeFileSync(path.join(webDir, 'assets', 'index-abc123.js'), 'console.log(1)');
    world = await startTestWorld('sqlite', { env: { MOPS_WEB_DIR: webDir } });
    bare = await startTestWorld('sqlite', { env: { MOPS_WEB_DIR: path.join(webDir, 'missing') } });
  });

  afterAll(async () => {
    await world?.close();
    await bare?.close();
    rmSync(webDir, { recursive: true, force: true });
  });

  const page = (url: string) => fetch(url, { headers: { accept: 'text/html,application/xhtml+xml' } });

  it('answers / and every client-side route with index.html, never cached', async () => {
    for (const route of ['/', '/journeys/j_1', '/settings/keys?x=1']) {
      const response = await page(`${world.url}${route}`);
      expect(response.status, route).toBe(200);
      expect(response.headers.get('content-type')).toContain('text/html');
      expect(response.headers.get('cache-control')).toBe('no-cache');
      expect(await response.text()).toBe(INDEX);
    }
  });

  it('lets a page run scripts from the console’s files only, never inline ones, and be framed by no site', async () => {
    for (const url of [`${world.url}/`, `${world.url}/healthz`]) {
      const policy = Object.fromEntries(
        ((await page(url)).headers.get('content-security-policy') ?? '').split(';').map((directive) => {
          const [name = '', ...sources] = directive.trim().split(/\s+/);
          return [name, sources];
        }),
      );
      expect(policy['script-src'], url).toEqual(["'self'"]);
      expect(policy['object-src'], url).toEqual(["'none'"]);
      expect(policy['frame-ancestors'], url).toEqual(["'none'"]);
      expect(policy['base-uri'], url).toEqual(["'none'"]);
    }
  });

  it('serves hashed assets for a year', async () => {
    const response = await fetch(`${world.url}/assets/index-abc123.js`);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
  });

  it('keeps JSON 404s for API paths and for requests that are not pages', async () => {
    for (const url of [`${world.url}/api/nothing-here`, `${world.url}/v1/nothing`, `${world.url}/t/x`]) {
      const response = await page(url);
      expect(response.status, url).toBe(404);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('not_found');
    }
    const script = await fetch(`${world.url}/journeys/j_1`, { headers: { accept: 'application/json' } });
    expect(script.status).toBe(404);
  });

  it('serves no console when none was built, and the API works alone', async () => {
    expect((await page(`${bare.url}/`)).status).toBe(404);
    expect((await fetch(`${bare.url}/healthz`)).status).toBe(200);
  });
});
