import { timingSafeEqual } from 'node:crypto';
import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { ZodType } from 'zod';
import { ApiKeyVerifier } from '../access/access.js';
import { SecretBox } from '../channels/email/secret-box.js';
import { LinkSigner } from '../channels/email/signed-links.js';
import { SmtpTransports } from '../channels/email/smtp-transports.js';
import type { Clock } from '../core/clock.js';
import type { Config } from '../core/config.js';
import { AppError } from '../core/errors.js';
import { utf8Text } from '../ingest/decode-body.js';
import type { EventAppender } from '../ingest/ingest.js';
import { JourneyEngine } from '../journeys/journeys.js';
import type { Storage } from '../storage/storage.js';
import { Authenticator, authenticateFirst } from './auth.js';
import { answerFrameworkError, installErrorHandler } from './errors.js';
import { createMetrics, type Metrics } from './metrics.js';
import { adminRoutes } from './routes/admin-routes.js';
import { consentRoutes } from './routes/consent-routes.js';
import { contactImportRoutes } from './routes/contact-import-routes.js';
import { dashboardRoutes } from './routes/dashboard-routes.js';
import { deadLetterRoutes } from './routes/dead-letter-routes.js';
import { demoRoutes } from './routes/demo-routes.js';
import { ingestRoutes } from './routes/ingest-routes.js';
import { journeyRoutes } from './routes/journey-routes.js';
import { messagingRoutes } from './routes/messaging-routes.js';
import { profileRoutes } from './routes/profile-routes.js';
import { scoringRoutes } from './routes/scoring-routes.js';
import { segmentRoutes } from './routes/segment-routes.js';
import { sessionRoutes } from './routes/session-routes.js';
import { setAsideRoutes } from './routes/set-aside-routes.js';
import { smsRoutes } from './routes/sms-routes.js';
import { trackingRoutes } from './routes/tracking-routes.js';
import { webhookTestRoutes } from './routes/webhook-test-routes.js';
import { refuseUnstorableInput } from './storable-input.js';
import { consolePage, hasWebConsole, webConsole } from './web-console.js';

/**
 * Scripts only from the console's own files (no inline script, no eval): text a contact or colleague
 * wrote can never run as code, even where a page failed to escape it. Styles may be inline (the
 * unsubscribe page, an e-mail's own styles in the template preview, whose sandboxed frame shares this
 * policy), and an e-mail's images and web fonts come from wherever it puts them.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline' https:",
  "img-src 'self' data: blob: https: http:",
  "font-src 'self' data: https:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export interface AppDeps {
  config: Pick<
    Config,
    | 'sessionTtlMs'
    | 'cookieSecure'
    | 'trustProxy'
    | 'metricsToken'
    | 'publicUrl'
    | 'webDir'
    | 'allowPrivateNetworks'
  >;
  storage: Storage;
  clock: Clock;
  logger: Logger;
  /** Where ingest writes validated events: the storage, or (in a running server) the append thread. */
  appender: EventAppender;
  /** The signing secret (links) and the key for sealing settings secrets. */
  secret: string;
  /** Called after an API call queued messages (enrolment, archive), to wake the dispatcher. */
  onMessagesQueued?: () => void;
  /**
   * Called after a segment was saved (or settings that move segments' members: topic defaults, score
   * models), to start its backfill now rather than at the next poll.
   */
  onSegmentSaved?: () => void;
  /** Called after a score replay was requested, to start it now rather than at the next poll. */
  onScoreReplayRequested?: () => void;
  /** Called after a journey was published, to start entering a segment's current members now. */
  onJourneyPublished?: () => void;
  /** Called after an import asked for its contacts to join a list, to look for them now. */
  onListAdditionRequested?: () => void;
  /** Resolves when the appender takes events (the log thread running); rejects saying why not. */
  appenderReady?: () => Promise<void>;
}

