import path from 'node:path';
import { z } from 'zod';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const booleanString = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

/** Every environment variable Mops reads; `.env.example` documents each one. */
const Environment = z.object({
  MOPS_HOST: z.string().min(1).default('127.0.0.1'),
  MOPS_PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  MOPS_DATA_DIR: z.string().min(1).default('./data'),
  MOPS_DATABASE_URL: z
    .string()
    .regex(
      /^postgres(ql)?:\/\//,
      'must be a postgres:// URL (leave it unset for the embedded SQLite database)',
    )
    .optional(),
  MOPS_SECRET: z.string().min(32, 'must be at least 32 characters (e.g. `openssl rand -hex 32`)').optional(),
  MOPS_PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  MOPS_LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  MOPS_COOKIE_SECURE: z.enum(['auto', 'true', 'false']).default('auto'),
  MOPS_SESSION_TTL_HOURS: z.coerce.number().int().positive().default(168),
  MOPS_TRUST_PROXY: booleanString.default(false),
  MOPS_ALLOW_PRIVATE_NETWORKS: booleanString.default(false),
  MOPS_PG_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  MOPS_PG_IDLE_IN_TRANSACTION_SECONDS: z.coerce.number().int().min(0).max(86_400).default(300),
  MOPS_SQLITE_SYNCHRONOUS: z.enum(['normal', 'full']).default('normal'),
  MOPS_DEDUPE_WINDOW_HOURS: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 90)
    .default(24),
  MOPS_METRICS_TOKEN: z.string().min(16).optional(),
  MOPS_SEND_LEASE_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  MOPS_SEND_BATCH: z.coerce.number().int().min(1).max(5000).default(2000),
  MOPS_SEND_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(64),
  MOPS_WEB_DIR: z.string().min(1).optional(),
});

/** The names of every environment variable Mops reads. */
export const ENVIRONMENT_VARIABLES = Object.keys(Environment.shape);

/** The web console as `npm run build` leaves it, beside the compiled server (src/… under tsx). */
const BUILT_WEB_DIR = path.resolve(import.meta.dirname, '../../dist/web');

export type Config = {
  host: string;
  port: number;
  dataDir: string;
  database:
    | { kind: 'sqlite'; path: string; synchronous: 'normal' | 'full' }
    | {
        kind: 'postgres';
        url: string;
        poolSize: number;
        /** How long the server lets a transaction sit idle before ending its session; 0: no limit. */
        idleInTransactionTimeoutMs: number;
      };
  /** Signing secret for links; undefined means "generate one and keep it in the data directory" (SQLite only). */
  secret: string | undefined;
  publicUrl: string;
  /** True when MOPS_PUBLIC_URL was not set and publicUrl was derived from host and port. */
  isPublicUrlDerived: boolean;
  logLevel: (typeof LOG_LEVELS)[number];
  cookieSecure: boolean;
  sessionTtlMs: number;
  trustProxy: boolean;
  /**
   * Whether a workspace may let its webhooks and SMS provider call loopback and private addresses.
   * The operator's choice, not a workspace's: any user can create a workspace of their own.
   */
  allowPrivateNetworks: boolean;
  dedupeWindowMs: number;
  metricsToken: string | undefined;
  /** How long a message being sent stays claimed; a process that dies mid-send is retried after it. */
  sendLeaseMs: number;
  /** Messages a process claims at a time: smaller rounds share the sending more evenly between workers. */
  sendBatch: number;
  /**
   * Messages a process has in flight at once: it claims no more while they all are, so a slow
   * receiver leaves the rest to other workers, and a provider's rate limit is kept to.
   */
  sendConcurrency: number;
  /** The built web console served at `/`; nothing is served there when it holds no index.html. */
  webDir: string;
};

export class ConfigError extends Error {
  readonly problems: string[];

  constructor(problems: string[]) {
    super(`invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/**
 * Parses the environment once, at start-up. Every problem is reported at once, each naming its
 * variable, so a bad deployment fails fast with one message.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const relevant = Object.fromEntries(
    Object.entries(env).filter(
      ([key, value]) => key.startsWith('MOPS_') && value !== undefined && value !== '',
    ),
  );
  const parsed = Environment.safeParse(relevant);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  }
  const e = parsed.data;
  if (e.MOPS_DATABASE_URL && !e.MOPS_SECRET) {
    throw new ConfigError([
      'MOPS_SECRET: is required with MOPS_DATABASE_URL, so that every process signs and verifies links alike',
    ]);
  }
  const dataDir = path.resolve(e.MOPS_DATA_DIR);
  const publicUrl = (e.MOPS_PUBLIC_URL ?? `http://${displayHost(e.MOPS_HOST)}:${e.MOPS_PORT}`).replace(
    /\/+$/,
    '',
  );
  return {
    host: e.MOPS_HOST,
    port: e.MOPS_PORT,
    dataDir,
    database: e.MOPS_DATABASE_URL
      ? {
          kind: 'postgres',
          url: e.MOPS_DATABASE_URL,
          poolSize: e.MOPS_PG_POOL_SIZE,
          idleInTransactionTimeoutMs: e.MOPS_PG_IDLE_IN_TRANSACTION_SECONDS * 1000,
        }
      : { kind: 'sqlite', path: path.join(dataDir, 'mops.db'), synchronous: e.MOPS_SQLITE_SYNCHRONOUS },
    secret: e.MOPS_SECRET,
    publicUrl,
    isPublicUrlDerived: e.MOPS_PUBLIC_URL === undefined,
    logLevel: e.MOPS_LOG_LEVEL,
    cookieSecure:
      e.MOPS_COOKIE_SECURE === 'auto' ? publicUrl.startsWith('https:') : e.MOPS_COOKIE_SECURE === 'true',
    sessionTtlMs: e.MOPS_SESSION_TTL_HOURS * 3_600_000,
    trustProxy: e.MOPS_TRUST_PROXY,
    allowPrivateNetworks: e.MOPS_ALLOW_PRIVATE_NETWORKS,
    dedupeWindowMs: e.MOPS_DEDUPE_WINDOW_HOURS * 3_600_000,
    metricsToken: e.MOPS_METRICS_TOKEN,
    sendLeaseMs: e.MOPS_SEND_LEASE_SECONDS * 1000,
    sendBatch: e.MOPS_SEND_BATCH,
    sendConcurrency: e.MOPS_SEND_CONCURRENCY,
    webDir: e.MOPS_WEB_DIR ? path.resolve(e.MOPS_WEB_DIR) : BUILT_WEB_DIR,
  };
}

/** The same configuration on another port, the derived public URL following it. */
export function withPort(config: Config, port: number): Config {
  return {
    ...config,
    port,
    publicUrl: config.isPublicUrlDerived ? `http://${displayHost(config.host)}:${port}` : config.publicUrl,
  };
}

function displayHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}
