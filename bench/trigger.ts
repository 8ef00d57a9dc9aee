import { Agent, request } from 'undici';
import { TimingSink } from './smtp-timing-sink.js';
import {
  adminApi,
  benchDatabase,
  buildOnce,
  cpuSeconds,
  machine,
  percentile,
  postBatches,
  printResult,
  standInForAutovacuum,
  startServer,
  waitForQuiet,
} from './support.js';

const RATE = Number(process.env.BENCH_RATE ?? 500);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 30);
/** JIT, connection pools and template caches warm up first, at the same rate; reported, not measured. */
const WARM_UP_S = Number(process.env.BENCH_WARM_UP_S ?? 5);

interface Latencies {
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  max_ms: number;
}

/**
 * 500 events/s for 30 s (after 5 s of warm-up at the same rate), each entering a one-step journey
 * that sends an e-mail to a local SMTP sink; the figure is the time from the HTTP acknowledgement of
 * the event to the SMTP server accepting the e-mail it caused. Target: p99 ≤ 50 ms.
 */
export async function runTriggerBenchmark(): Promise<void> {
  buildOnce();
  const database = await benchDatabase();
  const sink = await new TimingSink().start();
  const analyzer = await standInForAutovacuum(database);
  try {
    const server = await startServer(database.env);
    const { call, writeKey } = await adminApi(server.url, database.env);
    await call('PUT', '/settings', {
      smtp: { host: '127.0.0.1', port: sink.port, from: 'bench@example.com', pool: 8 },
      frequencyCaps: { email: [] },
      quietHours: null,
    });
    const template = await call('POST', '/templates', {
      name: 'Triggered',
      subject: 'Hello {{ profile.traits.name }}',
      mjml: '<mjml><mj-body><mj-section><mj-column><mj-text>Hi {{ profile.traits.name }}, thanks for {{ event.properties.item }}.</mj-text><mj-button href="https://example.com/x">See</mj-button></mj-column></mj-section></mj-body></mjml>',
    });
    const journey = await call('POST', '/journeys', {
      definition: {
        name: 'Trigger bench',
        entry: { trigger: { type: 'event', event: 'Bench Trigger' } },
        start: 'mail',
        steps: [
          { id: 'mail', type: 'send_email', template: template.id, next: 'end' },
          { id: 'end', type: 'exit' },
        ],
      },
    });
    await call('POST', `/journeys/${journey.id}/publish`);

    const warmUp = RATE * WARM_UP_S;
    const total = RATE * DURATION_S;
    process.stdout.write(
      `trigger benchmark on ${database.postgresUrl ? 'postgres' : 'sqlite'}: ${machine()}\n`,
    );
    process.stdout.write(`creating ${warmUp + total} profiles…\n`);
    const identifies = Array.from({ length: warmUp + total }, (_, i) => ({
      type: 'identify',
      userId: `t${i}`,
      traits: { email: `t${i}@example.com`, name: `T${i}` },
    }));
    await postBatches(server.url, writeKey, identifies);
    await waitForQuiet(server.url);
    await analyzer.analyzeNow();

    const agent = new Agent({ connections: 64, pipelining: 1 });
    const send = (from: number, count: number) =>
      sendAtRate({ url: server.url, writeKey, agent, sink, from, count });
    process.stdout.write(`warming up: ${RATE} events/s for ${WARM_UP_S} s…\n`);
    const warm = await send(0, warmUp);
    process.stdout.write(`measuring: ${RATE} events/s for ${DURATION_S} s…\n`);
    const serverPid = server.child.pid ?? 0;
    const cpuAtStart = cpuSeconds(serverPid);
    const measured = await send(warmUp, total);
    const cpuMsPerEvent = ((cpuSeconds(serverPid) - cpuAtStart) * 1000) / total;
    await agent.close();
    await server.stop();

    const figures = {
      bench: 'trigger',
      backend: database.postgresUrl ? 'postgres' : 'sqlite',
      events: total,
      events_per_s: Math.round(measured.eventsPerSecond),
      ...measured.latencies,
      warm_up_p99_ms: warm.latencies.p99_ms,
      server_cpu_ms_per_event: Number(cpuMsPerEvent.toFixed(2)),
    };
    process.stdout.write(
      `warm-up (${warmUp} events, not measured): p50 ${warm.latencies.p50_ms} ms, p99 ${warm.latencies.p99_ms} ms\n` +
        `${total} events at ${figures.events_per_s}/s; HTTP accepted → SMTP accepted: p50 ${figures.p50_ms} ms, p95 ${figures.p95_ms} ms, p99 ${figures.p99_ms} ms (max ${figures.max_ms} ms); target p99 ≤ 50 ms; server CPU ${figures.server_cpu_ms_per_event} ms per event\n`,
    );
    printResult(figures);
  } finally {
    await analyzer.stop();
    await sink.stop();
    await database.cleanup();
  }
}

/** Sends `count` track calls (profiles `from`…) at RATE, one HTTP request each, and waits for their e-mails. */
async function sendAtRate(input: {
  url: string;
  writeKey: string;
  agent: Agent;
  sink: TimingSink;
  from: number;
  count: number;
}): Promise<{ eventsPerSecond: number; latencies: Latencies }> {
  const { url, agent, sink, from, count } = input;
  const authorization = `Basic ${Buffer.from(`${input.writeKey}:`).toString('base64')}`;
  const acceptedAt = new Map<string, number>();
  const alreadyAtSink = sink.accepted.length;
  const started = performance.now();
  const inFlight: Array<Promise<void>> = [];
  for (let n = 0; n < count; n++) {
    const i = from + n;
    const due = started + (n * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    inFlight.push(
      (async () => {
        const response = await request(`${url}/v1/track`, {
          method: 'POST',
          dispatcher: agent,
          headers: { 'content-type': 'application/json', authorization },
          body: JSON.stringify({
            userId: `t${i}`,
            event: 'Bench Trigger',
            properties: { item: `sku-${i}` },
            messageId: `trig-${i}`,
          }),
        });
        await response.body.dump();
        if (response.statusCode !== 200) throw new Error(`track: ${response.statusCode}`);
        acceptedAt.set(`t${i}@example.com`, performance.timeOrigin + performance.now());
      })(),
    );
    if (inFlight.length > 2000) await Promise.all(inFlight.splice(0, 1000));
  }
  await Promise.all(inFlight);
  const seconds = (performance.now() - started) / 1000;
  await sink.waitFor(alreadyAtSink + count, 120_000);
  const latencies = sink.accepted
    .slice(alreadyAtSink)
    .map((mail) => mail.at - (acceptedAt.get(mail.to) ?? Number.NaN))
    .filter((ms) => Number.isFinite(ms))
    .sort((a, b) => a - b);
  const round = (ms: number) => Math.round(ms * 10) / 10;
  return {
    eventsPerSecond: count / seconds,
    latencies: {
      p50_ms: round(percentile(latencies, 50)),
      p95_ms: round(percentile(latencies, 95)),
      p99_ms: round(percentile(latencies, 99)),
      max_ms: round(latencies.at(-1) ?? 0),
    },
  };
}
