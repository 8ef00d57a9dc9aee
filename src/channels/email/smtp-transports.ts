import { connect, isIP, type Socket } from 'node:net';
import nodemailer, { type Transporter } from 'nodemailer';
import type { SmtpSettings } from '../../core/workspace-settings.js';
import { isPublicAddress, PrivateNetworkError, publicOnlyLookup } from '../webhook/network-guard.js';

const CONNECTION_TIMEOUT_MS = 10_000;

/**
 * One pooled SMTP transport per workspace, rebuilt when its settings change. Unless the operator
 * allows private networks (MOPS_ALLOW_PRIVATE_NETWORKS), a workspace's SMTP host must be a public
 * address, checked on the address dialled: an admin must not probe the internal network with it (its
 * greeting would come back as the message's reason), nor send the SMTP password there.
 */
export class SmtpTransports {
  readonly #transports = new Map<string, { key: string; transport: Transporter }>();
  readonly #allowPrivateNetworks: boolean;

  constructor(options: { allowPrivateNetworks: boolean }) {
    this.#allowPrivateNetworks = options.allowPrivateNetworks;
  }

  get(workspaceId: string, smtp: SmtpSettings, password: string | undefined): Transporter {
    const key = JSON.stringify([
      smtp.host,
      smtp.port,
      smtp.tls,
      smtp.verifyCertificate,
      smtp.user,
      password,
      smtp.pool,
    ]);
    const cached = this.#transports.get(workspaceId);
    if (cached?.key === key) return cached.transport;
    cached?.transport.close();
    const transport = nodemailer.createTransport({
      pool: true,
      maxConnections: smtp.pool,
      maxMessages: Number.POSITIVE_INFINITY,
      host: smtp.host,
      port: smtp.port,
      secure: smtp.tls === 'implicit',
      requireTLS: smtp.tls === 'starttls',
      ignoreTLS: smtp.tls === 'none',
      tls: { rejectUnauthorized: smtp.verifyCertificate },
      ...(smtp.user ? { auth: { user: smtp.user, pass: password ?? '' } } : {}),
      connectionTimeout: CONNECTION_TIMEOUT_MS,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
      ...(this.#allowPrivateNetworks ? {} : { getSocket: publicSocket(smtp) }),
    });
    this.#transports.set(workspaceId, { key, transport });
    return transport;
  }

  closeAll(): void {
    for (const { transport } of this.#transports.values()) transport.close();
    this.#transports.clear();
  }
}

type GetSocket = (
  options: unknown,
  callback: (error: Error | null, socket?: { connection: Socket }) => void,
) => void;

/** Connects to the SMTP host only at a public address; nodemailer then speaks TLS over it as set. */
function publicSocket(smtp: SmtpSettings): GetSocket {
  return (_options, callback) => {
    if (isIP(smtp.host) && !isPublicAddress(smtp.host)) {
      callback(new PrivateNetworkError(smtp.host, smtp.host));
      return;
    }
    const socket = connect({ host: smtp.host, port: smtp.port, lookup: publicOnlyLookup });
    socket.setTimeout(CONNECTION_TIMEOUT_MS, () =>
      socket.destroy(new Error(`connecting to ${smtp.host}:${smtp.port} timed out`)),
    );
    // Answered once; an error after the hand-over is nodemailer's to handle (this listener only keeps
    // one in the moment between from ending the process).
    let isAnswered = false;
    socket.on('error', (error) => {
      if (isAnswered) return;
      isAnswered = true;
      callback(error);
    });
    socket.once('connect', () => {
      isAnswered = true;
      socket.setTimeout(0);
      callback(null, { connection: socket });
    });
  };
}
