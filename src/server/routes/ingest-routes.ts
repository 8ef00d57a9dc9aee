import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ApiKeyVerifier } from '../../access/access.js';
import type { ApiKey } from '../../core/access.js';
import type { Clock } from '../../core/clock.js';
import { AppError, HTTP_STATUS_BY_CODE } from '../../core/errors.js';
import {
  decodeJsonBody,
  type EventAppender,
  type IngestEndpoint,
  ingest,
  MAX_BATCH_BYTES,
  MAX_EVENT_BYTES,
  writeKeyFromBasicAuth,
  writeKeyFromBody,
} from '../../ingest/ingest.js';
import type { Metrics } from '../metrics.js';

const ENDPOINTS: Array<{ path: string; endpoint: IngestEndpoint }> = [
  { path: '/v1/batch', endpoint: 'batch' },
  { path: '/v1/import', endpoint: 'batch' },
  { path: '/v1/identify', endpoint: 'identify' },
  { path: '/v1/track', endpoint: 'track' },
  { path: '/v1/page', endpoint: 'page' },
  { path: '/v1/screen', endpoint: 'screen' },
  { path: '/v1/group', endpoint: 'group' },
  { path: '/v1/alias', endpoint: 'alias' },
];

/**
 * The short paths Segment's browser library (analytics.js, analytics-next) posts to — a call's type's
 * first letter, `b` for a batch: the same routes, left out of the OpenAPI document.
 */
const BROWSER_ALIASES: Array<{ path: string; endpoint: IngestEndpoint }> = ENDPOINTS.filter(
  ({ path }) => path !== '/v1/import',
).map(({ endpoint }) => ({ path: `/v1/${endpoint.charAt(0)}`, endpoint }));

/**
 * Browser libraries post from any site's pages, with a write key that is public by design and no
 * cookies: any origin may send events, never with credentials. Only the ingest routes, not the admin API.
 */
const CORS_PREFLIGHT_HEADERS = {
  'access-control-allow-methods': 'POST',
  'access-control-allow-headers': 'Authorization, Content-Type, Content-Encoding',
  // A day: a page sending events does not ask again before each call.
  'access-control-max-age': '86400',
};

/** Compressed bodies are limited after decoding; this only stops absurd uploads early. */
const RAW_BODY_LIMIT = 2 * MAX_BATCH_BYTES;

const SEGMENT_CALL_SCHEMA = {
  type: 'object',
  description:
    'A Segment call: identify, track, page, screen, group or alias (https://segment.com/docs/connections/spec/)',
  additionalProperties: true,
  properties: {
    type: { type: 'string', enum: ['identify', 'track', 'page', 'screen', 'group', 'alias'] },
    messageId: { type: 'string' },
    userId: { type: 'string' },
    anonymousId: { type: 'string' },
    event: { type: 'string' },
    name: { type: 'string' },
    groupId: { type: 'string' },
    previousId: { type: 'string' },
    properties: { type: 'object' },
    traits: { type: 'object' },
    context: { type: 'object' },
    timestamp: { type: 'string', format: 'date-time' },
    sentAt: { type: 'string', format: 'date-time' },
  },
} as const;

const IngestResponse = z.object({
  success: z.literal(true),
  stored: z.number().int().describe('events written now'),
  duplicates: z.number().int().describe('events skipped because their messageId was already stored'),
  rejected: z
    .array(
      z.object({
        index: z.number().int(),
        messageId: z.string().nullable(),
        reason: z.string(),
        field: z.string(),
      }),
    )
    .describe('invalid events, kept in the rejected-events store with their reason'),
});

/**
 * The Segment-compatible HTTP Tracking API, so Segment and RudderStack clients work unchanged.
 * Bodies are taken raw: they may be gzip whatever their Content-Type says.
 */