/**
 * What a route's config may add to the OpenAPI document where its validation schema says less: a
 * body checked in the handler (settings, whose secrets may be left out to keep them), a response
 * passed through unchecked, or a body or answer that is not JSON (`openapiBody`, `openapiResponse`:
 * OpenAPI's own request body and response objects).
 */
export interface RouteDocumentation {
  documentedBody?: ZodType;
  documentedResponse?: ZodType;
  openapiBody?: unknown;
  /** A 200 answer that is not JSON: its description and content, as OpenAPI has them. */
  openapiResponse?: unknown;
}

/** A route's schema with its body and 200 answer replaced where `body` and `answer` are given. */
function documented<Schema extends { body?: unknown; response?: unknown }>(
  schema: Schema,
  body: unknown,
  answer: unknown,
): Schema {
  if (!body && !answer) return schema;
  return {
    ...schema,
    ...(body ? { body } : {}),
    ...(answer ? { response: { ...(schema.response as object), 200: answer } } : {}),
  };
}

/**
 * The document with a body that may be left out (a schema taking null, as `.nullish()` makes it)
 * marked not required: @fastify/swagger marks every body required, as Fastify needs one when a
 * route's schema has a body and no nullish one.
 */
function withOptionalBodies<Document>(document: Document): Document {
  const paths = (document as { paths?: Record<string, Record<string, unknown>> }).paths ?? {};
  for (const operations of Object.values(paths))
    for (const operation of Object.values(operations)) {
      const body = (
        operation as { requestBody?: { required?: boolean; content?: Record<string, { schema?: unknown }> } }
      ).requestBody;
      const schemas = Object.values(body?.content ?? {}).map((media) => media.schema);
      if (body && schemas.length > 0 && schemas.every(acceptsNull)) body.required = false;
    }
  return document;
}

function acceptsNull(schema: unknown): boolean {
  if (schema === null || typeof schema !== 'object') return false;
  const { type, anyOf, oneOf } = schema as { type?: unknown; anyOf?: unknown[]; oneOf?: unknown[] };
  if (type === 'null' || (Array.isArray(type) && type.includes('null'))) return true;
  return [...(anyOf ?? []), ...(oneOf ?? [])].some(acceptsNull);
}

export interface App {
  server: FastifyInstance;
  metrics: Metrics;
}

