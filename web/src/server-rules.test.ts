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
 * saving (the 52 weeks of business hours a hand-off's SLA may span). Each such module must stay
 * import-free: one import there would pull server code, zod or Node into the browser build.
 */
describe('rules the console shares with the server', () => {
  it('are only modules of src/core that import nothing', () => {
    const shared = new Map<string, string[]>();
    for (const file of sourcesUnder(WEB_SRC))
      for (const specifier of importsOf(file)) {
        const target = path.resolve(path.dirname(file), specifier);
        if (target.startsWith(WEB_SRC) || !specifier.startsWith('.')) continue;
        shared.set(
          path.relative(path.join(WEB_SRC, '..', '..'), target),
          importsOf(target.replace(/\.js$/, '.ts')),
        );
      }
    expect(shared.size).toBeGreaterThan(0);
    for (const [module, imports] of shared) {
      expect(module, 'a module the console imports from outside web/').toMatch(/^src\/core\/[a-z-]+\.js$/);
      expect(imports, `${module} imports`).toEqual([]);
    }
  });
});
