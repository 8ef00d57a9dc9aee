import { Worker } from 'node:worker_threads';

/**
 * Starts a worker thread on the module `name` beside `from` (the caller's import.meta.url): its
 * TypeScript source under tsx (tests, the CLI from source), which the thread registers the loader
 * for first, or its compiled JavaScript in the build.
 */
export function startWorkerThread(from: string, name: string, workerData: unknown): Worker {
  const isSource = from.endsWith('.ts');
  const entry = new URL(`./${name}${isSource ? '.ts' : '.js'}`, from);
  return isSource
    ? new Worker(
        `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); })`,
        { eval: true, workerData },
      )
    : new Worker(entry, { workerData });
}
