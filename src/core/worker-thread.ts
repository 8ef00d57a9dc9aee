import path from 'node:path';
import { Worker } from 'node:worker_threads';

/**
 * Starts a worker thread on the module `name` beside `from` (the caller's import.meta.url): its
 * TypeScript source under tsx (the CLI from source), which the thread registers the loader for first,
 * or its compiled JavaScript in the build.
 *
 * Tests set `MOPS_WORKER_BUNDLE_DIR` to the bundle of the thread modules their run made from the same
 * source (`src/test-support/cli-bundle.ts`): a thread started from source compiles some three hundred
 * modules through tsx, a second or more per thread on a busy two-core machine, and a test server
 * starts three.
 */
export function startWorkerThread(from: string, name: string, workerData: unknown): Worker {
  const isSource = from.endsWith('.ts');
  const bundleDir = process.env.MOPS_WORKER_BUNDLE_DIR;
  if (isSource && bundleDir) return new Worker(path.join(bundleDir, `${name}.js`), { workerData });
  const entry = new URL(`./${name}${isSource ? '.ts' : '.js'}`, from);
  return isSource
    ? new Worker(
        `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); })`,
        { eval: true, workerData },
      )
    : new Worker(entry, { workerData });
}
