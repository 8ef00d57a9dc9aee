/// <reference types="node" />
// A Node test of the console's sources (the console itself has no Node types).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const WEB_SRC = import.meta.dirname;
const IMPORT = /^(?:import|export)\s[^;]*?from\s+'([^']+)'/gms;

function sourcesUnder(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(folder, entry.name);
    if (entry.isDirectory()) return sourcesUnder(file);
    return /\.tsx?$/.test(entry.name) && !/\.test\.tsx?$/.test(entry.name) ? [file] : [];
  });
}

const importsOf = (file: string) =>
  [...readFileSync(file, 'utf8').matchAll(IMPORT)].map((match) => match[1] ?? '');

/**
 * The console shares a few rules with the server so that it checks a form by the same rule before
 * saving (the 52 weeks of business hours a hand-off's SLA may span). Each such module may import only
 * other such modules of src/core, and none anything else: one import of server code, zod or Node
 * would pull it into the browser build.
 */
describe('rules the console shares with the server', () => {
  it('are only modules of src/core that import nothing but one another', () => {
    const projectRoot = path.join(WEB_SRC, '..', '..');
    const shared = new Map<string, string[]>();
    const toCheck: string[] = [];
    for (const file of sourcesUnder(WEB_SRC))
      for (const specifier of importsOf(file)) {
        const target = path.resolve(path.dirname(file), specifier);
        if (target.startsWith(WEB_SRC) || !specifier.startsWith('.')) continue;
        toCheck.push(target);
      }
    expect(toCheck.length).toBeGreaterThan(0);
    for (let target = toCheck.pop(); target !== undefined; target = toCheck.pop()) {
      const module = path.relative(projectRoot, target);
      if (shared.has(module)) continue;
      const imports = importsOf(target.replace(/\.js$/, '.ts'));
      shared.set(module, imports);
      expect(module, 'a module the console imports from outside web/').toMatch(/^src\/core\/[a-z-]+\.js$/);
      for (const specifier of imports) {
        expect(specifier, `${module} imports`).toMatch(/^\.\/[a-z-]+\.js$/);
        toCheck.push(path.resolve(path.dirname(target), specifier));
      }
    }
  });
});