/** Builds the HTTP application: thin routes that parse, call the domain and map errors. */
export async function buildApp(deps: AppDeps): Promise<App> {
  const { config, storage, clock, logger } = deps;
  const server = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // One compact line per admin request from the onResponse hook below; none for ingest.
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: config.trustProxy,
    // Admin API bodies are small; ingest routes set their own limit.
    bodyLimit: 1024 * 1024,
    // Signed tracking tokens carry the link they redirect to.
    routerOptions: { maxParamLength: 4096 },
    // A client trickling a body in holds its connection no longer than this (a 64 MB list at 1 MB/s).
    requestTimeout: 120_000,
    frameworkErrors: (error, _request, reply) => answerFrameworkError(error, reply),
  });
  const metrics = createMetrics(storage, clock);
  const keys = new ApiKeyVerifier(storage, clock);
  const auth = new Authenticator({ storage, clock, keys });
  const signer = new LinkSigner(deps.secret);
  const transports = new SmtpTransports({ allowPrivateNetworks: config.allowPrivateNetworks });
  const email = { signer, publicUrl: config.publicUrl, secrets: new SecretBox(deps.secret), transports };
  const engine = new JourneyEngine({
    storage,
    clock,
    logger,
    ...(deps.onMessagesQueued ? { onMessagesQueued: deps.onMessagesQueued } : {}),
  });
  const append = (input: Parameters<EventAppender['append']>[0]) => deps.appender.append(input);
  server.addHook('onClose', async () => transports.closeAll());

  const servesConsole = hasWebConsole(config.webDir);
  installErrorHandler(server, servesConsole ? { pageFallback: consolePage } : {});
  refuseUnstorableInput(server);
  server.setValidatorCompiler(validatorCompiler);
  server.setSerializerCompiler(serializerCompiler);
  await server.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Mops API',
        version: '0.1.0',
        description:
          'Segment-compatible event ingestion (/v1/*) and the admin API (/api/*). Admin calls take a secret key ' +
          '(`Authorization: Bearer sk_…`) or a session cookie from /api/auth/login.',
      },
      servers: [{ url: config.publicUrl }],
      components: {
        securitySchemes: {
          writeKeyBasic: {
            type: 'http',
            scheme: 'basic',
            description: 'write key as username, empty password',
          },
          secretKey: { type: 'http', scheme: 'bearer', description: 'a secret API key (sk_…)' },
          session: { type: 'apiKey', in: 'cookie', name: 'mops_session' },
        },
      },
      security: [{ secretKey: [] }, { session: [] }],
    },
    // The named schemas (Segment, Profile, …) the paths refer to, as components.
    transformObject: (document) => withOptionalBodies(jsonSchemaTransformObject(document)),
    transform: (document) => {
      const config = (document.route.config ?? {}) as RouteDocumentation;
      const transformed = jsonSchemaTransform({
        ...document,
        schema: documented(document.schema, config.documentedBody, config.documentedResponse),
      });
      return {
        ...transformed,
        schema: documented(transformed.schema, config.openapiBody, config.openapiResponse),
      };
    },
  });

  // No page of ours is shown inside another site's frame (the console, the unsubscribe page: a
  // click there must be the user's own), a browser takes what we send as the type we say it is, and
  // runs no script but the console's own files.
  server.addHook('onRequest', async (_request, reply) => {
    reply.header('x-frame-options', 'DENY');
    reply.header('x-content-type-options', 'nosniff');
    reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
  });

  server.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpDuration.observe(
      { method: request.method, route, status: reply.statusCode },
      reply.elapsedTime / 1000,
    );
    if (!route.startsWith('/v1/') && route !== '/metrics' && route !== '/healthz') {
      request.log.info(
        { method: request.method, route, status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
        'request',
      );
    }
  });

  server.get(
    '/healthz',
    {
      schema: {
        tags: ['operations'],
        summary: 'Liveness: the database answers and, in a server taking events, the log thread runs',
        security: [],
      },
    },
    async (_request, reply) => {
      const [database, logThread] = await Promise.allSettled([
        storage.ping(),
        deps.appenderReady?.() ?? Promise.resolve(),
      ]);
      if (database.status === 'rejected')
        logger.warn({ err: database.reason }, 'health check: database unreachable');
      if (logThread.status === 'rejected')
        logger.warn({ err: logThread.reason }, 'health check: the log thread does not take events');
      const isHealthy = database.status === 'fulfilled' && logThread.status === 'fulfilled';
      return reply.status(isHealthy ? 200 : 503).send({
        status: isHealthy ? 'ok' : 'unavailable',
        database: storage.dialect,
        ...(database.status === 'rejected' ? { databaseReachable: false } : {}),
        ...(deps.appenderReady ? { logThread: logThread.status === 'fulfilled' ? 'running' : 'down' } : {}),
      });
    },
  );

  server.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
    if (
      config.metricsToken &&
      !isSameSecret(request.headers.authorization, `Bearer ${config.metricsToken}`)
    ) {
      throw new AppError('unauthorized', 'send Authorization: Bearer <MOPS_METRICS_TOKEN>');
    }
    reply.header('content-type', metrics.registry.contentType);
    return reply.send(await metrics.registry.metrics());
  });

  server.get('/openapi.json', { schema: { hide: true } }, async () => server.swagger());

  await server.register(ingestRoutes, {
    clock,
    keys,
    metrics,
    appender: deps.appender,
  });
  // Cookies only where sessions are used: ingest requests skip the cookie plugin's hooks.
  await server.register(async (scope) => {
    acceptEmptyJsonBodies(scope);
    await scope.register(cookie);
    authenticateFirst(scope, auth);
    await scope.register(sessionRoutes, { storage, clock, auth, ...config, secret: deps.secret });
    await scope.register(adminRoutes, { storage, clock, keys, auth });
    await scope.register(profileRoutes, { storage, clock, auth });
    await scope.register(contactImportRoutes, {
      storage,
      clock,
      auth,
      appender: deps.appender,
      ...(deps.onListAdditionRequested ? { onListAdditionRequested: deps.onListAdditionRequested } : {}),
    });
    await scope.register(setAsideRoutes, {
      storage,
      clock,
      auth,
      ...(deps.onMessagesQueued ? { onMessagesQueued: deps.onMessagesQueued } : {}),
    });
    await scope.register(dashboardRoutes, { storage, auth });
    await scope.register(journeyRoutes, {
      storage,
      clock,
      auth,
      engine,
      ...(deps.onJourneyPublished ? { onJourneyPublished: deps.onJourneyPublished } : {}),
    });
    await scope.register(messagingRoutes, {
      storage,
      clock,
      auth,
      email,
      append,
      allowPrivateNetworks: config.allowPrivateNetworks,
      ...(deps.onSegmentSaved ? { onSettingsSaved: deps.onSegmentSaved } : {}),
    });
    await scope.register(consentRoutes, { storage, clock, auth, email, append });
    await scope.register(smsRoutes, {
      storage,
      clock,
      auth,
      secrets: email.secrets,
      publicUrl: config.publicUrl,
      append,
      allowPrivateNetworks: config.allowPrivateNetworks,
    });
    await scope.register(scoringRoutes, {
      storage,
      clock,
      auth,
      ...(deps.onMessagesQueued ? { onMessagesQueued: deps.onMessagesQueued } : {}),
      ...(deps.onScoreReplayRequested ? { onScoreReplayRequested: deps.onScoreReplayRequested } : {}),
    });
    await scope.register(demoRoutes, { storage, clock, auth });
    await scope.register(segmentRoutes, {
      storage,
      clock,
      auth,
      ...(deps.onSegmentSaved ? { onSegmentSaved: deps.onSegmentSaved } : {}),
    });
    await scope.register(webhookTestRoutes, {
      storage,
      clock,
      auth,
      secrets: email.secrets,
      allowPrivateNetworks: config.allowPrivateNetworks,
    });
    await scope.register(deadLetterRoutes, {
      storage,
      clock,
      auth,
      ...(deps.onMessagesQueued ? { onMessagesQueued: deps.onMessagesQueued } : {}),
    });
  });
  await server.register(trackingRoutes, { storage, clock, signer, append });
  if (servesConsole) await webConsole(server, { webDir: config.webDir });
  return { server, metrics };
}

/** Compares a presented credential in constant time (its length aside), so timing tells nothing of it. */
function isSameSecret(given: string | undefined, expected: string): boolean {
  const presented = Buffer.from(given ?? '');
  const wanted = Buffer.from(expected);
  return presented.length === wanted.length && timingSafeEqual(presented, wanted);
}

/**
 * `Content-Type: application/json` with no body, as many HTTP clients send on a POST that takes none
 * (a re-drive, a publish, a DELETE), means no body rather than malformed JSON.
 */
function acceptEmptyJsonBodies(scope: FastifyInstance): void {
  const parseJson = scope.getDefaultJsonParser('error', 'error');
  scope.removeContentTypeParser('application/json');
  scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    let text: string;
    try {
      // Strictly: Latin-1 read leniently would be stored as U+FFFD in place of what was sent.
      text = utf8Text(body as Buffer);
    } catch (error) {
      done(error as Error, undefined);
      return;
    }
    if (text === '') done(null, undefined);
    else void parseJson(request, text, done);
  });
}
