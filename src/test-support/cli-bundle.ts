import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import type { TestProject } from 'vitest/node';
import { PROJECT_ROOT } from './cli.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Where this run's bundle of the `mops` command is: see `bundleMopsCommand`. */
    mopsCommandDir: string;
  }
}

/** The CLI, and the modules its worker threads start on (found by name beside the module starting them). */
const ENTRY_POINTS = [
  'src/cli/main.ts',
  'src/server/log-thread.ts',
  'src/channels/email/send-thread.ts',
  'src/segments/segments-thread.ts',
];

/**
 * Vitest's global set-up: bundles the `mops` command from source once per run (half a second), so
 * the tests that run it as a process start each one from one file in about a second, instead of
 * compiling and loading some three hundred modules through tsx (two to five seconds each on a busy
 * two-core machine, and the CLI and crash tests start dozens). Packages stay in `node_modules`.
 */
export default async function bundleMopsCommand(project: TestProject): Promise<() => void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'mops-command-'));
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  symlinkSync(path.join(PROJECT_ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  await build({
    entryPoints: ENTRY_POINTS.map((entry) => path.join(PROJECT_ROOT, entry)),
    outdir: dir,
    entryNames: '[name]',
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    logLevel: 'warning',
  });
  project.provide('mopsCommandDir', dir);
  return () => rmSync(dir, { recursive: true, force: true });
}
