import { Agent, request } from 'undici';
import { TimingSink } from './smtp-timing-sink.js';
import {
  adminApi,
  benchDatabase,
  buildOnce,
  machine,
  percentile,
  postBatches,
  printResult,
  startServer,
  waitForQuiet,
} from './support.js';

const RATE = Number(process.env.BENCH_RATE ?? 500);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 30);

/**
 * 500 events/s for 30 s, each entering a one-step journey that sends an e-mail to a local SMTP sink;
 * the figure is the time from the HTTP acknowledgement of the event to the SMTP server accepting the
 * e-mail it caused. Target: p99 ≤ 50 ms.
 */
export async function runTriggerBenchmark(): Promise<void> {
  buildOnce();
  const database = await benchDatabase();
  const sink = await new TimingSink().start();
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

    const total = RATE * DURATION_S;
    process.stdout.write(
      `trigger benchmark on ${database.postgresUrl ? 'postgres' : 'sqlite'}: ${machine()}\n`,
    );
    process.stdout.write(`creating ${total} profiles…\n`);
    const identifies = Array.from({ length: total }, (_, i) => ({
      type: 'identify',
      userId: `t${i}`,
      traits: { email: `t${i}@example.com`, name: `T${i}` },
    }));
    await postBatches(server.url, writeKey, identifies);
    await waitForQuiet(server.url);

    process.stdout.write(`sending ${RATE} events/s for ${DURATION_S} s…\n`);
    const agent = new Agent({ connections: 64, pipelining: 1 });
    const authorization = `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
    const acceptedAt = new Map<string, number>();
    const started = performance.now();
    const inFlight: Array<Promise<void>> = [];
    for (let i = 0; i < total; i++) {
      const due = started + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      inFlight.push(
        (async () => {
          const response = await request(`${server.url}/v1/track`, {
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
    const sendSeconds = (performance.now() - started) / 1000;
    await sink.waitFor(total, 120_000);
    await agent.close();
    await server.stop();

    if (process.env.BENCH_DEBUG) {
      const t0 = performance.timeOrigin + started;
      const arr = sink.accepted.map((m) => m.at - t0).sort((a, b) => a - b);
      const acc = [...acceptedAt.values()].map((t) => t - t0).sort((a, b) => a - b);
      process.stdout.write(
        `accept first ${acc[0]} last ${acc.at(-1)}; sink first ${arr[0]} p50 ${arr[arr.length >> 1]} last ${arr.at(-1)}\n`,
      );
    }
    const latencies = sink.accepted
      .map((mail) => mail.at - (acceptedAt.get(mail.to) ?? Number.NaN))
      .filter((ms) => Number.isFinite(ms))
      .sort((a, b) => a - b);
    const figures = {
      bench: 'trigger',
      backend: database.postgresUrl ? 'postgres' : 'sqlite',
      events: total,
      events_per_s: Math.round(total / sendSeconds),
      p50_ms: Math.round(percentile(latencies, 50) * 10) / 10,
      p95_ms: Math.round(percentile(latencies, 95) * 10) / 10,
      p99_ms: Math.round(percentile(latencies, 99) * 10) / 10,
      max_ms: Math.round((latencies.at(-1) ?? 0) * 10) / 10,
    };
    process.stdout.write(
      `${total} events at ${figures.events_per_s}/s; HTTP accepted → SMTP accepted: p50 ${figures.p50_ms} ms, p95 ${figures.p95_ms} ms, p99 ${figures.p99_ms} ms (max ${figures.max_ms} ms); target p99 ≤ 50 ms\n`,
    );
    printResult(figures);
  } finally {
    await sink.stop();
    await database.cleanup();
  }
}