export async function ingestRoutes(
  app: FastifyInstance,
  deps: {
    clock: Clock;
    keys: ApiKeyVerifier;
    metrics: Metrics;
    /** Where validated events are written: the storage, or the server's append thread. */
    appender: EventAppender;
  },
): Promise<void> {
  // Any Content-Type: analytics.js sends JSON as text/plain (a simple request, with no preflight).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: RAW_BODY_LIMIT }, (_request, body, done) => {
    done(null, body);
  });
  // On every answer, errors too: a browser hides from the page any answer without it.
  app.addHook('onRequest', async (_request, reply) => {
    reply.header('access-control-allow-origin', '*');
  });

  const routes = [
    ...ENDPOINTS.map((route) => ({ ...route, isAlias: false })),
    ...BROWSER_ALIASES.map((route) => ({ ...route, isAlias: true })),
  ];
  for (const { path, endpoint, isAlias } of routes) {
    app.options(path, { schema: { hide: true }, logLevel: 'warn' }, async (_request, reply) =>
      reply.status(204).headers(CORS_PREFLIGHT_HEADERS).send(),
    );
    const maxBytes = endpoint === 'batch' ? MAX_BATCH_BYTES : MAX_EVENT_BYTES;
    app.post(
      path,
      {
        bodyLimit: RAW_BODY_LIMIT,
        logLevel: 'warn',
        // The schema documents the answer; plain JSON.stringify writes it (this route is the hot path).
        serializerCompiler: () => (data) => JSON.stringify(data),
        schema: {
          hide: isAlias,
          tags: ['ingest'],
          summary:
            endpoint === 'batch'
              ? 'Send up to 2,500 calls (500 KB) at once'
              : `Send one ${endpoint} call (32 KB at most)`,
          description:
            'Authenticate with the write key as HTTP Basic username (password empty) or as `writeKey` in the body. ' +
            'Bodies may be gzip, deflate or br encoded (Content-Encoding).',
          security: [{ writeKeyBasic: [] }],
          response: { 200: IngestResponse },
        },
        // Documented, not validated by Fastify: the handler gets raw bytes (maybe gzip) and validates itself.
        config: {
          openapiBody:
            endpoint === 'batch'
              ? {
                  type: 'object',
                  required: ['batch'],
                  properties: {
                    batch: { type: 'array', maxItems: 2500, items: SEGMENT_CALL_SCHEMA },
                    sentAt: { type: 'string', format: 'date-time' },
                    context: { type: 'object', description: "merged under each call's own" },
                    integrations: { type: 'object', description: "merged under each call's own" },
                    writeKey: { type: 'string' },
                  },
                }
              : SEGMENT_CALL_SCHEMA,
        },
      },
      async (request, reply) => {
        const startedAt = process.hrtime.bigint();
        const receivedAt = deps.clock.now();
        const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        try {
          const keyInHeader = writeKeyFromBasicAuth(request.headers.authorization);
          // A key in the header is checked before the body is read: a caller without a valid one learns
          // nothing of the body, and costs no decompressing or parsing.
          const headerKey = keyInHeader === undefined ? undefined : await verified(keyInHeader);
          let decoded: ReturnType<typeof decodeJsonBody>;
          try {
            decoded = decodeJsonBody(raw, header(request.headers['content-encoding']), maxBytes);
          } catch (error) {
            throw headerKey ? error : keyNotFound(error);
          }
          const { text, value } = decoded;
          const key = headerKey ?? (await verified(writeKeyFromBody(value)));
          const result = await ingest(deps.appender, {
            workspaceId: key.workspaceId,
            endpoint,
            body: value,
            text,
            receivedAt,
          });
          deps.metrics.ingestEvents.inc({ outcome: 'stored' }, result.stored);
          if (result.duplicates > 0)
            deps.metrics.ingestEvents.inc({ outcome: 'duplicate' }, result.duplicates);
          if (result.rejected.length > 0)
            deps.metrics.ingestEvents.inc({ outcome: 'rejected' }, result.rejected.length);
          deps.metrics.ingestRequests.inc({ endpoint, status: 200 });
          deps.metrics.ingestDuration.observe(
            { endpoint },
            Number(process.hrtime.bigint() - startedAt) / 1e9,
          );
          return reply.send({ success: true, ...result });
        } catch (error) {
          if (error instanceof AppError) {
            if (error.code === 'invalid_input' && endpoint !== 'batch' && error.field) {
              deps.metrics.ingestEvents.inc({ outcome: 'rejected' });
            }
            deps.metrics.ingestRequests.inc({ endpoint, status: HTTP_STATUS_BY_CODE[error.code] });
          }
          throw error;
        }
      },
    );
  }

  /**
   * The write key's workspace. Every Segment and RudderStack server library sends the key as the HTTP
   * Basic username; browser ones (analytics.js) as `writeKey` in the body, to spare a CORS preflight.
   */
  async function verified(token: string | undefined): Promise<ApiKey> {
    if (token === undefined) {
      throw new AppError(
        'unauthorized',
        'a write key is required: send it as the HTTP Basic username or as writeKey in the body',
      );
    }
    const key = await deps.keys.verify(token, 'write');
    if (!key) throw new AppError('unauthorized', 'the write key is not valid or was revoked');
    return key;
  }
}

/**
 * Without a key in the header, a body that cannot be read is a caller without a key (the body was the
 * only other place for one): refused as such, saying why the body was not read.
 */
function keyNotFound(error: unknown): unknown {
  if (!(error instanceof AppError)) return error;
  return new AppError(
    'unauthorized',
    `a write key is required: send it as the HTTP Basic username or as writeKey in the body (the body could not be read: ${error.message})`,
    { cause: error },
  );
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
