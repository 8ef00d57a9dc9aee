import { inject } from 'vitest';

// The worker threads of every server a test starts in its own process run this run's bundle of the
// thread modules, made once from the source (see `startWorkerThread` and `cli-bundle.ts`).
process.env.MOPS_WORKER_BUNDLE_DIR = inject('mopsCommandDir');
