import { existsSync } from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Paths the console's client-side routes never take: the APIs and what e-mails and SMS link to. */
const SERVER_PATHS = /^\/(api|v1|t|u|metrics|healthz|openapi\.json)(\/|$|\?)/;

/** Whether a built console is there to serve. */
export function hasWebConsole(webDir: string): boolean {
  return existsSync(path.join(webDir, 'index.html'));
}

/**
 * Serves the built web console at `/`: its files as they are, hashed assets cached for a year, and
 * index.html no-cache so that a new release is picked up on the next load.
 */
export async function webConsole(app: FastifyInstance, options: { webDir: string }): Promise<void> {
  await app.register(fastifyStatic, {
    root: options.webDir,
    wildcard: false,
    setHeaders(reply, file) {
      const isHashed = file.includes(`${path.sep}assets${path.sep}`);
      reply.header('cache-control', isHashed ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
}

/**
 * index.html for any other page a browser asks for, so that a reload on /journeys/j_1 opens the
 * console there; API paths keep their JSON 404.
 */
export function consolePage(request: FastifyRequest, reply: FastifyReply): FastifyReply | undefined {
  const isPage =
    request.method === 'GET' &&
    !SERVER_PATHS.test(request.url) &&
    (request.headers.accept ?? '').includes('text/html');
  if (!isPage) return undefined;
  return reply.header('cache-control', 'no-cache').sendFile('index.html');
}
