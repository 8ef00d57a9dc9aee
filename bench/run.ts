const BENCHMARKS: Record<string, () => Promise<unknown>> = {
  ingest: async () => (await import('./ingest.js')).runIngestBenchmark(),
  trigger: async () => (await import('./trigger.js')).runTriggerBenchmark(),
  send: async () => (await import('./send.js')).runSendBenchmark(),
  waiting: async () => (await import('./waiting.js')).runWaitingBenchmark(),
  segments: async () => (await import('./segments.js')).runSegmentsBenchmark(),
};

const name = process.argv[2];
const run = name ? BENCHMARKS[name] : undefined;
if (!run) {
  process.stderr.write(`usage: npm run bench -- <name>\nbenchmarks: ${Object.keys(BENCHMARKS).join(', ')}\n`);
  process.exit(2);
}
await run();
